#!/usr/bin/env python3
"""End-to-end check of shard plans: N shards together write what one machine writes.

For fixtures/cyrus36-legacy (three users in two domains and the default domain, shared and
deleted folders) and fixtures/cyrus36-default (DAV collections, more shards than users), in
Maildir (dovecot names) and mbox (zimbra names, which rename many folders):
  * one `cyrconv convert` of the whole store;
  * `cyrconv plan --shards 4`, then the 4 shards (GNU parallel when installed, else a plain loop
    taking the shard number from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX), all into one
    output root, then `cyrconv report merge` with the rename maps;
  * the union of the shard outputs must equal the single run's output file by file (every path,
    every byte; the shards' own rename-map.shard-K.tsv aside), and the merged report must equal
    the single run's report in every count, folder entry and finding (timing, the output root's
    absolute path and the shard bookkeeping aside).
Then the refusals: a shard number out of range, a plan made for other inputs or another store,
a report given twice, a missing shard, reports of another plan.

Split folders (plan --split-messages 2: the fixtures' biggest folders cut into UID ranges that
land on other shards than their owner), in Maildir, mbox and mbox --gzip: after all shards and
report merge, the tree equals a single run with the same --split-messages byte for byte (paths,
bytes, modes, message mtimes), no range part is left, the merged report equals the single run's
and verify passes. Also: a range's first messages all missing (files deleted in a copy of the
fixture) still gives X-IMAPbase on the folder's first message; a shard killed
(CYRCONV_TEST_KILL_AFTER_COMMITS) and run again gives the same tree; report merge refuses while
a range part is missing; an incremental run (cyrus36-snapshots a, then b in shards) equals a
single incremental run. Exit 0 when all holds.
"""
import argparse
import json
import mailbox
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rerun_check as rc  # noqa: E402  (tree with modes and message mtimes, verify)
import split_check  # noqa: E402  (a fixture copy with a first range to miss)

problems = []
rc.problems = problems  # rerun_check's helpers report into the same list
SHARDS = 4


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def run(cmd, ok=(0,), env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode not in ok:
        print(p.stdout[-4000:])
        print(p.stderr[-4000:])
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return p


def tree(root, skip=lambda rel: False):
    """relative path -> ('dir',) | ('file', bytes) | ('link', target) for everything under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            if skip(rel):
                continue
            if os.path.islink(full):
                out[rel] = ("link", os.readlink(full))
            elif os.path.isdir(full):
                out[rel] = ("dir",)
            else:
                with open(full, "rb") as f:
                    out[rel] = ("file", f.read())
    return out


def compare_trees(single, sharded, label):
    only_single = sorted(set(single) - set(sharded))
    only_sharded = sorted(set(sharded) - set(single))
    for rel in only_single[:10]:
        fail(f"{label}: {rel} is in the single run's output only")
    for rel in only_sharded[:10]:
        fail(f"{label}: {rel} is in the shards' output only")
    differ = [rel for rel in sorted(set(single) & set(sharded)) if single[rel] != sharded[rel]]
    for rel in differ[:10]:
        fail(f"{label}: {rel} differs between the single run and the shards")
    files = sum(1 for v in single.values() if v[0] == "file")
    if files < 20:
        fail(f"{label}: only {files} files in the single run's output: the comparison proves nothing")
    return files


def normalized(report):
    # Findings may name files below the output root (zimbra's manifests): compare them relative to it.
    out = report.get("out", "")
    r = json.loads(json.dumps(report).replace(json.dumps(out)[1:-1] + "/", "OUT/")) if out else dict(report)
    for key in ("seconds", "out", "shards", "shard"):
        r.pop(key, None)
    return r


def compare_reports(single, merged, label):
    before = len(problems)
    a, b = normalized(single), normalized(merged)
    if set(a) != set(b):
        fail(f"{label}: report keys differ: {sorted(set(a) ^ set(b))}")
    if a.get("totals") != b.get("totals"):
        fail(f"{label}: totals differ: single {a.get('totals')} merged {b.get('totals')}")
    su = {u["user"]: u for u in a["users"]}
    mu = {u["user"]: u for u in b["users"]}
    if [u["user"] for u in a["users"]] != [u["user"] for u in b["users"]]:
        fail(f"{label}: users differ or are in another order: {list(su)} vs {list(mu)}")
    for user in su.keys() & mu.keys():
        sf = {(f["name_raw"], f["action"]): f for f in su[user]["folders"]}
        mf = {(f["name_raw"], f["action"]): f for f in mu[user]["folders"]}
        if list(sf) != list(mf):
            fail(f"{label}: {user!r}: folders differ: {sorted(set(sf) ^ set(mf))}")
        for key in sf.keys() & mf.keys():
            if sf[key] != mf[key]:
                fail(f"{label}: {user!r} {key}: folder entries differ:\n  single {sf[key]}\n  merged {mf[key]}")
        if su[user]["findings"] != mu[user]["findings"]:
            fail(f"{label}: {user!r}: user findings differ")
    if a.get("findings") != b.get("findings"):
        fail(f"{label}: store findings differ: {a.get('findings')} vs {b.get('findings')}")
    if a != b and len(problems) == before:
        fail(f"{label}: the reports differ outside users, findings and totals")
    return sum(len(u["folders"]) for u in a["users"])


def run_shards(args, base, plan, out, reports):
    """Runs every shard; returns the exit status of each, by shard."""
    status = {}
    parallel = shutil.which("parallel")
    if parallel:
        joblog = os.path.join(reports, "joblog")
        subprocess.run([parallel, "--jobs", "2", "--halt", "never", "--joblog", joblog] + base +
                       ["--plan", plan, "--shard", "{}", "--report", os.path.join(reports, "shard-{}.json"),
                        ":::"] + [str(k) for k in range(SHARDS)], capture_output=True, text=True)
        with open(joblog) as f:
            next(f)
            for line in f:
                cols = line.rstrip("\n").split("\t")
                status[int(cols[-1].split("--shard ")[1].split()[0])] = int(cols[6])
        print(f"  ran {SHARDS} shards with GNU parallel")
        return status
    # A plain loop, taking the shard from the schedulers' variables as array tasks do.
    for k in range(SHARDS):
        env = {key: v for key, v in os.environ.items() if key not in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")}
        env["SLURM_ARRAY_TASK_ID" if k % 2 == 0 else "JOB_COMPLETION_INDEX"] = str(k)
        p = subprocess.run(base + ["--plan", plan, "--report", os.path.join(reports, f"shard-{k}.json")],
                           capture_output=True, text=True, env=env)
        if p.returncode not in (0, 1):
            print(p.stdout[-2000:], p.stderr[-2000:])
        status[k] = p.returncode
    print(f"  ran {SHARDS} shards in a loop (GNU parallel not installed)")
    return status


def check_fixture(args, work, fixture, fmt, profile):
    label = f"{fixture} {fmt} {profile}"
    src = os.path.join(args.source, "fixtures", fixture)
    inputs = ["--spool", os.path.join(src, "spool"), "--config", os.path.join(src, "config")]
    d = os.path.join(work, f"{fixture}-{fmt}")
    os.makedirs(d)
    single_out = os.path.join(d, "single")
    options = ["--format", fmt, "--profile", profile]
    single = run([args.cyrconv, "convert"] + inputs + options + ["--out", single_out, "--quiet",
                                                       "--report", os.path.join(d, "single.json")], ok=(0, 1))

    plan_file = os.path.join(d, "plan.json")
    p = run([args.cyrconv, "plan"] + inputs + ["--shards", str(SHARDS), "--out", plan_file])
    if "imbalance" not in p.stdout:
        fail(f"{label}: plan does not print the imbalance: {p.stdout}")
    plan = json.load(open(plan_file, encoding="utf-8"))
    single_report = json.load(open(os.path.join(d, "single.json"), encoding="utf-8"))
    planned = [u for s in plan["shards"] for u in s["users"]]
    if sorted(planned) != sorted(u["user"] for u in single_report["users"]):
        fail(f"{label}: the plan's users {sorted(planned)} are not the single run's "
             f"{sorted(u['user'] for u in single_report['users'])}")
    if len(plan["shards"]) != SHARDS:
        fail(f"{label}: plan has {len(plan['shards'])} shards")

    shard_out = os.path.join(d, "sharded")
    reports = os.path.join(d, "reports")
    os.makedirs(reports)
    base = [args.cyrconv, "convert"] + inputs + options + ["--out", shard_out, "--quiet"]
    status = run_shards(args, base, plan_file, shard_out, reports)
    report_files = []
    for k, s in enumerate(plan["shards"]):
        rf = os.path.join(reports, f"shard-{k}.json")
        if status.get(k) not in (0, 1):
            fail(f"{label}: shard {k} exited {status.get(k)}")
        if s["users"]:
            if not os.path.exists(rf):
                fail(f"{label}: shard {k} wrote no report")
                continue
            report_files.append(rf)
            if not os.path.exists(os.path.join(shard_out, f"rename-map.shard-{k}.tsv")):
                fail(f"{label}: shard {k} wrote no rename-map.shard-{k}.tsv")
        elif os.path.exists(rf) or status.get(k) != 0:
            fail(f"{label}: shard {k} has no users but wrote a report or exited {status.get(k)}")
    if os.path.exists(os.path.join(shard_out, "rename-map.tsv")):
        fail(f"{label}: a shard wrote the whole run's rename-map.tsv")

    merged_file = os.path.join(d, "merged.json")
    merge = run([args.cyrconv, "report", "merge", "--plan", plan_file, "--out", merged_file,
                 "--rename-map", os.path.join(shard_out, "rename-map.tsv")] + report_files, ok=(0, 1))
    if merge.returncode != single.returncode:
        fail(f"{label}: report merge exits {merge.returncode}, the single convert {single.returncode}")

    files = compare_trees(tree(single_out),
                          tree(shard_out, skip=lambda rel: rel.startswith("rename-map.shard-")), label)
    folders = compare_reports(single_report, json.load(open(merged_file, encoding="utf-8")), label)
    renames = sum(1 for line in open(os.path.join(single_out, "rename-map.tsv"), encoding="utf-8")
                  if not line.startswith("#"))
    print(f"  {label}: {files} files, {folders} folder entries and {renames} renames compared; "
          f"shards' users: {[s['users'] for s in plan['shards']]}")
    return inputs, plan_file, report_files, d


def expect_refusal(cmd, status, words, label, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != status:
        fail(f"{label}: exit {p.returncode}, expected {status}: {p.stdout[-500:]} {p.stderr[-500:]}")
    for w in words:
        if w not in p.stderr:
            fail(f"{label}: the error does not say {w!r}: {p.stderr.strip()}")


def check_refusals(args, legacy, default):
    inputs, plan_file, report_files, d = legacy
    out = os.path.join(d, "refused")
    base = [args.cyrconv, "convert", "--format", "maildir", "--out", out, "--quiet", "--plan", plan_file]
    expect_refusal(base + inputs + ["--shard", str(SHARDS)], 2, ["out of range", f"--array=0-{SHARDS - 1}"],
                   "--shard out of range")
    env = dict(os.environ, SLURM_ARRAY_TASK_ID=str(SHARDS))
    expect_refusal(base + inputs, 2, ["SLURM_ARRAY_TASK_ID", "out of range"], "SLURM_ARRAY_TASK_ID out of range", env)
    env = {k: v for k, v in os.environ.items() if k not in ("SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX")}
    expect_refusal(base + inputs, 2, ["--shard K"], "no shard at all", env)
    expect_refusal(base + inputs[:2] + ["--shard", "0"], 3, ["other inputs", "--config none"], "plan without --config")
    expect_refusal(base + default[0] + ["--shard", "0"], 3, ["other inputs"], "another store's inputs")
    expect_refusal(base + inputs + ["--shard", "0", "--users", "carl"], 2, ["--users"], "--users with --plan")
    if os.path.exists(out):
        fail(f"refused shard runs created {out}")
    merged = os.path.join(d, "refused.json")
    merge = [args.cyrconv, "report", "merge", "--plan", plan_file, "--out", merged]
    expect_refusal(merge + report_files + report_files[:1], 3, ["are both shard"], "a report given twice")
    expect_refusal(merge + report_files[1:], 3, ["no report for shard"], "a missing shard")
    other_plan = os.path.join(d, "plan3.json")
    run([args.cyrconv, "plan"] + inputs + ["--shards", "3", "--out", other_plan])
    expect_refusal([args.cyrconv, "report", "merge", "--plan", other_plan, "--out", merged] + report_files, 3,
                   ["not from the given plan"], "reports of another plan")
    expect_refusal(merge + [default[2][0]], 3, ["not from the given plan"], "another store's shard report")
    if os.path.exists(merged):
        fail("a refused merge wrote its output")


SPLIT = ["--split-messages", "2"]


def owners_and_ranges(plan):
    """(range units whose shard differs from their owner's, number of split folders)."""
    owner = {u["user"]: u["shard"] for u in plan["units"] if "range" not in u}
    ranges = [u for u in plan["units"] if "range" in u]
    return sum(1 for u in ranges if u["shard"] != owner[u["user"]]), sum(1 for u in ranges if u["range"] == 0)


def sharded_run(args, inputs, options, d, out, kill=None):
    """plan + 4 shards (+ a killed shard run again) + report merge; returns (plan, merge process, reports)."""
    plan_file = os.path.join(d, "plan.json")
    if not os.path.exists(plan_file):
        run([args.cyrconv, "plan"] + inputs + ["--shards", str(SHARDS), "--out", plan_file] + SPLIT)
    plan = json.load(open(plan_file, encoding="utf-8"))
    reports = []
    base = [args.cyrconv, "convert"] + inputs + options + ["--out", out, "--quiet", "--plan", plan_file]
    for k in range(SHARDS):
        rf = os.path.join(d, f"shard-{k}.json")
        cmd = base + ["--shard", str(k), "--report", rf]
        if kill is not None and kill[0] == k:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               env=dict(os.environ, CYRCONV_TEST_KILL_AFTER_COMMITS=str(kill[1])))
            if p.returncode != -9:
                fail(f"shard {k} with CYRCONV_TEST_KILL_AFTER_COMMITS={kill[1]} exited {p.returncode}, not killed")
        env = {key: v for key, v in os.environ.items() if key != "CYRCONV_TEST_KILL_AFTER_COMMITS"}
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode not in (0, 1):
            fail(f"shard {k} exited {p.returncode}: {p.stderr[-800:]}")
        if os.path.exists(rf):
            reports.append(rf)
    merged = os.path.join(d, "merged.json")
    m = subprocess.run([args.cyrconv, "report", "merge", "--plan", plan_file, "--out", merged,
                        "--rename-map", os.path.join(out, "rename-map.tsv")] + reports, capture_output=True, text=True)
    return plan, m, reports


def no_parts_left(out, label):
    for dp, dns, _ in os.walk(out):
        if os.path.basename(dp) == "journal" and "ranges" in dns:
            fail(f"{label}: {os.path.relpath(os.path.join(dp, 'ranges'), out)} is left after report merge")


def without_shard_files(t):
    return {rel: v for rel, v in t.items() if not rel.startswith("rename-map.shard-")}


def check_split_fixture(args, work, fixture, fmt, extra, fixture_dir=None, label=None):
    label = label or f"split {fixture} {fmt} {' '.join(extra)}".strip()
    src = fixture_dir or os.path.join(args.source, "fixtures", fixture)
    inputs = ["--spool", os.path.join(src, "spool"), "--config", os.path.join(src, "config")]
    d = os.path.join(work, label.replace(" ", "_").replace("/", "_"))
    os.makedirs(d)
    options = ["--format", fmt] + list(extra)
    single_out = os.path.join(d, "single")
    single = run([args.cyrconv, "convert"] + inputs + options + SPLIT +
                 ["--out", single_out, "--quiet", "--report", os.path.join(d, "single.json")], ok=(0, 1))
    out = os.path.join(d, "sharded")
    plan, m, _ = sharded_run(args, inputs, options, d, out)
    away, split_folders = owners_and_ranges(plan)
    if not split_folders or not away:
        fail(f"{label}: the plan splits {split_folders} folder(s), {away} range(s) away from their owner: proves nothing")
    if m.returncode != single.returncode:
        fail(f"{label}: report merge exits {m.returncode} ({m.stderr.strip()}), the single convert {single.returncode}")
    if "joined from their UID-range parts" not in m.stdout:
        fail(f"{label}: report merge does not say it joined split folders: {m.stdout}")
    rc.compare_trees(rc.tree(single_out), without_shard_files(rc.tree(out)), label)
    no_parts_left(out, label)
    compare_reports(json.load(open(os.path.join(d, "single.json"), encoding="utf-8")),
                    json.load(open(os.path.join(d, "merged.json"), encoding="utf-8")), label)
    p = subprocess.run([args.cyrconv, "verify", "--format", fmt] + inputs + ["--out", out], capture_output=True, text=True)
    v = subprocess.run([args.cyrconv, "verify", "--format", fmt] + inputs + ["--out", single_out], capture_output=True,
                       text=True)
    if p.returncode != v.returncode or p.returncode not in ((0,) if fixture_dir is None else (0, 1)):
        fail(f"{label}: verify exits {p.returncode} on the shards' output, {v.returncode} on the single run's: "
             f"{p.stdout[-1500:]}")
    print(f"  {label}: {split_folders} split folder(s), {away} range(s) on another shard than the owner: "
          "tree, report and verify equal a single run")
    return inputs, options, d, plan, single_out


def check_split_refusal_and_kill(args, work, first):
    inputs, options, d, plan, single_out = first
    want = without_shard_files(rc.tree(single_out))
    # A range part missing: merge refuses, naming the shard; that shard run again, merge joins.
    d2 = os.path.join(work, "split-missing-part")
    os.makedirs(d2)
    shutil.copy(os.path.join(d, "plan.json"), d2)
    out = os.path.join(d2, "sharded")
    plan_file = os.path.join(d2, "plan.json")
    reports = []
    for k in range(SHARDS):
        rf = os.path.join(d2, f"shard-{k}.json")
        run([args.cyrconv, "convert"] + inputs + options + ["--out", out, "--quiet", "--plan", plan_file, "--shard", str(k),
                                                           "--report", rf], ok=(0, 1))
        reports.append(rf)
    away = next(u for u in plan["units"] if "range" in u and u["range"] > 0)
    parts = [os.path.join(dp, f"{away['range']}.json") for dp, _, fns in os.walk(out)
             if os.path.basename(os.path.dirname(dp)) == "ranges" and f"{away['range']}.json" in fns]
    if not parts:
        fail("missing part: no range part files found after the shards ran")
        return
    os.unlink(parts[0])
    merged = os.path.join(d2, "merged.json")
    merge = [args.cyrconv, "report", "merge", "--plan", plan_file, "--out", merged, "--rename-map",
             os.path.join(out, "rename-map.tsv")] + reports
    expect_refusal(merge, 3, ["no part of UID range", "(shard "], "a range part missing")
    if os.path.exists(merged):
        fail("a merge refused for a missing part wrote its report")
    # Every shard run again (a resume: parts rewritten, message files kept), then merge joins.
    for k in range(SHARDS):
        run([args.cyrconv, "convert"] + inputs + options + ["--out", out, "--quiet", "--plan", plan_file, "--shard", str(k),
                                                           "--report", reports[k]], ok=(0, 1))
    run(merge, ok=(0, 1))
    rc.compare_trees(want, without_shard_files(rc.tree(out)), "missing part, shards run again")
    # A shard killed after some commits and run again.
    for k, after in ((1, 2), (3, 5), (0, 7)):
        d3 = os.path.join(work, f"split-kill-{k}-{after}")
        os.makedirs(d3)
        shutil.copy(os.path.join(d, "plan.json"), d3)
        out = os.path.join(d3, "sharded")
        _, m, _ = sharded_run(args, inputs, options, d3, out, kill=(k, after))
        if m.returncode not in (0, 1):
            fail(f"kill shard {k} after {after}: report merge exits {m.returncode}: {m.stderr.strip()}")
        rc.compare_trees(want, without_shard_files(rc.tree(out)), f"shard {k} killed after {after} commits, run again")
        no_parts_left(out, f"kill shard {k}")
    print("  split: merge refuses a missing range part; a shard run again, or killed and run again, gives the same tree")


def check_split_first_missing(args, work):
    """The first range of a split folder has no message to write: X-IMAPbase still on the first message."""
    copy = os.path.join(work, "first-missing")
    found = split_check.copy_without_first_messages(args, copy, 2)  # range 0 of --split-messages 2
    if not found:
        return
    user, folder, _ = found
    _, _, _, _, _ = check_split_fixture(args, work, "cyrus36-default", "mbox", (), fixture_dir=copy,
                                        label="split first range missing mbox")
    bad, got = split_check.mbox_files_without_imapbase(os.path.join(work, "split_first_range_missing_mbox", "sharded"))
    for rel in bad:
        fail(f"first range missing: {rel}: first message has no X-IMAPbase")
    print(f"  split, first range missing ({user}/{folder}): {got} mbox files start with X-IMAPbase")


def check_split_incremental(args, work):
    """Snapshot a converted by one machine, then b added by 4 shards == a then b on one machine."""
    snaps = os.path.join(args.source, "fixtures", "cyrus36-snapshots")
    for fmt in ("maildir", "mbox"):
        d = os.path.join(work, f"split-incremental-{fmt}")
        os.makedirs(d)
        single_out, out = os.path.join(d, "single"), os.path.join(d, "sharded")
        ins = {s: ["--spool", os.path.join(snaps, s, "spool"), "--config", os.path.join(snaps, s, "config")] for s in "ab"}
        for o in (single_out, out):
            run([args.cyrconv, "convert"] + ins["a"] + ["--format", fmt, "--quiet", "--out", o] + SPLIT, ok=(0, 1))
        single = run([args.cyrconv, "convert"] + ins["b"] + ["--format", fmt, "--quiet", "--out", single_out,
                                                            "--report", os.path.join(d, "single.json")] + SPLIT, ok=(0, 1))
        plan, m, _ = sharded_run(args, ins["b"], ["--format", fmt], d, out)
        if m.returncode != single.returncode:
            fail(f"incremental {fmt}: report merge exits {m.returncode} ({m.stderr.strip()}), single {single.returncode}")
        rc.compare_trees(rc.tree(single_out), without_shard_files(rc.tree(out)), f"split incremental {fmt}")
        no_parts_left(out, f"split incremental {fmt}")
        # An incremental single run cuts only its new messages into ranges, the plan cuts the whole
        # folder: "ranges" is the plan's (README "Many machines"); everything else must be equal.
        reports = [json.load(open(os.path.join(d, f), encoding="utf-8")) for f in ("single.json", "merged.json")]
        for r in reports:
            for u in r["users"]:
                for f in u["folders"]:
                    f.pop("ranges", None)
        compare_reports(reports[0], reports[1], f"split incremental {fmt}")
    print("  split incremental (snapshot a, then b in shards): tree and report equal a single incremental run")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True, help="source tree (holds fixtures/)")
    ap.add_argument("--keep", help="work in this directory and keep it")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="cyrconv-shards-")
    os.makedirs(work, exist_ok=True)
    try:
        results = {}
        for fixture in ("cyrus36-legacy", "cyrus36-default"):
            # zimbra renames many folders (system folders, case collisions): rename maps with content.
            for fmt, profile in (("maildir", "dovecot"), ("mbox", "zimbra"), ("zimbra-tgz", "zimbra")):
                results[(fixture, fmt)] = check_fixture(args, work, fixture, fmt, profile)
        check_refusals(args, results[("cyrus36-legacy", "maildir")], results[("cyrus36-default", "maildir")])
        first = None
        for fixture in ("cyrus36-legacy", "cyrus36-default"):
            for fmt, extra in (("maildir", ()), ("mbox", ()), ("mbox", ("--gzip",))):
                r = check_split_fixture(args, work, fixture, fmt, extra)
                first = first or r
        check_split_refusal_and_kill(args, work, first)
        check_split_first_missing(args, work)
        check_split_incremental(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("shards: the union of the shard outputs and the merged report equal a single run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
