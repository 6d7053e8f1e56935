#!/usr/bin/env python3
"""End-to-end check that a report's memory does not grow with the store's findings.

tools/bench generates two spools from the real fixture messages: 6,000 and 60,000 messages
(most lack a Date or Message-ID, so most get a report entry: about 37,000 warnings in the big
one). `cyrconv audit --report` and `cyrconv convert --format mbox --report` run on both, each as
a child whose peak RSS comes from wait4. Entries held in memory cost about 2 KB each (the
entry, the JSON tree and the dumped text: 177 MB against 58 MB for audit on the 100,000-message
bench spool): 37,000 of them would add some 70 MiB. The check allows the big run 40 MiB more
than the small one (index records and audit's batch of check results do grow with the
folders), and checks that both reports list every entry: the warnings counted in the totals
are the warnings the message entries carry. Under AddressSanitizer (--sanitized) only the
reports are checked.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import big_message_check as bm  # noqa: E402  (a child's exit status and peak RSS from wait4)

ALLOWED_GROWTH = 40 << 20
problems = []
bm.problems = problems


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def entry_warnings(report):
    n = 0
    for u in report["users"]:
        for f in u["folders"]:
            n += sum(1 for fd in f["findings"] if fd["severity"] == "warning")
            for m in f["messages"]:
                n += sum(1 for fd in m["findings"] if fd["severity"] == "warning")
    n += sum(1 for fd in report["findings"] if fd["severity"] == "warning")
    for u in report["users"]:
        n += sum(1 for fd in u.get("findings", []) if fd["severity"] == "warning")
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--sanitized", action="store_true",
                    help="cyrconv is built with AddressSanitizer, whose quarantine of freed memory makes peak "
                         "RSS say nothing about what the program holds: the reports are checked, RSS is not")
    args = ap.parse_args()
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cyrconv-report-mem-", dir=shm) as work:
        spools = {}
        for name, messages, size in (("small", 6000, "4M"), ("big", 60000, "40M")):
            spools[name] = os.path.join(work, name)
            subprocess.run([sys.executable, os.path.join(args.source, "tools", "bench"), "--gen", spools[name],
                            "--bytes", size, "--messages", str(messages), "--gen-only", "--cyrconv", args.cyrconv],
                           check=True, stdout=subprocess.DEVNULL)
        # All runs first, reports read after: a child's peak RSS starts from its parent's at fork.
        rss = {}
        for what in ("audit", "mbox"):
            for name, root in spools.items():
                report = os.path.join(work, f"{what}-{name}.json")
                if what == "audit":
                    cmd = [args.cyrconv, "audit", "--spool", os.path.join(root, "spool"), "--report", report]
                else:
                    cmd = [args.cyrconv, "convert", "--spool", os.path.join(root, "spool"), "--format", "mbox",
                           "--out", os.path.join(work, f"out-{name}"), "--quiet", "--report", report]
                rss[what, name] = bm.run(cmd)[1]
        for what in ("audit", "mbox"):
            with open(os.path.join(work, f"{what}-big.json"), encoding="utf-8") as f:
                big = json.load(f)
            warnings = big["totals"]["warnings"]
            listed = entry_warnings(big)
            del big
            small_rss, big_rss = rss[what, "small"], rss[what, "big"]
            print(f"{what}: {warnings} warnings; peak RSS {small_rss >> 20} MiB with 6,000 messages, "
                  f"{big_rss >> 20} MiB with 60,000")
            if warnings < 30000:
                fail(f"{what}: only {warnings} warnings on the big spool: the check measures too little")
            if listed != warnings:
                fail(f"{what}: the report's entries carry {listed} warnings, its totals say {warnings}")
            if args.sanitized:
                print(f"{what}: peak RSS not checked (AddressSanitizer build)")
            elif big_rss - small_rss > ALLOWED_GROWTH:
                fail(f"{what}: peak RSS grew by {(big_rss - small_rss) >> 20} MiB from 6,000 to 60,000 "
                     f"messages (allowed {ALLOWED_GROWTH >> 20} MiB): report entries held in memory?")
    if problems:
        print(f"{len(problems)} mismatch(es)")
        return 1
    print("report memory: bounded")
    return 0


if __name__ == "__main__":
    sys.exit(main())
