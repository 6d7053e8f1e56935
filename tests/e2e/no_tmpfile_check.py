#!/usr/bin/env python3
"""End-to-end check of the output paths for file systems without O_TMPFILE (NFS, old kernels).

cyrconv creates every output file, scratch file and the report's entry log unnamed (O_TMPFILE)
and links it into place; where that is refused it falls back to a named temporary file. Here
the LD_PRELOAD shim built from no_tmpfile_shim.cpp refuses O_TMPFILE in every cyrconv process
(logging each refusal), and:
  * convert of fixtures/cyrus36-default in Maildir, mbox (split into UID ranges of 2 messages,
    so later ranges' own files take the fallback too), mbox --gzip and zimbra-tgz must write
    the tree a run with O_TMPFILE writes (paths, bytes, modes, message mtimes; rerun_check's
    tree) and the same report, and leave no temporary file behind;
  * a shard plan that splits folders (plan --split-messages 2, 4 shards, report merge, the
    range part files) must equal a single run, as tests/e2e/shard_check.py checks with O_TMPFILE;
  * the shim's log must show refusals (the fallbacks ran).
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
import rerun_check as rc  # noqa: E402  (tree with modes and message mtimes)
import shard_check as sc  # noqa: E402  (a split shard run against a single run)

problems = []
rc.problems = problems
sc.problems = problems
sc.rc.problems = problems


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def leftovers(root):
    return [os.path.relpath(os.path.join(dp, f), root) for dp, _, fns in os.walk(root) for f in fns
            if f.endswith(".cyrconv-tmp") or ".cyrconv-plain" in f]


def convert(args, inputs, options, out, report, env):
    p = subprocess.run([args.cyrconv, "convert"] + inputs + options + ["--out", out, "--quiet", "--report", report],
                       capture_output=True, text=True, env=env)
    if p.returncode not in (0, 1):
        fail(f"convert {' '.join(options)} exited {p.returncode}: {p.stderr[-1500:]}")
    return p.returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--shim", required=True, help="the built no_tmpfile_shim library")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="cyrconv-no-tmpfile-")
    log = os.path.join(work, "refused.log")
    shimmed = dict(os.environ, LD_PRELOAD=args.shim, CYRCONV_SHIM_LOG=log,
                   # An ASan build insists on its runtime coming first; the shim only wraps open().
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    plain = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "CYRCONV_SHIM_LOG")}
    try:
        src = os.path.join(args.source, "fixtures", "cyrus36-default")
        inputs = ["--spool", os.path.join(src, "spool"), "--config", os.path.join(src, "config")]
        for label, options in (("maildir", ["--format", "maildir"]),
                               ("mbox split", ["--format", "mbox", "--split-messages", "2"]),
                               ("mbox gzip", ["--format", "mbox", "--gzip"]),
                               ("zimbra-tgz", ["--format", "zimbra-tgz"])):
            d = os.path.join(work, label.replace(" ", "_"))
            os.makedirs(d)
            want_out, got_out = os.path.join(d, "with"), os.path.join(d, "without")
            before = os.path.getsize(log) if os.path.exists(log) else 0
            a = convert(args, inputs, options, want_out, os.path.join(d, "with.json"), plain)
            b = convert(args, inputs, options, got_out, os.path.join(d, "without.json"), shimmed)
            after = os.path.getsize(log) if os.path.exists(log) else 0
            if after == before:
                fail(f"{label}: the shim refused no O_TMPFILE open: the fallback was not exercised")
            if a != b:
                fail(f"{label}: exit {b} without O_TMPFILE, {a} with it")
            rc.compare_trees(rc.tree(want_out), rc.tree(got_out), f"{label} without O_TMPFILE")
            for rel in leftovers(got_out)[:5]:
                fail(f"{label}: temporary file left behind: {rel}")
            ra = sc.normalized(json.load(open(os.path.join(d, "with.json"), encoding="utf-8")))
            rb = sc.normalized(json.load(open(os.path.join(d, "without.json"), encoding="utf-8")))
            if ra != rb:
                fail(f"{label}: the report differs without O_TMPFILE")
            print(f"  {label}: same tree and report without O_TMPFILE")

        # Shards with split folders: range part files, the join and the report merge.
        os.environ.update(LD_PRELOAD=args.shim, CYRCONV_SHIM_LOG=log, ASAN_OPTIONS=shimmed["ASAN_OPTIONS"])
        try:
            before = os.path.getsize(log) if os.path.exists(log) else 0
            _, _, d, _, _ = sc.check_split_fixture(args, work, "cyrus36-default", "mbox", (),
                                                   label="shards without O_TMPFILE")
            sharded = os.path.join(d, "sharded")
            for rel in leftovers(sharded)[:5]:
                fail(f"shards: temporary file left behind: {rel}")
            if (os.path.getsize(log) if os.path.exists(log) else 0) == before:
                fail("shards: the shim refused no O_TMPFILE open")
        finally:
            for k in ("LD_PRELOAD", "CYRCONV_SHIM_LOG"):
                os.environ.pop(k, None)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if problems:
        print(f"{len(problems)} mismatch(es)")
        return 1
    print("no O_TMPFILE: every output equals the one written with it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
