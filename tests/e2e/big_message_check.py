#!/usr/bin/env python3
"""End-to-end check that a huge message is streamed, never held whole in memory.

A copy of fixtures/cyrus36-default gets one clean message replaced by a 256 MiB one (a real
header, then plain CRLF lines), its v12+ index record patched to match (size, SHA-1 GUID, record
CRC; tools/damage's Index). Then `cyrconv audit`, `convert --format maildir` and `convert
--format mbox` run on it, and on the unchanged copy, each as a child whose peak RSS comes from
wait4. Each run on the big message may use at most 1/8 of the message's size more than the same
run on the small one (a copy of the message in one heap buffer would cost all of it), and the
output must hold the message: the manifest's SHA-1 is the source's, the Maildir file has the
source's size with LF line ends, the mbox file grows by at least the message.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

SIZE = 256 << 20
problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def load_damage(source):
    path = os.path.join(source, "tools", "damage")
    loader = importlib.machinery.SourceFileLoader("damage", path)
    spec = importlib.util.spec_from_loader("damage", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def run(cmd):
    """Runs cmd; returns (exit status, peak RSS in bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    if p.returncode not in (0, 1):
        print(err[-2000:])
        fail(f"{' '.join(cmd)} exited {p.returncode}")
    return p.returncode, usage.ru_maxrss * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    damage = load_damage(args.source)
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cyrconv-big-", dir=shm) as work:
        small = os.path.join(work, "small")
        big = os.path.join(work, "big")
        shutil.copytree(os.path.join(args.source, "fixtures", "cyrus36-default"), small, symlinks=True)
        shutil.copytree(small, big, symlinks=True)
        mailboxes = damage.find_mailboxes(os.path.join(big, "spool"))
        d, uid = damage.pick(mailboxes, damage.simple)
        path = damage.message_path(d, uid)
        original = damage.read(path)
        header, body = damage.split(original)
        # Written in pieces, never whole in this process: a child's peak RSS starts from its
        # parent's at fork, so this process must stay small.
        line = b"All work and no play makes a long message; this line is 76 characters long.\r\n"
        piece = line * 8192
        h = hashlib.sha1()
        size = crlf = 0
        tmp = path + ".big-tmp"
        with open(tmp, "wb") as f:
            for part in [header + b"\r\n" + body] + [piece] * ((SIZE - len(original)) // len(piece)):
                f.write(part)
                h.update(part)
                size += len(part)
                crlf += part.count(b"\r\n")
        os.replace(tmp, path)
        idx = damage.Index(os.path.join(d, "cyrus.index"))
        i = idx.find(uid)
        o = idx.rec(i)
        idx.put32(o + 12, size)  # what Index.set_message does, without the whole content
        idx.data[o + 60:o + 80] = h.digest()
        idx.fix_record_crc(i)
        idx.save()
        sha1 = h.hexdigest()
        lf_size = size - crlf
        print(f"{os.path.relpath(path, big)}: {SIZE >> 20} MiB message, UID {uid}")

        def inputs(root):
            return ["--spool", os.path.join(root, "spool"), "--config", os.path.join(root, "config")]

        for what, extra in (("audit", []), ("maildir", ["--format", "maildir"]), ("mbox", ["--format", "mbox"])):
            rss = {}
            for name, root in (("small", small), ("big", big)):
                out = os.path.join(work, f"out-{what}-{name}")
                if what == "audit":
                    cmd = [args.cyrconv, "audit"] + inputs(root) + ["--report", out + ".json"]
                else:
                    cmd = [args.cyrconv, "convert"] + inputs(root) + extra + ["--out", out, "--quiet",
                                                                               "--report", out + ".json"]
                _, rss[name] = run(cmd)
            grew = rss["big"] - rss["small"]
            print(f"{what}: peak RSS {rss['small'] >> 20} MiB on the fixture, {rss['big'] >> 20} MiB with the "
                  f"{SIZE >> 20} MiB message")
            if grew > SIZE // 8:
                fail(f"{what}: peak RSS grew by {grew >> 20} MiB for one {SIZE >> 20} MiB message: not streamed")
            if what == "audit":
                continue
            out = os.path.join(work, f"out-{what}-big")
            found = None
            for dp, _, fns in os.walk(out):
                if os.path.basename(dp) != "manifests":
                    continue
                for fn in fns:
                    for ln in open(os.path.join(dp, fn), encoding="utf-8"):
                        e = json.loads(ln)
                        if e["source_file"] == path:
                            found = (e, os.path.dirname(dp))  # the user's output root
            if not found:
                fail(f"{what}: no manifest line for {path}")
                continue
            e, user_root = found
            if e.get("sha1") != sha1 or e["disposition"] != "written":
                fail(f"{what}: manifest says {e.get('sha1')} {e['disposition']}, the source is {sha1}")
            if what == "maildir":
                got = os.path.getsize(os.path.join(user_root, e["output_file"]))
                if got != lf_size:
                    fail(f"maildir: {e['output_file']} has {got} bytes, want {lf_size} (LF line ends)")
            else:
                total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(out)
                            for fn in fns if "/mail" in dp)
                if total < lf_size:
                    fail(f"mbox: the mbox files hold {total} bytes, less than the message's {lf_size}")
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("big message: streamed in audit and convert (maildir, mbox)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
