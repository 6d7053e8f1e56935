#!/usr/bin/env python3
"""convert reading through tools/slowfs (a FUSE passthrough with 1 ms per operation, standing in
for NFS) with --io-depth 16 writes exactly what convert reading the fixture directly with
--io-depth 1 writes: every file's bytes (and a Maildir message's mtime), Maildir and mbox. Output that names the source
(manifests, journals, reasons) names the mount instead of the fixture directory, so the direct
run's bytes are compared with that one path swapped.

Exits 77 (CTest: skipped) with a message where FUSE cannot be mounted."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

SKIP = 77


def tree(root):
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            rel = os.path.relpath(p, root)
            st = os.lstat(p)
            if os.path.isdir(p) and not os.path.islink(p):
                out[rel] = ("dir",)
            else:
                # mtime only where cyrconv sets it: a Maildir message's is its INTERNALDATE,
                # other files carry the time they were written.
                out[rel] = (open(p, "rb").read(), int(st.st_mtime) if "/cur/" in rel else None)
    return out


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
        for fmt in ("maildir", "mbox"):
            outs = {}
            for label, root, depth in (("direct", fixture, 1), ("slowfs", mnt, 16)):
                out = os.path.join(work, f"{fmt}-{label}")
                cmd = [args.cyrconv, "convert", "--spool", os.path.join(root, "spool"), "--config",
                       os.path.join(root, "config"), "--format", fmt, "--out", out, "--quiet", "--sync", "none",
                       "--io-depth", str(depth)]
                t0 = time.monotonic()
                r = subprocess.run(cmd, capture_output=True, text=True)
                print(f"{fmt} {label} --io-depth {depth}: exit {r.returncode}, {time.monotonic() - t0:.2f} s")
                if r.returncode not in (0, 1):
                    failures.append(f"{fmt} {label}: exit {r.returncode}: {r.stderr[-500:]}")
                outs[label] = tree(out)
            direct, slow = outs["direct"], outs["slowfs"]
            swap = lambda v: v if v[0] == "dir" else (v[0].replace(fixture.encode(), mnt.encode()), v[1])
            if set(direct) != set(slow):
                failures.append(f"{fmt}: file lists differ: only direct {sorted(set(direct) - set(slow))[:5]}, "
                                f"only slowfs {sorted(set(slow) - set(direct))[:5]}")
            for rel in sorted(set(direct) & set(slow)):
                if swap(direct[rel]) != slow[rel]:
                    failures.append(f"{fmt}: {rel} differs")
            files = sum(1 for v in slow.values() if v[0] != "dir")
            print(f"{fmt}: {files} files compared")
            if files < 10:
                failures.append(f"{fmt}: only {files} files written")
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
