#include "writers/zimbra_import_script.h"
#include "parsers/hex.h"

#include <algorithm>

#include "writers/shell_quote.h"

namespace cyrconv {

std::string zimbra_rest_path(std::string_view folder_path, std::string_view fmt) {
  std::string out = "/";
  for (unsigned char c : folder_path) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      append_hex_byte(out, c, true);
    }
  }
  return out + "?fmt=" + std::string(fmt);
}

namespace {

// Why each part is as it is:
// - zmmailbox exits 0 when the REST import logged entry errors (ArchiveFormatter.addError), so a
//   zero exit is necessary, not sufficient: the counts check at the end is what proves the import.
// - A post is never repeated: messages and contacts have no identity Zimbra's import matches on,
//   so a second post duplicates them. `<file>.posting` is written before the call and renamed to
//   `<file>.posted` after it: a leftover `.posting` means a post that may have half happened.
// - Flags and tags are set by searching each message group by Message-ID, which works only once
//   Zimbra has indexed the message (indexing runs later, in batches). So the script first runs
//   every group's search until each finds its messages (or a timeout), then sets, then reads
//   back: a search narrowed by the flags and tags the group must have finds it only when they
//   stuck (zmmailbox's hits carry no tags). Groups that did not take are set again, at most
//   ROUNDS times, then named (folder, Message-ID, UIDs) and the script fails. \Deleted goes last:
//   zmmailbox's search never returns a \Deleted item, so "no longer found" is its read-back.
// - Output of a command file is matched to its lines through zmmailbox -v, which echoes each
//   line after the prompt ("mbox ACCOUNT> "), then the search prints "num: N, more: ..."; a
//   failed line prints "ERROR: ..." on stderr and no num line.
constexpr std::string_view prologue = R"SH(set -u
ZMMAILBOX=${ZMMAILBOX:-zmmailbox}
WAIT=${ZIMBRA_INDEX_WAIT:-60}
TIMEOUT=${ZIMBRA_INDEX_TIMEOUT:-7200}
ROUNDS=${ZIMBRA_FLAG_ROUNDS:-3}
DIR=$(cd "$(dirname "$0")" && pwd) || exit 1
cd "$DIR" || exit 1
z() { "$ZMMAILBOX" -z -m "$ACCOUNT" "$@"; }
die() { echo "zimbra-import: $ACCOUNT: $*" >&2; exit 1; }
folder() {
  z getFolder "$1" >/dev/null 2>&1 && return 0
  z createFolder -V "$2" "$1" >/dev/null || die "createFolder -V $2 $1 failed"
}
post() {
  if [ -e "$2.posted" ]; then
    echo "zimbra-import: $2 was posted already ($2.posted): not posted again (a second post duplicates)"
    return 0
  fi
  [ -e "$2.posting" ] && die "$2: an earlier post started and did not finish ($2.posting); compare the counts (cyrconv verify --zimbra-counts) before anything else, and never post it again whole"
  : > "$2.posting" || die "cannot write $DIR/$2.posting"
  z postRestURL "$1" "$2" || die "postRestURL $1 $2 failed"
  mv "$2.posting" "$2.posted" || die "cannot rename $DIR/$2.posting"
}
# hits FILE: runs FILE (one search a line) and prints each line's number of hits, E when it failed.
# A zmmailbox that cannot start (no account, no server) exits non-zero: stop, do not wait for it.
hits() {
  "$ZMMAILBOX" -v -z -m "$ACCOUNT" -f "$1" > "$1.out" 2>>"$1.log" || die "zmmailbox -f $1 failed (log: $DIR/$1.log)"
  awk '
    /^mbox( [^ ]*)?> search / { k++; n[k] = "E"; next }
    /^num: [0-9]+, more: / { if (k) { v = $2; sub(/,$/, "", v); n[k] = v } }
    END { for (i = 1; i <= k; i++) print n[i] }' "$1.out"
}
# differ ROWS HITS WANT: the rows (of a check file) whose hits are not WANT ("count": column 4).
differ() {
  awk -F'\t' -v want="$3" 'NR == FNR { n[FNR] = $0; next } { w = want == "count" ? $4 : want; if (n[FNR] "" != w "") print }' "$2" "$1"
}
# probe ROWS COLUMN WANT OUT: runs the searches of COLUMN, writes the rows that differ to OUT.
probe() {
  cut -f"$2" "$1" > "$4.zmm" || die "cannot write $DIR/$4.zmm"
  hits "$4.zmm" > "$4.hits"
  differ "$1" "$4.hits" "$3" > "$4" || die "cannot write $DIR/$4"
}
unset_report() {
  awk -F'\t' -v why="$2" '{ printf "zimbra-import: not set (%s): folder %s, Message-ID <%s>, UID(s) %s\n", why, $2, $3, $5 }' "$1" >&2
}
flags() {
  if [ -e "$1.done" ]; then
    echo "zimbra-import: $1 ran already ($1.done)"
    return 0
  fi
  if [ ! -e "$2" ]; then
    # Written by a cyrconv before the read-back: set once, nothing to check against.
    z -f "$1" > "$1.log" 2>&1
    echo "zimbra-import: $1 has no $2 (an older cyrconv's): flags set once, not read back (log: $DIR/$1.log)"
    : > "$1.done"
    return 0
  fi
  rows=$2.rows
  if [ -e "$1.deleting" ]; then awk -F'\t' '$8 == ""' "$2" > "$rows"; else cp "$2" "$rows"; fi || die "cannot write $DIR/$rows"
  start=$(date +%s)
  while [ -s "$rows" ]; do
    probe "$rows" 6 count "$2.unfound"
    [ -s "$2.unfound" ] || break
    if [ $(($(date +%s) - start)) -ge "$TIMEOUT" ]; then
      unset_report "$2.unfound" "not found by search after ${TIMEOUT}s"
      die "$(wc -l < "$2.unfound") message group(s) of $2 not indexed (or not imported); flags are in manifests/"
    fi
    echo "zimbra-import: $(wc -l < "$2.unfound") of $(wc -l < "$rows") message group(s) not indexed yet; again in ${WAIT}s"
    sleep "$WAIT"
  done
  z -f "$1" > "$1.log" 2>&1
  round=1
  while [ -s "$rows" ]; do
    probe "$rows" 7 count "$2.failed"
    [ -s "$2.failed" ] || break
    if [ "$round" -ge "$ROUNDS" ]; then
      unset_report "$2.failed" "flags or tags read back wrong"
      die "$(wc -l < "$2.failed") message group(s) of $2 did not take their flags or tags (log: $DIR/$1.log)"
    fi
    echo "zimbra-import: $(wc -l < "$2.failed") message group(s) did not take their flags; again in ${WAIT}s"
    sleep "$WAIT"
    round=$((round + 1))
    mv "$2.failed" "$rows"
    awk -F'\t' 'NR == FNR { want[$1] = 1; next } /^search / { g++ } g && want[g]' "$rows" "$1" > "$1.retry"
    z -f "$1.retry" >> "$1.log" 2>&1
  done
  awk -F'\t' '$8 != ""' "$2" > "$rows"
  if [ -s "$rows" ]; then
    : > "$1.deleting" || die "cannot write $DIR/$1.deleting"
    awk -F'\t' '{ print $6; n = $4; print "modifyItemFlags \"#1" (n > 1 ? "-" n : "") "\" \"" $8 "\"" }' "$rows" > "$1.deleted"
    z -f "$1.deleted" >> "$1.log" 2>&1
    probe "$rows" 6 0 "$2.failed"
    if [ -s "$2.failed" ]; then
      unset_report "$2.failed" "still found after setting \\Deleted"
      die "$(wc -l < "$2.failed") message group(s) of $2 did not take \\Deleted"
    fi
  fi
  rm -f "$rows" "$2.unfound" "$2.unfound.zmm" "$2.unfound.hits" "$2.failed" "$2.failed.zmm" "$2.failed.hits" \
    "$2.unfound.zmm.log" \
    "$2.unfound.zmm.out" "$2.failed.zmm.log" "$2.failed.zmm.out" "$1.retry" "$1.deleted" "$1.deleting"
  : > "$1.done"
}
)SH";

}  // namespace

std::string zimbra_import_script(const ZimbraImportPlan& plan) {
  std::string s = "#!/bin/sh\n";
  s += "# Written by cyrconv convert --format zimbra-tgz: imports this directory into Zimbra (docs/zimbra.md).\n";
  s += "# Run as the zimbra user on a mailbox server: sh zimbra-import.sh [ACCOUNT]\n";
  s += "# Stops at the first failed call; never posts a file twice (<file>.posted markers). Afterwards:\n";
  s += "#   zmmailbox -z -m ACCOUNT getAllFolders > folders.txt\n";
  s += "#   cyrconv verify --out THIS_DIRECTORY --zimbra-counts folders.txt\n";
  s += "ACCOUNT=${1:-" + sh_quote(plan.account) + "}\n";
  s += prologue;
  for (const auto& [path, view] : plan.folders) s += "folder " + sh_quote("/" + path) + " " + view + "\n";
  for (const auto& a : plan.archives) s += "post '//?fmt=tgz&resolve=skip' " + sh_quote(a) + "\n";
  for (const auto& c : plan.collections)
    s += "post " + sh_quote(zimbra_rest_path(c.folder_path, c.calendar ? "ics" : "vcf")) + " " + sh_quote(c.file) + "\n";
  for (const auto& [f, check] : plan.flags_files) s += "flags " + sh_quote(f) + " " + sh_quote(check) + "\n";
  s += "z getAllFolders > zimbra-folders-after.txt || die \"getAllFolders failed\"\n";
  s += "echo \"zimbra-import: $ACCOUNT: done; check: cyrconv verify --out $DIR --zimbra-counts "
       "$DIR/zimbra-folders-after.txt\"\n";
  return s;
}

std::string zimbra_expected_tsv(std::vector<ZimbraExpectedRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.folder_path < b.folder_path; });
  std::string s = "# folder\tview\titems: what each Zimbra folder holds after zimbra-import.sh (cyrconv verify --zimbra-counts)\n";
  for (const auto& r : rows) s += "/" + r.folder_path + "\t" + r.view + "\t" + std::to_string(r.items) + "\n";
  return s;
}

}  // namespace cyrconv
