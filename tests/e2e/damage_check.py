#!/usr/bin/env python3
"""End-to-end check of structural damage (README "When a mailbox is damaged").

1. tools/damage --structural writes copies of fixtures/cyrus36-default with one mailbox's
   cyrus.index or cyrus.header unusable (missing, empty, short, random bytes, a directory, a
   symlink, a FIFO, every CRC wrong, another mailbox's index), FIFOs where files belong, and
   combinations. Each is converted (Maildir; the combined case also mbox) with a time limit:
   no crash, no hang; then verified: verify must pass, its census must balance with nothing lost,
   and every regular message file of the damaged mailbox must be in the output by content (SHA-1
   of the output file, LF read as CRLF, equals the source file's).
2. verify must FAIL when a converted message is removed from the output, and when a source
   folder's files were skipped (a user converted with --users, verified without).
3. A legacy-layout store whose mailbox directory name is not UTF-8 converts and verifies, the
   rename map lists the folder under a valid name, and the report keeps the bytes (name_bytes).
4. The last-resort handler: an unexpected exception in one folder (CYRCONV_TEST_THROW_IN_FOLDER)
   ends convert with exit status 3 and one line naming the mailbox; a re-run resumes and verifies.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

problems = []
LIMIT = 120  # seconds per run: a blocking open of a FIFO would hang here
MSG = re.compile(rb"^[1-9][0-9]*\.$")


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def run(args, cmd, what):
    try:
        p = subprocess.run([args.cyrconv] + cmd, capture_output=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        fail(f"{what}: no result within {LIMIT} s (hang): {' '.join(map(str, cmd))}")
        return None
    if p.returncode < 0 or p.returncode == 3:
        fail(f"{what}: exit {p.returncode}: {p.stderr.decode(errors='replace')[-2000:]}")
    return p


def sha1_crlf(path):
    data = open(path, "rb").read()
    data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
    return hashlib.sha1(data).hexdigest()


def output_digests(out):
    got = set()
    for root, dirs, files in os.walk(out):
        if os.path.basename(root) == "cur":
            for f in files:
                got.add(sha1_crlf(os.path.join(root, f)))
    return got


def source_files(d):
    out = []
    for name in os.listdir(os.fsencode(d)):
        p = os.path.join(os.fsencode(d), name)
        if MSG.match(name) and os.path.isfile(p) and not os.path.islink(p):
            out.append(p)
    return out


def check_verify(args, spool, config, out, what, fmt="maildir"):
    rep = os.path.join(out + ".verify.json")
    cmd = ["verify", "--spool", spool] + (["--config", config] if config else []) + ["--out", out, "--format", fmt,
                                                                                     "--report", rep]
    p = run(args, cmd, what)
    if p is None or not os.path.exists(rep):
        return None
    r = json.load(open(rep))
    return p.returncode, r


def structural(args, tmp):
    cases_dir = os.path.join(tmp, "structural")
    subprocess.run([sys.executable, os.path.join(args.source, "tools", "damage"), cases_dir, "--structural",
                    "--fixture", os.path.join(args.source, "fixtures", "cyrus36-default")], check=True)
    manifest = json.load(open(os.path.join(cases_dir, "manifest.json")))
    if len(manifest["cases"]) < 12:
        fail(f"tools/damage --structural wrote {len(manifest['cases'])} cases")
    for c in manifest["cases"]:
        cls = c["class"]
        spool = os.path.join(cases_dir, c["spool"])
        config = os.path.join(cases_dir, c["config"])
        damaged = os.path.join(spool, c["directory"])
        formats = ["maildir", "mbox"] if cls == "everything" else ["maildir"]
        for fmt in formats:
            out = os.path.join(tmp, f"out-{cls}-{fmt}")
            rep = out + ".json"
            p = run(args, ["convert", "--spool", spool, "--config", config, "--format", fmt, "--out", out, "--quiet",
                           "--report", rep], f"{cls} convert {fmt}")
            if p is None:
                continue
            report = json.load(open(rep))
            t = report["totals"]
            if not t["balanced"] if "balanced" in t else False:
                fail(f"{cls}: convert totals do not balance")
            if not t.get("files_balanced"):
                fail(f"{cls}: convert file accounting does not balance: {t}")
            folder = [f for u in report["users"] for f in u["folders"]
                      if f.get("findings") and any(x["file"].startswith(damaged) for x in f["findings"])]
            if cls.startswith("index_") or cls in ("header_and_index_missing", "everything"):
                if not any(f["count"].get("recovered_without_index") for f in folder):
                    fail(f"{cls}: the damaged folder is not reported as recovered_without_index")
            v = check_verify(args, spool, config, out, f"{cls} verify {fmt}", fmt)
            if v is None:
                continue
            code, vr = v
            census = vr.get("census", {})
            errors = [x for u in vr["users"] for f in u["folders"] for x in f["findings"] if x["severity"] == "error"]
            errors += [x for x in vr["findings"] if x["severity"] == "error"]
            t = vr["totals"]
            # Exit 1 is right when messages are accounted for but not in the mailbox (a FIFO where
            # a message file belongs is listed missing): README "Exit statuses".
            not_in_mailbox = t["quarantined"] + t["listed_missing"] + t["not_converted"]
            if errors or code not in (0, 1) or (code == 1) != (not_in_mailbox > 0):
                fail(f"{cls} {fmt}: verify exit {code} with {not_in_mailbox} messages not in the mailbox: {errors[:5]}")
            if not census.get("balanced") or census.get("lost") != 0 or census.get("files", 0) == 0:
                fail(f"{cls} {fmt}: census {census}")
            if fmt == "maildir":
                got = output_digests(out)
                for f in source_files(damaged):
                    if sha1_crlf(f) not in got:
                        fail(f"{cls}: {f!r} is not in the output by content")
        if cls == "index_missing":
            negative_removed(args, spool, config, os.path.join(tmp, f"out-{cls}-maildir"))


def negative_removed(args, spool, config, out):
    """verify fails when one converted message is removed from the output."""
    victim = None
    for root, dirs, files in sorted(os.walk(out)):
        if os.path.basename(root) == "cur" and files:
            victim = os.path.join(root, sorted(files)[0])
            break
    os.unlink(victim)
    v = check_verify(args, spool, config, out, "removed message verify")
    if v and (v[0] != 1 or v[1]["verified"]):
        fail(f"verify passed after {victim} was removed from the output")


def negative_skipped(args, tmp):
    """verify fails when a source folder's files were skipped: one user converted, all verified."""
    fixture = os.path.join(args.source, "fixtures", "cyrus36-default")
    spool, config = os.path.join(fixture, "spool"), os.path.join(fixture, "config")
    out = os.path.join(tmp, "out-skipped")
    run(args, ["convert", "--spool", spool, "--config", config, "--format", "maildir", "--out", out, "--quiet",
               "--users", "alice"], "skipped convert")
    # Without the record of convert's options verify takes every user as converted: the others'
    # files were skipped as far as it can tell.
    os.unlink(os.path.join(out, "convert-options.json"))
    v = check_verify(args, spool, config, out, "skipped verify")
    if v and (v[0] != 1 or v[1]["verified"] or v[1].get("census", {}).get("lost", 0) == 0):
        fail(f"verify passed (or its census lost nothing) when only alice was converted: {v[1].get('census')}")


def non_utf8(args, tmp):
    """A legacy-layout mailbox directory whose name is not UTF-8."""
    fixture = os.path.join(args.source, "fixtures", "cyrus36-legacy")
    spool = os.path.join(tmp, "legacy", "spool")
    shutil.copytree(os.path.join(fixture, "spool"), spool, symlinks=True)
    # carl's Sent, renamed by hand to a Latin-1 name; no mailboxes.db: the walk names it.
    src = None
    for root, dirs, files in os.walk(spool):
        if os.path.basename(root) == "Sent" and "cyrus.header" in files:
            src = root
            break
    dst = os.fsencode(os.path.dirname(src)) + b"/Gesendet-\xe4\xff"
    os.rename(os.fsencode(src), dst)
    n_files = len(source_files(dst))
    out = os.path.join(tmp, "out-latin1")
    rep = out + ".json"
    p = run(args, ["convert", "--spool", spool, "--format", "maildir", "--out", out, "--quiet", "--report", rep],
            "non-UTF-8 convert")
    if p is None:
        return
    if p.returncode not in (0, 1):
        fail(f"non-UTF-8 convert exit {p.returncode}: {p.stderr[-500:]}")
    report = json.load(open(rep))
    named = [f for u in report["users"] for f in u["folders"] if "name_bytes" in f]
    if not named or "e4ff" not in named[0]["name_bytes"]:
        fail("the report does not carry the folder's raw name bytes (name_bytes)")
    # The map keeps the Cyrus name's bytes (an override must match them); the target is UTF-8.
    lines = [l.split(b"\t") for l in open(os.path.join(out, "rename-map.tsv"), "rb").read().splitlines()
             if l and not l.startswith(b"#")]
    listed = [l for l in lines if b"Gesendet-\xe4\xff" in l[2]]
    if not listed:
        fail("the rename map does not list the non-UTF-8 folder")
    else:
        try:
            listed[0][3].decode("utf-8")
        except UnicodeDecodeError:
            fail(f"the rename map's target for the non-UTF-8 folder is not UTF-8: {listed[0][3]!r}")
    code, vr = check_verify(args, spool, None, out, "non-UTF-8 verify") or (None, {})
    if code != 0:
        fail(f"non-UTF-8 verify exit {code}: {[x for x in vr.get('findings', []) if x['severity'] == 'error'][:3]}")
    if n_files == 0:
        fail("the renamed folder holds no message files")


def last_resort(args, tmp):
    fixture = os.path.join(args.source, "fixtures", "cyrus36-default")
    spool, config = os.path.join(fixture, "spool"), os.path.join(fixture, "config")
    out = os.path.join(tmp, "out-thrown")
    cmd = [args.cyrconv, "convert", "--spool", spool, "--config", config, "--format", "maildir", "--out", out, "--quiet"]
    env = dict(os.environ, CYRCONV_TEST_THROW_IN_FOLDER="user.alice.Flags")
    p = subprocess.run(cmd, capture_output=True, timeout=LIMIT, env=env)
    lines = p.stderr.decode(errors="replace").strip().splitlines()
    if p.returncode != 3 or not lines or "user.alice.Flags" not in lines[-1] or "internal error" not in lines[-1]:
        fail(f"an unexpected exception: exit {p.returncode}, stderr {lines[-3:]}")
    if run(args, cmd[1:], "re-run after the exception") is None:
        return
    v = check_verify(args, spool, config, out, "verify after the re-run")
    if v and (v[0] != 0 or not v[1]["verified"]):
        fail(f"verify after the re-run: exit {v[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        structural(args, tmp)
        negative_skipped(args, tmp)
        non_utf8(args, tmp)
        last_resort(args, tmp)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("structural damage: every case converted and verified; verify fails on dropped messages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
