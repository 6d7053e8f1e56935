#!/usr/bin/env python3
"""End-to-end check of `cyrconv report merge` on reports with many entries: the merged report of a
store with many findings equals the single run's, and merge's memory does not grow with entries.

tools/bench generates a 2,000-message store from the real fixture messages (most lack a Date or
Message-ID, so most get a report entry); `plan --shards 2 --split-messages 300` splits its big
folders into UID ranges held by both shards. The shards and a single convert with the same
--split-messages run; the merged report must equal the single run's report in every key, list and
order (seconds, the output root and the shard stamps aside): entries of split folders come back
in UID order from both shards' parts.

Then the shards' reports are inflated with synthetic per-message entries (each with a warning):
20,000 in all, and 200,000, half in a plain folder, half in the parts of a split folder (the
merge by UID). `report merge` runs on both as a child whose peak RSS comes from wait4; the big
one may use at most 20 MiB more (entries held in memory cost several hundred bytes each: 180,000
more would add well over 50 MiB). Both merged reports must list every entry, in UID order where
folders were split, and count their warnings. Under AddressSanitizer (--sanitized) only the
reports are checked.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import big_message_check as bm  # noqa: E402  (a child's exit status and peak RSS from wait4)

ALLOWED_GROWTH = 20 << 20
problems = []
bm.problems = problems


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def normalized(report):
    r = dict(report)
    for key in ("seconds", "out", "shards", "shard"):
        r.pop(key, None)
    return json.loads(json.dumps(r).replace(json.dumps(report.get("out", ""))[1:-1] + "/", "OUT/"))


def entry(uid):
    return {"uid": uid, "file": f"{uid}.", "size": 1000 + uid % 977, "action": "write",
            "findings": [{"severity": "warning", "kind": "missing_date", "file": f"{uid}.", "uid": uid,
                          "detail": "no Date: header field; the INTERNALDATE stands for it"}]}


def inflate(reports, total, out_dir):
    """The shard reports with `total` synthetic entries added, as DIR/inflated-TOTAL-K.json."""
    docs = [json.load(open(r, encoding="utf-8")) for r in reports]
    split_parts = [f for d in docs for u in d["users"] for f in u["folders"] if f.get("plan_ranges")]
    plain = next(f for d in docs for u in d["users"] for f in u["folders"] if "plan_ranges" not in f)
    half = total // 2
    base = 10_000_000  # above every real UID: the synthetic entries follow the real ones
    plain["messages"] += [entry(base + i) for i in range(half)]
    per_part = half // len(split_parts)
    for p, f in enumerate(split_parts):  # each part's UIDs interleave with the others' (merge by UID)
        f["messages"] += [entry(base + i * len(split_parts) + p) for i in range(per_part)]
    for k, d in enumerate(docs):
        path = os.path.join(out_dir, f"inflated-{total}-{k}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(d, f, indent=2)


def check_merged(path, expected_entries, label):
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    entries = warnings = 0
    for u in r["users"]:
        for fo in u["folders"]:
            uids = [m["uid"] for m in fo["messages"]]
            entries += len(uids)
            if fo.get("ranges") and uids != sorted(uids):
                fail(f"{label}: folder {fo['name_raw']}: entries not in UID order")
            for m in fo["messages"]:
                warnings += sum(1 for fd in m["findings"] if fd["severity"] == "warning")
            warnings += sum(1 for fd in fo["findings"] if fd["severity"] == "warning")
        warnings += sum(1 for fd in u["findings"] if fd["severity"] == "warning")
    warnings += sum(1 for fd in r["findings"] if fd["severity"] == "warning")
    if entries < expected_entries:
        fail(f"{label}: {entries} entries in the merged report, expected at least {expected_entries}")
    if warnings != r["totals"]["warnings"]:
        fail(f"{label}: the entries carry {warnings} warnings, the totals say {r['totals']['warnings']}")
    return entries


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="AddressSanitizer build: the reports are checked, peak RSS is not")
    ap.add_argument("--inflate", nargs="+", metavar=("TOTAL", "DIR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inflate:  # in a child: a child's peak RSS starts from its parent's at fork
        inflate(args.inflate[2:], int(args.inflate[0]), args.inflate[1])
        return 0
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cyrconv-merge-mem-", dir=shm) as work:
        store = os.path.join(work, "store")
        subprocess.run([sys.executable, os.path.join(args.source, "tools", "bench"), "--gen", store, "--bytes", "2M",
                        "--messages", "2000", "--gen-only", "--cyrconv", args.cyrconv],
                       check=True, stdout=subprocess.DEVNULL)
        inputs = ["--spool", os.path.join(store, "spool"), "--config", os.path.join(store, "config")]
        plan = os.path.join(work, "plan.json")
        subprocess.run([args.cyrconv, "plan"] + inputs + ["--shards", "2", "--split-messages", "300", "--out", plan],
                       check=True, stdout=subprocess.DEVNULL)
        out = os.path.join(work, "out")
        convert = [args.cyrconv, "convert"] + inputs + ["--format", "mbox", "--quiet"]
        reports = []
        for k in range(2):
            reports.append(os.path.join(work, f"shard-{k}.json"))
            bm.run(convert + ["--out", out, "--plan", plan, "--shard", str(k), "--report", reports[-1]])
        single = os.path.join(work, "single.json")
        bm.run(convert + ["--out", os.path.join(work, "single"), "--split-messages", "300", "--report", single])
        if not all(os.path.exists(r) for r in reports + [single]):
            fail("a convert wrote no report")
            return 1
        if not any(f.get("plan_ranges") for r in reports for u in json.load(open(r))["users"] for f in u["folders"]):
            fail("the plan split no folder across the shards: the check measures too little")

        # Merged reports of the real shards: equal to the single run's, and kept to compare.
        parts = os.path.join(work, "out.parts")
        shutil.copytree(out, parts, symlinks=True)  # the ranges before the join, for the inflated runs
        merged = os.path.join(work, "merged.json")
        bm.run([args.cyrconv, "report", "merge", "--plan", plan, "--out", merged] + reports)
        with open(single, encoding="utf-8") as a, open(merged, encoding="utf-8") as b:
            one, joined = json.load(a), json.load(b)
        if one["totals"]["warnings"] < 1000:
            fail(f"only {one['totals']['warnings']} warnings: the store has too few findings")
        if normalized(one) != normalized(joined):
            fail("the merged report differs from the single run's")

        del one, joined
        # All merges first, reports read after: a child's peak RSS starts from its parent's at fork.
        rss = {}
        for total in (20_000, 200_000):
            subprocess.run([sys.executable, os.path.abspath(__file__), "--cyrconv", args.cyrconv, "--source",
                            args.source, "--inflate", str(total), work] + reports, check=True)
            files = [os.path.join(work, f"inflated-{total}-{k}.json") for k in range(len(reports))]
            shutil.rmtree(out)
            shutil.copytree(parts, out, symlinks=True)
            target = os.path.join(work, f"merged-{total}.json")
            rss[total] = bm.run([args.cyrconv, "report", "merge", "--plan", plan, "--out", target] + files)[1]
            for f in files:
                os.unlink(f)
        for total in (20_000, 200_000):
            check_merged(os.path.join(work, f"merged-{total}.json"), total, f"{total} entries")
        small, big = rss[20_000], rss[200_000]
        print(f"report merge: peak RSS {small >> 20} MiB with 20,000 added entries, {big >> 20} MiB with 200,000")
        if args.sanitized:
            print("peak RSS not checked (AddressSanitizer build)")
        elif big - small > ALLOWED_GROWTH:
            fail(f"peak RSS grew by {(big - small) >> 20} MiB from 20,000 to 200,000 entries "
                 f"(allowed {ALLOWED_GROWTH >> 20} MiB): entries held in memory?")
    if problems:
        print(f"{len(problems)} mismatch(es)")
        return 1
    print("report merge: equal to the single run, memory flat")
    return 0


if __name__ == "__main__":
    sys.exit(main())
