#!/usr/bin/env python3
"""End-to-end check of UID-range splitting (--split-bytes, --split-messages): a folder converted
as several ranges in parallel must give exactly the tree one range gives.

For real Cyrus fixtures in Maildir, Maildir --eol crlf, mbox and mbox --gzip, converted with
ranges of 1, 2 and 3 messages and of 2 KiB, against the same conversion unsplit: the same paths,
bytes, modes and message mtimes; the report's counts equal, and some folder really converted in
several ranges. Also:
- damaged spools (tools/damage, every class), --on-corrupt repair and quarantine;
- mbox whose first range has no message to write (its files missing): the folder's first
  message must still carry X-IMAPbase;
- an incremental run (fixtures/cyrus36-snapshots a then b), split against unsplit;
- split runs killed (CYRCONV_TEST_KILL_AFTER_COMMITS) and resumed give the unsplit tree;
- verify passes on a split output.
Exit 0 when all holds; every mismatch is printed.
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
import rerun_check as rc  # noqa: E402  (convert, tree, compare_trees, kill_points, verify)

SPLITS = [["--split-messages", "1"], ["--split-messages", "2"], ["--split-messages", "3"],
          ["--split-bytes", "2K", "--split-messages", "0"]]


def folders(report_path):
    r = json.load(open(report_path, encoding="utf-8"))
    return {(u["user"], f["name_raw"], f.get("action")): f for u in r["users"] for f in u["folders"]}


def compare_reports(want_path, got_path, label):
    want, got = folders(want_path), folders(got_path)
    ranged = 0
    for key in sorted(set(want) | set(got), key=str):
        if key not in want or key not in got:
            rc.fail(f"{label}: folder {key} only in one report")
            continue
        w, g = want[key], got[key]
        ranged += g.get("ranges", 1) > 1
        for field in ("count", "bytes_written", "failed", "uidnext", "run", "target"):
            if w.get(field) != g.get(field):
                rc.fail(f"{label}: {key}: {field} {w.get(field)} unsplit, {g.get(field)} split")
        wk = sorted((x["kind"], x.get("uid", 0)) for x in w["findings"])
        gk = sorted((x["kind"], x.get("uid", 0)) for x in g["findings"])
        if wk != gk:
            rc.fail(f"{label}: {key}: findings differ: {wk} vs {gk}")
    return ranged


def split_against_unsplit(args, work, fixture_dir, fmt, extra, label, splits=SPLITS):
    ref = os.path.join(work, "ref")
    shutil.rmtree(ref, ignore_errors=True)
    rc.convert(args, fixture_dir, ref, fmt, list(extra), report=ref + ".json")
    want = rc.tree(ref)
    ranged_any = 0
    for split in splits:
        out = os.path.join(work, "split")
        shutil.rmtree(out, ignore_errors=True)
        rc.convert(args, fixture_dir, out, fmt, list(extra) + split, report=out + ".json")
        rc.compare_trees(want, rc.tree(out), f"{label} {' '.join(split)}")
        ranged_any += compare_reports(ref + ".json", out + ".json", f"{label} {' '.join(split)}")
    return ranged_any


def check_fixtures(args, work):
    for fixture in ("cyrus36-default", "cyrus36-legacy", "cyrus36-oldindex", "cyrus36-extras"):
        src = os.path.join(args.source, "fixtures", fixture)
        if not os.path.isdir(os.path.join(src, "spool")):
            continue
        for fmt, extra in (("maildir", ()), ("maildir", ("--eol", "crlf")), ("mbox", ()), ("mbox", ("--gzip",))):
            label = f"{fixture} {fmt} {' '.join(extra)}".strip()
            ranged = split_against_unsplit(args, work, src, fmt, extra, label)
            if not ranged:
                rc.fail(f"{label}: no folder was converted in ranges: the split options do nothing")
            print(f"{label}: split trees equal the unsplit one ({ranged} ranged folder conversions)")


def check_damaged(args, work):
    damaged = os.path.join(work, "damaged")
    subprocess.run([sys.executable, os.path.join(args.source, "tools", "damage"), damaged], check=True,
                   capture_output=True)
    manifest = json.load(open(os.path.join(damaged, "manifest.json"), encoding="utf-8"))
    cases = manifest["cases"] if isinstance(manifest, dict) and "cases" in manifest else manifest
    names = sorted(c["class"] if isinstance(c, dict) else c for c in cases)
    for name in names:
        case = os.path.join(damaged, name)
        for policy in ("repair", "quarantine"):
            split_against_unsplit(args, work, case, "mbox", ("--on-corrupt", policy), f"damaged {name} mbox {policy}",
                                  splits=SPLITS[:1])
        split_against_unsplit(args, work, case, "maildir", (), f"damaged {name} maildir", splits=SPLITS[:1])
        shutil.rmtree(case)
    print(f"damaged: {len(names)} classes, split trees equal the unsplit ones")


def copy_without_first_messages(args, dest, count):
    """A copy of fixtures/cyrus36-default at `dest` whose biggest folder lacks the message files
    of its first `count` UIDs. Returns (user, folder, removed UIDs), or None (reported) when the
    folder's directory cannot be found."""
    src = os.path.join(args.source, "fixtures", "cyrus36-default")
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(src, dest, symlinks=True)
    by_folder = {}
    for m in rc.read_jsonl(os.path.join(src, "oracle.jsonl")):
        by_folder.setdefault((m["user"], m["folder"]), []).append(m)
    (user, folder), msgs = max(by_folder.items(), key=lambda kv: len(kv[1]))
    first = sorted(m["uid"] for m in msgs)[:max(count, 3)]
    # The folder's directory: the one whose lowest message files are the folder's lowest UIDs.
    for dp, _, fns in os.walk(os.path.join(dest, "spool")):
        if "cyrus.header" in fns and f"{first[0]}." in fns:
            header = open(os.path.join(dp, "cyrus.header"), "rb").read()
            if folder != "INBOX" and folder.split("/")[-1].encode() not in header:
                continue
            uids = sorted(int(f[:-1]) for f in fns if f.endswith(".") and f[:-1].isdigit())
            if uids[:len(first)] == first:
                for uid in first[:count]:
                    os.unlink(os.path.join(dp, f"{uid}."))
                return user, folder, first[:count]
    rc.fail(f"first range missing: cannot find the directory of {user}/{folder}")
    return None


def mbox_files_without_imapbase(out):
    """(mbox files under `out` whose first message lacks X-IMAPbase, mbox files with messages)."""
    bad, files = [], 0
    for dp, _, fns in os.walk(out):
        for fn in fns:
            if "/mail" not in dp or fn.startswith("."):
                continue
            box = list(mailbox.mbox(os.path.join(dp, fn)))
            if box and box[0]["X-IMAPbase"] is None:
                bad.append(os.path.relpath(os.path.join(dp, fn), out))
            files += bool(box)
    return bad, files


def check_first_range_empty(args, work):
    """mbox: the first range's messages are all missing, so a later range writes the folder's
    first message, which must carry X-IMAPbase (and the tree must equal the unsplit one)."""
    copy = os.path.join(work, "first-missing")
    found = copy_without_first_messages(args, copy, 3)
    if not found:
        return
    user, folder, removed = found
    ranged = split_against_unsplit(args, work, copy, "mbox", (), f"first range missing ({user}/{folder})",
                                   splits=[["--split-messages", "3"]])
    bad, got = mbox_files_without_imapbase(os.path.join(work, "split"))
    for rel in bad:
        rc.fail(f"first range missing: {rel}: first message has no X-IMAPbase")
    if not ranged:
        rc.fail("first range missing: nothing was converted in ranges")
    print(f"first range missing: {user}/{folder} without UIDs {removed}: tree equals unsplit, "
          f"{got} mbox files start with X-IMAPbase")


def check_incremental(args, work):
    snaps = os.path.join(args.source, "fixtures", "cyrus36-snapshots")
    for fmt in ("maildir", "mbox"):
        trees = []
        for split in ([], ["--split-messages", "1"]):
            out = os.path.join(work, f"inc-{fmt}-{len(split)}")
            shutil.rmtree(out, ignore_errors=True)
            rc.convert(args, os.path.join(snaps, "a"), out, fmt, split)
            rc.convert(args, os.path.join(snaps, "b"), out, fmt, split, report=out + ".json")
            trees.append((out, rc.tree(out)))
        rc.compare_trees(trees[0][1], trees[1][1], f"incremental {fmt}: split vs unsplit")
        compare_reports(trees[0][0] + ".json", trees[1][0] + ".json", f"incremental {fmt}")
        rc.verify(args, os.path.join(snaps, "b"), trees[1][0], fmt, f"incremental {fmt} split")
    print("incremental a -> b: split trees equal the unsplit ones (maildir, mbox); verify passes")


def check_kill_resume(args, work):
    src = os.path.join(args.source, "fixtures", "cyrus36-default")
    split = ["--split-messages", "2"]
    for fmt in ("maildir", "mbox"):
        ref = os.path.join(work, "kill-ref")
        shutil.rmtree(ref, ignore_errors=True)
        rc.convert(args, src, ref, fmt)
        want = rc.tree(ref)
        files = sum(1 for v in want.values() if v[0] == "file")
        killed = 0
        points = rc.kill_points(files, 10)
        for k in points:
            out = os.path.join(work, "kill-run")
            shutil.rmtree(out, ignore_errors=True)
            killed += rc.convert(args, src, out, fmt, split, kill_after=k) == -9
            rc.convert(args, src, out, fmt, split)
            rc.compare_trees(want, rc.tree(out), f"kill {fmt} split: killed after {k} commits")
        if killed < len(points) // 2:
            rc.fail(f"kill {fmt} split: only {killed} of {len(points)} runs were killed")
        rc.verify(args, src, os.path.join(work, "kill-run"), fmt, f"kill {fmt} split")
        print(f"kill {fmt} split: {len(points)} kill points ({killed} kills), resumed trees equal the unsplit one")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    # Many small trees written and removed: memory (tmpfs) when there is some, else TMPDIR.
    shm = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="cyrconv-split-", dir=shm) as work:
        check_fixtures(args, work)
        check_first_range_empty(args, work)
        check_damaged(args, work)
        check_incremental(args, work)
        check_kill_resume(args, work)
    if rc.problems:
        print(f"{len(rc.problems)} problem(s)")
        return 1
    print("split: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
