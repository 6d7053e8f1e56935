#!/usr/bin/env python3
"""End-to-end check that `cyrconv verify`'s memory does not grow with the messages of one folder.

tools/bench generates two stores whose largest folder (user.anna000's INBOX) holds --small and
--big messages (default 20,000 and 200,000), equal messages hard-linked to one file (--link), so
the big store costs little disk and time. Each is converted (--format mbox, and Maildir with
--maildir) once; then `cyrconv verify` and, for comparison, `cyrconv scan` run on both as
children whose peak RSS comes from wait4. verify's per-message state (manifest lines, uidlist,
cur/ listing, the mbox file's messages) is a few fixed-size bytes in memory, the rest in a
scratch file: before issue 25 it cost about 2 KB a message (56 -> 442 MiB here).

The big verify may use at most ALLOWED_GROWTH more than the small one. The source passes verify
shares with every subcommand (discovery and the folder's index records, converter/source/) are
bounded by the other memory check (folder_memory_check.py, where it exists): while `scan` itself
grows by more than ALLOWED_GROWTH, verify is held to scan's growth plus ALLOWED_GROWTH, so this
check fails on what verify adds of its own and becomes the absolute bound once the source passes
are flat. Both reports must say every message verified.
Under AddressSanitizer (--sanitized) only the outputs are checked (ASan's quarantine of freed
memory makes peak RSS meaningless), on smaller folders (--small/--big default 2,000 and 20,000).
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

ALLOWED_GROWTH = 20 << 20
problems = []
bm.problems = problems


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def generate(source, cyrconv, root, messages):
    """A store whose first user's INBOX holds `messages` messages (tools/bench --one-mailbox)."""
    subprocess.run([sys.executable, os.path.join(source, "tools", "bench"), "--gen", root, "--one-mailbox",
                    str(messages), "--messages", str(messages), "--link", "--bytes", "1M", "--gen-only",
                    "--cyrconv", cyrconv], check=True, stdout=subprocess.DEVNULL)


def check_report(path, messages, what):
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    t = r["totals"]
    big = max((fo for u in r["users"] for fo in u["folders"]), key=lambda fo: fo["count"]["messages"])
    if not r["verified"] or t["errors"] or t["verified"] != t["messages"]:
        fail(f"{what}: not verified ({t['verified']} of {t['messages']} messages, {t['errors']} errors)")
    if big["count"]["verified"] != messages:
        fail(f"{what}: the big folder has {big['count']['verified']} verified messages, expected {messages}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--small", type=int)
    ap.add_argument("--big", type=int)
    ap.add_argument("--maildir", action="store_true", help="also convert to Maildir and verify that")
    ap.add_argument("--sanitized", action="store_true",
                    help="cyrconv is built with AddressSanitizer: the reports are checked, RSS is not")
    args = ap.parse_args()
    sizes = {"small": args.small or (2000 if args.sanitized else 20000),
             "big": args.big or (20000 if args.sanitized else 200000)}
    formats = ["mbox"] + (["maildir"] if args.maildir else [])
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cyrconv-verify-mem-", dir=shm) as work:
        roots = {}
        for name, n in sizes.items():
            roots[name] = os.path.join(work, name)
            generate(args.source, args.cyrconv, roots[name], n)
            for fmt in formats:
                subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(roots[name], "spool"), "--config",
                                os.path.join(roots[name], "config"), "--format", fmt, "--quiet",
                                "--out", os.path.join(work, f"out-{fmt}-{name}")],
                               check=True, stdout=subprocess.DEVNULL)
        # All runs first, reports read after: a child's peak RSS starts from its parent's at fork.
        rss = {}
        for name, root in roots.items():
            inputs = ["--spool", os.path.join(root, "spool"), "--config", os.path.join(root, "config")]
            rss["scan", name] = bm.run([args.cyrconv, "scan"] + inputs)[1]
            for fmt in formats:
                report = os.path.join(work, f"verify-{fmt}-{name}.json")
                status, rss["verify " + fmt, name] = bm.run(
                    [args.cyrconv, "verify"] + inputs + ["--out", os.path.join(work, f"out-{fmt}-{name}"), "--quiet",
                                                         "--report", report])
                if status != 0:
                    fail(f"verify {fmt} of {sizes[name]} messages exited {status}")
        for fmt in formats:
            for name, n in sizes.items():
                check_report(os.path.join(work, f"verify-{fmt}-{name}.json"), n, f"verify {fmt} of {n} messages")
        growth = {what: rss[what, "big"] - rss[what, "small"] for what in ["scan"] + ["verify " + f for f in formats]}
        for what, g in growth.items():
            print(f"{what}: peak RSS {rss[what, 'small'] >> 20} MiB with {sizes['small']:,} messages in one folder, "
                  f"{rss[what, 'big'] >> 20} MiB with {sizes['big']:,} ({g / 2**20:+.1f} MiB)")
        if args.sanitized:
            print("peak RSS not checked (AddressSanitizer build)")
        else:
            allowed = ALLOWED_GROWTH + (growth["scan"] if growth["scan"] > ALLOWED_GROWTH else 0)
            for fmt in formats:
                g = growth["verify " + fmt]
                if g > allowed:
                    fail(f"verify {fmt}: peak RSS grew by {g >> 20} MiB from {sizes['small']:,} to {sizes['big']:,} "
                         f"messages in one folder (allowed {allowed >> 20} MiB; scan grew {growth['scan'] >> 20} MiB)")
    if problems:
        print(f"{len(problems)} mismatch(es)")
        return 1
    print("verify memory: flat in folder size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
