#!/usr/bin/env python3
"""End-to-end check of the cutover run, convert --follow-source (issue #23).

fixtures/cyrus36-snapshots holds two snapshots a and b of one store made by real Cyrus 3.6
(between them: expunges, a folder renamed, one deleted, one deleted and re-created, new mail, flag
changes).
Convert a; deliver a message into sam's INBOX and create a folder of the user's own in the
output; let real Dovecot use the tree in place; convert b with --follow-source. Then:
- Dovecot serves exactly b (every message in its b folder with b's flags, each once; the
  re-created folder under its own name with b's UIDVALIDITY; the renamed one under its new name
  only) plus the delivered message and the user's own folder, both untouched;
- every message file that was in the Maildirs before b's run is still on disk with the same bytes:
  in the Maildirs, or in OUT/<user>/removed-by-source/<stamp>/ (the holding area), and exactly
  the ones Dovecot no longer serves are there;
- the report lists the moves (moved_to_holding, renamed_folder, replaced_recreated_folder);
- verify passes and accounts for the holding area;
- killed at many points (moves included) and run again, the tree equals the uninterrupted one;
- without the option nothing moves and the report counts what would.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rerun_check as rc  # noqa: E402  (convert, dovecot, use_in_place, tree helpers)

STAMP = re.compile(r"(^|/)removed-by-source/[^/]+/")


def fail(msg):
    rc.fail(msg)


def message_files(root, holding):
    """base name -> (relative path, bytes) of every message file under the users' Maildirs
    (holding=False) or holding areas (holding=True)."""
    out = {}
    for dp, _, fns in os.walk(root):
        rel_dir = os.path.relpath(dp, root)
        in_holding = "/removed-by-source/" in "/" + rel_dir + "/"
        if in_holding != holding or os.path.basename(dp) not in ("cur", "new"):
            continue
        for fn in fns:
            with open(os.path.join(dp, fn), "rb") as f:
                out[fn.split(":")[0]] = (os.path.join(rel_dir, fn), f.read())
    return out


def normalized(tree):
    return {STAMP.sub(r"\1removed-by-source/STAMP/", k): v for k, v in tree.items()}


def mbox_messages(data):
    """The messages of an mbox file's bytes, each with its trailing empty line, X-IMAPbase taken
    out (it belongs to the folder: it moves to the new first message, its last UID grows)."""
    parts = re.split(rb"(?<=\n)(?=From )", data) if data else []
    return [re.sub(rb"\nX-IMAPbase: [^\n]*", b"", p, count=1) for p in parts]


def check_mbox(args, work, a_dir, b_dir, b, b_folders, expunged_in_b, deleted):
    """mbox: folders follow (renamed, deleted, re-created: the folder file moves); expunged
    messages are cut out of the file into the holding area, byte for byte."""
    import mailbox
    out = os.path.join(work, "mbox")
    rc.convert(args, a_dir, out, "mbox")
    before = {}
    for dp, _, fns in os.walk(out):
        for fn in fns:
            if "/mail" in dp and not fn.startswith("."):
                before[os.path.relpath(os.path.join(dp, fn), out)] = open(os.path.join(dp, fn), "rb").read()
    report_path = os.path.join(work, "mbox.json")
    rc.convert(args, b_dir, out, "mbox", extra=["--follow-source"], report=report_path)
    report = json.load(open(report_path, encoding="utf-8"))
    kinds = [f["kind"] for u in report["users"] for f in u["findings"]]
    for k in ("renamed_folder", "replaced_recreated_folder", "moved_to_holding"):
        if k not in kinds:
            fail(f"mbox: no {k} finding ({kinds})")
    if "follow_source_mbox_messages_kept" in kinds or "follow_source_impossible" in kinds:
        fail(f"mbox: expunged messages left in the files ({kinds})")
    if kinds.count("moved_to_holding") != expunged_in_b + len(deleted):
        fail(f"mbox: {kinds.count('moved_to_holding')} moved_to_holding, expected {expunged_in_b} expunged messages "
             f"+ {len(deleted)} deleted folders")
    rc.verify(args, b_dir, out, "mbox", "follow-source mbox")
    files = {}
    for dp, _, fns in os.walk(os.path.join(out, "sam", "mail")):
        for fn in fns:
            if not fn.startswith("."):
                files[os.path.relpath(os.path.join(dp, fn), os.path.join(out, "sam", "mail"))] = os.path.join(dp, fn)
    want = {f for (u, f) in b_folders if u == "sam"}
    if set(files) != want:
        fail(f"mbox: sam's folder files {sorted(files)}, b has {sorted(want)}")
    base = mailbox.mbox(files["Wieder"])[0]["X-IMAPbase"] if "Wieder" in files else ""
    if str(b_folders[("sam", "Wieder")]["uidvalidity"]) not in (base or ""):
        fail(f"mbox: Wieder's X-IMAPbase {base!r}, b's UIDVALIDITY is {b_folders[('sam', 'Wieder')]['uidvalidity']}")
    # Each folder file holds exactly b's UIDs of its folder; the first message carries X-IMAPbase.
    for folder, path in files.items():
        box = mailbox.mbox(path)
        uids = sorted(int(m["X-UID"]) for m in box)
        want_uids = sorted(x["uid"] for x in b if x["user"] == "sam" and x["folder"] == folder)
        if uids != want_uids:
            fail(f"mbox: sam/{folder} holds UIDs {uids}, b has {want_uids}")
        if len(box) and not box[0]["X-IMAPbase"]:
            fail(f"mbox: sam/{folder}: the first message has no X-IMAPbase")
    # Every earlier message is somewhere, byte for byte: in a folder file or in the holding area.
    now, held = [], 0
    for dp, _, fns in os.walk(out):
        for fn in fns:
            if fn.startswith(".") or fn.endswith(".jsonl") or fn.startswith("journal.") or "/mail" not in "/" + os.path.relpath(dp, out) and "removed-by-source" not in dp:
                continue
            msgs = mbox_messages(open(os.path.join(dp, fn), "rb").read())
            now.extend(msgs)
            if "removed-by-source" in dp and not os.path.exists(os.path.join(dp, "journal.done")):
                held += len(msgs)
    now_set = set(now)
    for rel, data in before.items():
        for i, m in enumerate(mbox_messages(data)):
            # An incremental run rewrites nothing but X-IMAPbase; flags of earlier messages stay.
            if m not in now_set:
                fail(f"mbox: message {i} of {rel} of a's run is nowhere in the output")
    if held != expunged_in_b:
        fail(f"mbox: {held} messages cut out into the holding area, expected {expunged_in_b}")
    print(f"mbox: {len(files)} folder files as b's folders, {held} expunged messages in the holding area, "
          f"{len(before)} earlier files accounted for")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    snaps = os.path.join(args.source, "fixtures", "cyrus36-snapshots")
    a_dir, b_dir = os.path.join(snaps, "a"), os.path.join(snaps, "b")
    a = rc.read_jsonl(os.path.join(a_dir, "oracle.jsonl"))
    b = rc.read_jsonl(os.path.join(b_dir, "oracle.jsonl"))
    a_folders = {(r["user"], r["folder"]): r for r in rc.read_jsonl(os.path.join(a_dir, "oracle-folders.jsonl"))
                 if r["kind"] == "mail"}
    b_folders = {(r["user"], r["folder"]): r for r in rc.read_jsonl(os.path.join(b_dir, "oracle-folders.jsonl"))
                 if r["kind"] == "mail"}
    users = sorted({r["user"] for r in a})
    with tempfile.TemporaryDirectory(prefix="cyrconv-follow-") as work:
        out = os.path.join(work, "out")
        rc.convert(args, a_dir, out)
        # After cutover: a delivery into sam's INBOX and a folder of sam's own, then Dovecot uses it all.
        delivered = (b"From: late@example.org\nTo: sam@example.org\nSubject: delivered after cutover\n"
                     b"Message-ID: <late-1@example.org>\n\nhello\n")
        with open(os.path.join(out, "sam", "Maildir", "new", "1790000000.M1P1.newstore"), "wb") as f:
            f.write(delivered)
        own = (b"From: sam@example.org\nTo: sam@example.org\nSubject: my own folder\n"
               b"Message-ID: <own-1@example.org>\n\nmine\n")
        own_dir = os.path.join(out, "sam", "Maildir", ".Eigenes")
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(own_dir, d))
        with open(os.path.join(own_dir, "new", "1790000001.M2P1.newstore"), "wb") as f:
            f.write(own)
        crlf = lambda b_: hashlib.sha1(b_.replace(b"\n", b"\r\n")).hexdigest()  # noqa: E731
        foreign = {("sam", "INBOX", crlf(delivered)), ("sam", "Eigenes", crlf(own))}
        rc.use_in_place(args, out, users, work)
        after_use = os.path.join(work, "after-use")
        shutil.copytree(out, after_use, symlinks=True, copy_function=shutil.copy2)
        before_files = message_files(after_use, holding=False)

        # Without the option: nothing moves, the report says what would.
        plain = os.path.join(work, "plain")
        shutil.copytree(after_use, plain, symlinks=True, copy_function=shutil.copy2)
        rc.convert(args, b_dir, plain, report=os.path.join(work, "plain.json"))
        pr = json.load(open(os.path.join(work, "plain.json"), encoding="utf-8"))
        avail = [f for u in pr["users"] for f in u["findings"] if f["kind"] == "follow_source_available"]
        if not avail:
            fail("without --follow-source: no follow_source_available finding")
        if any(os.path.isdir(os.path.join(plain, u, "removed-by-source")) for u in users):
            fail("without --follow-source: something was moved to the holding area")

        report_path = os.path.join(work, "b.json")
        if rc.convert(args, b_dir, out, extra=["--follow-source"], report=report_path) != 0:
            fail("convert b --follow-source did not exit 0")
        report = json.load(open(report_path, encoding="utf-8"))
        kinds = {}
        for u in report["users"]:
            for f in u["findings"]:
                kinds[f["kind"]] = kinds.get(f["kind"], 0) + 1
                if f["severity"] == "error":
                    fail(f"{u['user']}: {f['kind']}: {f['detail']}")
        expunged_in_b = sum(1 for m in a if (m["user"], m["folder"]) in b_folders
                            and a_folders[(m["user"], m["folder"])]["uidvalidity"] ==
                            b_folders[(m["user"], m["folder"])]["uidvalidity"]
                            and not any(x["user"] == m["user"] and x["folder"] == m["folder"] and x["uid"] == m["uid"]
                                        for x in b))
        # Deleted in Cyrus: its mailbox id is no mail folder's in b (a renamed one keeps it).
        b_ids = {(r["user"], r["mailboxid"]) for r in b_folders.values()}
        deleted = {k for k, r in a_folders.items() if (k[0], r["mailboxid"]) not in b_ids and k not in b_folders}
        if not deleted:
            fail("the snapshots have no deleted folder: fixture changed?")
        want_kinds = {"renamed_folder": 1, "replaced_recreated_folder": 1}
        for k, n in want_kinds.items():
            if kinds.get(k) != n:
                fail(f"report: {kinds.get(k)} {k}, expected {n} ({kinds})")
        if kinds.get("moved_to_holding") != expunged_in_b + len(deleted):
            fail(f"report: {kinds.get('moved_to_holding')} moved_to_holding, expected {expunged_in_b} expunged messages "
                 f"+ {len(deleted)} deleted folders")

        # What Dovecot serves: exactly b, plus what the target received itself.
        served_path, folders_path = os.path.join(work, "served.jsonl"), os.path.join(work, "served-folders.jsonl")
        rc.dovecot(args, out, users, served_path, folders_path)
        served = rc.read_jsonl(served_path)
        served_folders = {(r["user"], r["folder"]): r for r in rc.read_jsonl(folders_path)}
        got = sorted((m["user"], m["folder"], m["sha1"], tuple(rc.flagset(m["flags"]))) for m in served
                     if (m["user"], m["folder"], m["sha1"]) not in foreign)
        want = sorted((m["user"], m["folder"], m["sha1"], tuple(rc.flagset(m["flags"]))) for m in b)
        for x in sorted(set(want) - set(got)):
            fail(f"served: missing {x}")
        for x in sorted(set(got) - set(want)):
            fail(f"served: not in b {x}")
        if len(got) != len(want):
            fail(f"served {len(got)} messages of the source, b has {len(want)}")
        for key in foreign:
            if sum(1 for m in served if (m["user"], m["folder"], m["sha1"]) == key) != 1:
                fail(f"served: what the target received itself is not served once: {key}")
        folder_names = {k for k in served_folders}
        want_folders = set(b_folders) | {("sam", "Eigenes")}
        if folder_names != want_folders:
            fail(f"served folders {sorted(folder_names ^ want_folders)} differ from b's (+ sam/Eigenes)")
        # Kept, renamed (Cyrus keeps it), new or re-created: each served with b's UIDVALIDITY.
        for key, row in b_folders.items():
            s_ = served_folders.get(key)
            if not s_ or s_.get("uidvalidity") != row["uidvalidity"]:
                fail(f"{key}: served with UIDVALIDITY {s_ and s_.get('uidvalidity')}, b has {row['uidvalidity']}")
        rc.verify(args, b_dir, out, "maildir", "follow-source")

        # Nothing is gone from disk: every file that was in the Maildirs is in the Maildirs or in the
        # holding area, byte for byte; the holding area holds exactly what left the view.
        now_files = message_files(out, holding=False)
        held = message_files(out, holding=True)
        for base, (path, data) in before_files.items():
            where = now_files.get(base) or held.get(base)
            if not where:
                fail(f"{path}: gone from disk")
            elif where[1] != data:
                fail(f"{path}: bytes changed ({where[0]})")
        gone = [m for m in a if (m["user"], m["folder"]) in deleted]
        recreated = [m for m in a if (m["user"], m["folder"]) in b_folders
                     and a_folders[(m["user"], m["folder"])]["uidvalidity"] != b_folders[(m["user"], m["folder"])]["uidvalidity"]]
        if not recreated:
            fail("the snapshots have no re-created folder: fixture changed?")
        if len(held) != expunged_in_b + len(gone) + len(recreated):
            fail(f"{len(held)} files in the holding area, expected {expunged_in_b} expunged + {len(gone)} of deleted "
                 f"+ {len(recreated)} of re-created folders")
        if not held:
            fail("nothing in the holding area")
        print(f"follow-source: {len(served)} messages served as b (+{len(foreign)} the target's own), "
              f"{len(held)} in the holding area, {len(before_files)} earlier files all on disk")

        # Killed at many points (the first ones are the moves), then run again: the same tree.
        want_tree = normalized(rc.tree(out))
        killed = mid_moves = 0
        points = [1, 2, 3, 4, 5, 7, 10, 14, 20, 28, 40, 60]
        for k in points:
            run = os.path.join(work, "kill")
            shutil.rmtree(run, ignore_errors=True)
            shutil.copytree(after_use, run, symlinks=True, copy_function=shutil.copy2)
            code = rc.convert(args, b_dir, run, extra=["--follow-source"], kill_after=k)
            killed += code == -9
            mid_moves += any(os.path.exists(os.path.join(run, u, "journal", "follow-source.pending")) for u in users)
            rc.convert(args, b_dir, run, extra=["--follow-source"])
            rc.compare_trees(want_tree, normalized(rc.tree(run)), f"follow-source killed after {k} commits")
        if killed < len(points) // 2 or not mid_moves:
            fail(f"{killed} of {len(points)} runs killed, {mid_moves} in the middle of moves: the test hook does not work")
        print(f"follow-source: {len(points)} kill points ({killed} kills, {mid_moves} during the moves)")
        check_mbox(args, work, a_dir, b_dir, b, b_folders, expunged_in_b, deleted)
    if rc.problems:
        print(f"{len(rc.problems)} problem(s)")
        return 1
    print("the cutover run follows the source")
    return 0


if __name__ == "__main__":
    sys.exit(main())
