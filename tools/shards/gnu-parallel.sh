#!/usr/bin/env bash
# cyrconv with GNU parallel: plan, run every shard, merge (README "Many machines").
#
#   tools/shards/gnu-parallel.sh SPOOL CONFIG OUT WORK SHARDS [parallel options...]
#
# SPOOL, CONFIG: the copied store; OUT: the output root; WORK: where the plan, the shard reports,
# the job log and the merged report go; SHARDS: how many shards. Extra arguments go to parallel:
#   --jobs 2                            two shards at a time on this machine (default: 1)
#   --sshloginfile nodes.txt --jobs 1   one shard at a time on each machine listed in nodes.txt;
#                                       every machine needs SPOOL, CONFIG, OUT and WORK at the same
#                                       paths (OUT and WORK on shared storage) and the same cyrconv
# CYRCONV (default: cyrconv on PATH) names the binary; FORMAT (default maildir) the output format.
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
SPOOL=$(realpath "$1") CONFIG=$(realpath "$2") OUT=$(realpath -m "$3") WORK=$(realpath -m "$4") SHARDS=$5
shift 5
CYRCONV=${CYRCONV:-cyrconv}
FORMAT=${FORMAT:-maildir}
mkdir -p "$WORK/reports"

# 1. The plan: users, and UID ranges of folders above --split-bytes/--split-messages (default
#    256M / 20000), balanced by bytes, largest first; prints each shard's bytes and the imbalance.
"$CYRCONV" plan --spool "$SPOOL" --config "$CONFIG" --shards "$SHARDS" --out "$WORK/plan.json"

# 2. The shards. Status 1 ("done, problems in the report") is not a failure; 2 and 3 are.
#    --halt never: one failed shard does not stop the others; the job log says which failed.
parallel --jobs 1 --halt never "$@" --joblog "$WORK/joblog" \
  "$CYRCONV convert --spool '$SPOOL' --config '$CONFIG' --format '$FORMAT' --out '$OUT' --quiet \
     --plan '$WORK/plan.json' --shard {} --report '$WORK/reports/shard-{}.json' || [ \$? -eq 1 ]" \
  ::: $(seq 0 $((SHARDS - 1)))

# 3. One report and one rename map for the whole run, as a single convert writes them, and the
#    split folders joined from their ranges' parts: the output is complete only after this. A
#    shard the plan gives nothing (more shards than units) writes no report and is not needed.
status=0
"$CYRCONV" report merge --plan "$WORK/plan.json" --out "$WORK/report.json" \
  --rename-map "$OUT/rename-map.tsv" "$WORK"/reports/shard-*.json || status=$?
[ "$status" -le 1 ] || exit "$status"
echo "merged report: $WORK/report.json"
