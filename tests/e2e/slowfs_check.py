#!/usr/bin/env python3
"""--io-depth through tools/slowfs (a FUSE passthrough with 1 ms per operation, standing in for
NFS) changes nothing but the time taken:

- convert (Maildir, mbox, zimbra-tgz) reading through slowfs with --io-depth 1 and 16 writes
  exactly the same files (bytes, and a Maildir message's mtime; zimbra.tgz compared member by
  member as Python's tarfile reads it), and the same as convert reading the fixture directly.
  Output that names the source (manifests, journals, reasons) names the mount instead of the
  fixture directory, so the direct run's bytes are compared with that one path swapped.
- audit (--report), verify (--report, of the Maildir and mbox outputs) and scan (--json-file)
  through slowfs give the same report at --io-depth 1 and 16, timings aside.

Exits 77 (CTest: skipped) with a message where FUSE cannot be mounted."""
import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

SKIP = 77


def tarball(path):
    """zimbra.tgz as a reader sees it: each member's header fields and bytes, in archive order."""
    out = []
    with tarfile.open(path, "r:gz") as t:
        for m in t:
            data = t.extractfile(m).read() if m.isfile() else b""
            out.append(f"{m.name} {m.type} {m.mode:o} {m.mtime} {m.size}\n".encode() + data)
    return b"\n--\n".join(out)


def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.isdir(p) and not os.path.islink(p):
                out[rel] = ("dir",)
            elif name.endswith(".tgz"):
                out[rel] = (tarball(p), None)
            else:
                # mtime only where cyrconv sets it: a Maildir message's is its INTERNALDATE,
                # other files carry the time they were written.
                out[rel] = (open(p, "rb").read(), int(st.st_mtime) if "/cur/" in rel else None)
    return out


def compare_trees(label, a, b, swap, failures):
    if set(a) != set(b):
        failures.append(f"{label}: file lists differ: only in the first {sorted(set(a) - set(b))[:5]}, "
                        f"only in the second {sorted(set(b) - set(a))[:5]}")
    for rel in sorted(set(a) & set(b)):
        if swap(a[rel]) != b[rel]:
            failures.append(f"{label}: {rel} differs")


def without_seconds(v):
    if isinstance(v, dict):
        return {k: without_seconds(x) for k, x in v.items() if k != "seconds"}
    if isinstance(v, list):
        return [without_seconds(x) for x in v]
    return v


def run(cmd, label, failures):
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True)
    print(f"{label}: exit {r.returncode}, {time.monotonic() - t0:.2f} s")
    if r.returncode not in (0, 1):
        failures.append(f"{label}: exit {r.returncode}: {r.stderr[-500:]}")
    return r.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--slowfs", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--fixture", default="cyrus36-default")
    args = ap.parse_args()
    fixture = os.path.join(os.path.abspath(args.source), "fixtures", args.fixture)

    why = None
    if args.slowfs == "none" or not os.access(args.slowfs, os.X_OK):
        why = "slowfs was not built (libfuse3-dev missing)"
    elif not os.path.exists("/dev/fuse"):
        why = "no /dev/fuse"
    elif not shutil.which("fusermount3"):
        why = "no fusermount3 (package fuse3)"
    if why:
        print(f"SKIP: FUSE cannot be used here: {why}")
        return SKIP

    work = tempfile.mkdtemp(prefix="cyrconv-slowfs-")
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    mounted = False
    try:
        p = subprocess.run([args.slowfs, "--delay", "1ms", "--read-delay", "1ms", fixture, mnt],
                           capture_output=True, text=True)
        if p.returncode != 0 or not os.path.ismount(mnt):
            print(f"SKIP: FUSE cannot be mounted here (status {p.returncode}): {p.stderr.strip()}")
            return SKIP
        mounted = True
        failures = []
        spool = ["--spool", os.path.join(mnt, "spool"), "--config", os.path.join(mnt, "config")]
        outs = {}
        for fmt in ("maildir", "mbox", "zimbra-tgz"):
            trees = {}
            for label, root, depth in (("direct", fixture, 1), ("slowfs-1", mnt, 1), ("slowfs-16", mnt, 16)):
                out = os.path.join(work, f"{fmt}-{label}")
                outs[fmt, label] = out
                cmd = [args.cyrconv, "convert", "--spool", os.path.join(root, "spool"), "--config",
                       os.path.join(root, "config"), "--format", fmt, "--out", out, "--quiet", "--sync", "none",
                       "--io-depth", str(depth)]
                run(cmd, f"convert {fmt} {label} --io-depth {depth}", failures)
                trees[label] = tree(out)
            swap = lambda v: v if v[0] == "dir" else (v[0].replace(fixture.encode(), mnt.encode()), v[1])
            compare_trees(f"{fmt} slowfs --io-depth 1 vs 16", trees["slowfs-1"], trees["slowfs-16"], lambda v: v, failures)
            compare_trees(f"{fmt} direct vs slowfs --io-depth 16", trees["direct"], trees["slowfs-16"], swap, failures)
            files = sum(1 for v in trees["slowfs-16"].values() if v[0] != "dir")
            print(f"{fmt}: {files} files compared")
            if files < (3 if fmt == "zimbra-tgz" else 10):
                failures.append(f"{fmt}: only {files} files written")

        # Reports at depth 1 and 16: audit, verify of the Maildir and mbox outputs, scan.
        reports = [("audit", ["audit"] + spool, "--report", None)]
        for fmt in ("maildir", "mbox"):
            reports.append((f"verify {fmt}", ["verify"] + spool + ["--format", fmt, "--out", outs[fmt, "slowfs-1"]],
                            "--report", None))
        reports.append(("scan", ["scan"] + spool, "--json-file", None))
        for name, cmd, report_opt, _ in reports:
            got = {}
            for depth in (1, 16):
                path = os.path.join(work, f"{name.replace(' ', '-')}-{depth}.json")
                rc = run([args.cyrconv] + cmd + [report_opt, path, "--io-depth", str(depth)],
                         f"{name} --io-depth {depth}", failures)
                try:
                    with open(path) as f:
                        got[depth] = (rc, without_seconds(json.load(f)))
                except (OSError, ValueError) as e:
                    failures.append(f"{name} --io-depth {depth}: no report: {e}")
            if len(got) == 2:
                if got[1] != got[16]:
                    failures.append(f"{name}: exit status or report differs between --io-depth 1 and 16")
                elif not got[1][1]:
                    failures.append(f"{name}: empty report")
                else:
                    print(f"{name}: same report at --io-depth 1 and 16")
            if name.startswith("verify") and got.get(1, (None,))[0] != 0:
                failures.append(f"{name}: the output of convert does not verify clean (exit {got.get(1, (None,))[0]})")
        for f in failures[:20]:
            print("FAIL:", f)
        print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
        return 1 if failures else 0
    finally:
        if mounted:
            subprocess.run(["fusermount3", "-u", mnt], check=False)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
