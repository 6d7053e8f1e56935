#!/usr/bin/env python3
"""End-to-end check of interrupts (README "Interrupts").

convert of a real Cyrus fixture is interrupted at several points: by SIGINT and by SIGTERM sent to
itself after its Nth committed file (CYRCONV_TEST_INTERRUPT_AFTER_COMMITS, the path Ctrl-C takes),
and by a second SIGINT the test sends from outside while the first is being handled. Each run must
exit 130 (143 for SIGTERM), print the summary so far and the resume line (the second signal: exit
at once, within the 10 s the first one's thread is held), and the same command run again must
finish the tree exactly as an uninterrupted run writes it, with the uninterrupted run's status.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rerun_check import compare_trees, problems, tree, fail  # noqa: E402

RESUME_LINE = "interrupted: run the same command again to resume"


def command(args, out, fmt):
    fixture = os.path.join(args.source, "fixtures", "cyrus36-default")
    return [args.cyrconv, "convert", "--spool", os.path.join(fixture, "spool"), "--config",
            os.path.join(fixture, "config"), "--format", fmt, "--out", out, "--quiet"]


def run(cmd, hook=None):
    env = dict(os.environ)
    env.pop("CYRCONV_TEST_INTERRUPT_AFTER_COMMITS", None)
    if hook:
        env["CYRCONV_TEST_INTERRUPT_AFTER_COMMITS"] = hook
    return subprocess.run(cmd, capture_output=True, text=True, env=env)


def check_format(args, work, fmt):
    ref = os.path.join(work, f"ref-{fmt}")
    want_rc = run(command(args, ref, fmt)).returncode
    want = tree(ref)
    for hook, want_status in (("3", 130), ("40", 130), ("12:TERM", 143)):
        label = f"{fmt} interrupted at {hook}"
        out = os.path.join(work, "run")
        shutil.rmtree(out, ignore_errors=True)
        p = run(command(args, out, fmt), hook)
        if p.returncode != want_status:
            fail(f"{label}: exit {p.returncode}, want {want_status}\n{p.stderr}")
        if RESUME_LINE not in p.stderr:
            fail(f"{label}: no resume line on stderr: {p.stderr!r}")
        if "totals:" not in p.stdout:
            fail(f"{label}: no summary so far on stdout")
        again = run(command(args, out, fmt))
        if again.returncode != want_rc:
            fail(f"{label}: the re-run exits {again.returncode}, an uninterrupted run {want_rc}")
        compare_trees(want, tree(out), label)

    # A second SIGINT while the first is handled (its thread held 10 s): out at once.
    label = f"{fmt} interrupted twice"
    out = os.path.join(work, "run")
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, CYRCONV_TEST_INTERRUPT_AFTER_COMMITS="5:PAUSE")
    start = time.monotonic()
    p = subprocess.Popen(command(args, out, fmt), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    first = p.stderr.readline()  # the handler's "interrupt received" line
    while first and "interrupt received" not in first:
        first = p.stderr.readline()
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    if p.returncode != 130 or "interrupted again" not in err:
        fail(f"{label}: exit {p.returncode}, stderr {err!r}")
    if time.monotonic() - start >= 10:
        fail(f"{label}: the second signal did not stop the run at once")
    again = run(command(args, out, fmt))
    if again.returncode != want_rc:
        fail(f"{label}: the re-run exits {again.returncode}, an uninterrupted run {want_rc}")
    compare_trees(want, tree(out), label)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cyrconv-interrupt-") as work:
        for fmt in ("maildir", "mbox"):
            check_format(args, work, fmt)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("interrupts: every interrupted run printed the resume line and resumed to the uninterrupted tree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
