#!/usr/bin/env python3
"""End-to-end check of `cyrconv convert` against what real Cyrus served.

For every fixture written by real Cyrus 3.6 (fixtures/*/oracle.jsonl):
  * Maildir++: convert, let real Dovecot 2.3 serve the output (tools/dovecot-oracle), and compare
    folder by folder and message by message with the Cyrus oracle: UIDs, UIDVALIDITY, UIDNEXT,
    INTERNALDATE, flags and keywords, RFC822.SIZE, SHA-1 of BODY[], subscriptions, POP3 UIDLs.
  * mbox: convert and read every folder file back with Python's mailbox module; undo exactly the
    documented mboxrd transformations and compare the bytes' SHA-1 and the flags with the oracle.
Every difference must be one the convert report announces (a repaired message, whose original
must be in the quarantine tree; keywords beyond Maildir's 26 letters, which the manifest keeps).
The accounting of every folder must add up. Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import hashlib
import json
import mailbox
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

FORMAIL = shutil.which("formail")
FLAG_NAMES = {"\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft"}
problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run(cmd, ok=(0,)):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in ok:
        print(p.stdout[-4000:])
        print(p.stderr[-4000:])
        raise SystemExit(f"command failed ({p.returncode}): {' '.join(cmd)}")
    return p


# Fixtures read through their imapd.conf (--imapd-conf, --root): the server's settings, the
# unixhierarchysep: no of cyrus36-dotsep above all, come from there. The others get --spool/--config.
BY_IMAPD_CONF = {"cyrus36-legacy", "cyrus36-dotsep"}


def source_args(args, fixture, work):
    src = os.path.join(args.source, "fixtures", fixture)
    if fixture not in BY_IMAPD_CONF:
        return ["--spool", os.path.join(src, "spool"), "--config", os.path.join(src, "config")]
    # The fixture's copy names its paths @ROOT@/config, @ROOT@/spool: as the server's absolute
    # /config and /spool they lie below --root (the fixture directory).
    conf = os.path.join(work, "imapd.conf")
    with open(os.path.join(src, "etc", "imapd.conf"), encoding="utf-8") as f:
        text = f.read().replace("@ROOT@", "")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(text)
    return ["--imapd-conf", conf, "--root", src]


def convert(args, fixture, fmt, out):
    report = os.path.join(out, "report.json")
    run([args.cyrconv, "convert", *source_args(args, fixture, out),
         "--format", fmt, "--out", os.path.join(out, "tree"), "--report", report], ok=(0, 1))
    return json.load(open(report, encoding="utf-8")), os.path.join(out, "tree")


def check_accounting(report, label):
    for u in report["users"]:
        for f in u["folders"]:
            c = f["count"]
            if f["action"] == "deleted":
                continue
            total = c["written"] + c["repaired"] + c["quarantined"] + c["missing"] + c["not_converted"] + c["skipped_deleted"]
            if f["action"] == "recover_orphans":
                if c["orphans"] != c["orphans_recovered"] + c["orphans_quarantined"]:
                    fail(f"{label}: {f['name']}: orphan accounting {c}")
            elif total != c["messages"]:
                fail(f"{label}: {u['user']}/{f['name']}: {c['messages']} present but {total} accounted for: {c}")
            if c["not_converted"]:
                fail(f"{label}: {u['user']}/{f['name']}: {c['not_converted']} messages not converted")


def folder_kinds(fixture_dir):
    """(user, folder) -> row of oracle-folders, and the internal names of shared folders."""
    rows = read_jsonl(os.path.join(fixture_dir, "oracle-folders.jsonl"))
    by_user_folder = {(r["user"], r["folder"]): r for r in rows}
    return by_user_folder, rows


def report_folders(report):
    """internal name -> (user record, folder record) of the convert report."""
    out = {}
    for u in report["users"]:
        for f in u["folders"]:
            if f["action"] in ("mail_folder", "export_calendar", "export_addressbook"):
                out[f["name_raw"]] = (u, f)
    return out


def repaired_uids(folder):
    return {m["uid"] for m in folder["messages"] if m["action"] == "repair"}


def check_quarantine_original(tree, user, folder, uid, want_sha1, label):
    side = folder["target"].replace("%", "%25").replace("/", "%2F") or "_"
    path = os.path.join(tree, user["output"], "quarantine", side, f"original-{uid}.eml")
    try:
        got = hashlib.sha1(open(path, "rb").read()).hexdigest()
    except OSError as e:
        fail(f"{label}: repaired uid {uid}: original not kept: {e}")
        return
    if got != want_sha1:
        fail(f"{label}: repaired uid {uid}: kept original has SHA-1 {got}, Cyrus served {want_sha1}")


def maildir_keywords(tree, user, folder):
    rel = folder["output"]
    path = os.path.join(tree, rel, "dovecot-keywords")
    if not os.path.exists(path):
        return set()
    return {line.split(" ", 1)[1].rstrip("\n") for line in open(path, encoding="utf-8") if " " in line}


def manifest_rows(tree, user, folder):
    side = folder["target"].replace("%", "%25").replace("/", "%2F") or "_"
    path = os.path.join(tree, user["output"], "manifests", side + ".jsonl")
    return {r["uid"]: r for r in read_jsonl(path)}


def check_caret_assumption(args, fixture_dir):
    """Without the server's setting the '^' is read as '.', and the report says so; given
    with --unixhierarchysep, the report says what was given."""
    spool, config = os.path.join(fixture_dir, "spool"), os.path.join(fixture_dir, "config")
    for extra, kind, name in (([], "hierarchy_separator_assumed", "caret.name"),
                              (["--unixhierarchysep", "no"], "hierarchy_separator_given", "caret^name")):
        p = run([args.cyrconv, "scan", "--spool", spool, "--config", config, "--json", *extra])
        scan = json.loads(p.stdout)
        if kind not in {f["kind"] for f in scan["findings"]}:
            fail(f"cyrus36-dotsep scan {' '.join(extra)}: no {kind} finding")
        names = {f["name"] for u in scan["users"] for f in u["folders"]}
        if name not in names:
            fail(f"cyrus36-dotsep scan {' '.join(extra)}: no folder {name!r} among {sorted(names)}")


def check_maildir(args, fixture, work):
    label = f"{fixture} maildir"
    fixture_dir = os.path.join(args.source, "fixtures", fixture)
    report, tree = convert(args, fixture, "maildir", work)
    check_accounting(report, label)
    folders, folder_rows = folder_kinds(fixture_dir)
    by_raw = report_folders(report)
    oracle = read_jsonl(os.path.join(fixture_dir, "oracle.jsonl"))
    users = sorted({m["user"] for m in oracle})

    served = os.path.join(work, "dovecot.jsonl")
    served_folders = os.path.join(work, "dovecot-folders.jsonl")
    pop3 = os.path.join(work, "pop3.jsonl")
    harness_users = users + (["_shared"] if any(r["kind"] == "shared" for r in folder_rows) else [])
    run([os.path.join(args.source, "tools", "dovecot-oracle"), "--format", "maildir", "--root", tree,
         "--users", ",".join(harness_users), "--out", served, "--folders-out", served_folders, "--pop3-out", pop3,
         "--apply-keywords"])
    actual = {(m["user"], m["folder"], m["uid"]): m for m in read_jsonl(served)}
    actual_folders = {(r["user"], r["folder"]): r for r in read_jsonl(served_folders)}

    matched = set()
    compared = 0
    beyond_letters = set()  # users with a message whose keyword has no Maildir letter
    for m in oracle:
        frow = folders.get((m["user"], m["folder"]))
        if frow is None:
            fail(f"{label}: oracle folder {m['user']}/{m['folder']} has no oracle-folders row")
            continue
        internal = frow["internal_name"]
        if internal not in by_raw:
            fail(f"{label}: {internal} is not in the convert report")
            continue
        user, folder = by_raw[internal]
        shared = frow["kind"] == "shared"
        a_user = "_shared" if shared else m["user"]
        key = (a_user, folder["target"], m["uid"])
        got = actual.get(key)
        where = f"{label}: {m['user']}/{m['folder']} uid {m['uid']}"
        if got is None:
            fail(f"{where}: not served by Dovecot as {key}")
            continue
        matched.add(key)
        compared += 1
        if not folder.get("renamed") and not shared and folder["target"] != m["folder"]:
            fail(f"{where}: target folder {folder['target']!r}, Cyrus served {m['folder']!r}")
        for k in ("uidvalidity", "uidnext", "internaldate"):
            if got[k] != m[k]:
                fail(f"{where}: {k}: Cyrus {m[k]}, Dovecot {got[k]}")
        if not shared:
            if got["subscribed"] != m["subscribed"]:
                fail(f"{where}: subscribed: Cyrus {m['subscribed']}, Dovecot {got['subscribed']}")
            # Maildir carries 26 keywords per folder in file names, apply-keywords.sh (run by the
            # harness with real doveadm, as README says) the rest: Dovecot serves every one.
            want = set(m["flags"])
            letters = maildir_keywords(tree, user, folder)
            if any(f not in FLAG_NAMES and f not in letters for f in want):
                beyond_letters.add(user["output"])
            if set(got["flags"]) != want:
                fail(f"{where}: flags: Cyrus {sorted(want)}, Dovecot {sorted(got['flags'])}")
            manifest = manifest_rows(tree, user, folder).get(m["uid"])
            if manifest is None:
                fail(f"{where}: no manifest line")
            else:
                mflags = set(manifest["flags"]) | set(manifest["keywords"])
                if mflags != set(m["flags"]):
                    fail(f"{where}: manifest flags {sorted(mflags)}, Cyrus {sorted(m['flags'])}")
                if manifest["sha1"] != m["sha1"] or manifest["size"] != m["size"]:
                    fail(f"{where}: manifest sha1/size differ from Cyrus")
        if m["uid"] in repaired_uids(folder):
            check_quarantine_original(tree, user, folder, m["uid"], m["sha1"], where)
        else:
            for k in ("size", "sha1"):
                if got[k] != m[k]:
                    fail(f"{where}: {k}: Cyrus {m[k]}, Dovecot {got[k]}")
    for key in actual:
        if key not in matched:
            fail(f"{label}: Dovecot serves {key}, which Cyrus did not")

    # Folder level: every mail folder the users saw, with its UIDVALIDITY, UIDNEXT and count.
    for r in folder_rows:
        if r["kind"] != "mail":
            continue
        user, folder = by_raw[r["internal_name"]]
        got = actual_folders.get((r["user"], folder["target"]))
        if got is None:
            fail(f"{label}: folder {r['user']}/{r['folder']} not listed by Dovecot")
            continue
        for k in ("uidvalidity", "uidnext", "exists", "subscribed"):
            if got[k] != r[k]:
                fail(f"{label}: folder {r['user']}/{r['folder']}: {k}: Cyrus {r[k]}, Dovecot {got[k]}")

    # POP3: Dovecot announces Cyrus's UIDL (UIDVALIDITY.UID) for the INBOX.
    pops = read_jsonl(pop3)
    inbox = {(m["user"], m["uid"]): m for m in oracle if m["folder"] == "INBOX"}
    for p in pops:
        if p["user"] == "_shared":
            continue
        m = inbox.get((p["user"], p["uid"]))
        if m is None:
            fail(f"{label}: POP3 {p['user']} uid {p['uid']} not in the Cyrus INBOX")
        elif p["uidl"] != f"{m['uidvalidity']}.{m['uid']}":
            fail(f"{label}: POP3 UIDL {p['uidl']} for {p['user']} uid {p['uid']}, Cyrus's is {m['uidvalidity']}.{m['uid']}")
    # Users whose keywords needed doveadm have the script; a re-run (incremental, nothing new)
    # writes it again the same.
    scripts = {}
    for u in report["users"]:
        path = os.path.join(tree, u["output"], "apply-keywords.sh")
        if os.path.exists(path):
            scripts[path] = open(path, encoding="utf-8").read()
        elif u["output"] in beyond_letters:
            fail(f"{label}: {u['output']} has keywords beyond 26 letters but no apply-keywords.sh")
    if scripts:
        run([args.cyrconv, "convert", *source_args(args, fixture, work),
             "--format", "maildir", "--out", tree, "--quiet"], ok=(0, 1))
        for path, text in scripts.items():
            if open(path, encoding="utf-8").read() != text:
                fail(f"{label}: {path} differs after an incremental re-run")
    if fixture == "cyrus36-dotsep":
        check_caret_assumption(args, fixture_dir)
    dav = check_dav_exports(args, report, tree, label)
    print(f"{label}: {compared} messages compared with real Dovecot, {len(pops)} POP3 UIDLs, {dav} DAV exports parsed")


DAV_PARSE = r"""
import sys, icalendar, vobject
kind, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if kind == "ics":
    cal = icalendar.Calendar.from_ical(data)
    uids = [str(c.get("UID")) for c in cal.walk() if c.name in ("VEVENT", "VTODO", "VJOURNAL")]
else:
    uids = [str(card.uid.value) for card in vobject.readComponents(data.decode("utf-8"))]
print("\n".join(sorted(uids)))
"""


def check_dav_exports(args, report, tree, label):
    """Every exported calendar and addressbook parses with an independent parser (Debian's
    python3-icalendar and python3-vobject) and holds exactly the source collection's objects."""
    checked = 0
    for u in report["users"]:
        for f in u["folders"]:
            if f["action"] not in ("export_calendar", "export_addressbook"):
                continue
            kind = "ics" if f["action"] == "export_calendar" else "vcf"
            p = subprocess.run(["/usr/bin/python3", "-c", DAV_PARSE, kind, os.path.join(tree, f["output"])],
                               capture_output=True, text=True)
            if p.returncode != 0:
                fail(f"{label}: {f['output']} does not parse as {kind}: {p.stderr[-500:]}")
                continue
            got = sorted(x for x in p.stdout.splitlines() if x)
            if len(got) != f["count"]["written"]:
                fail(f"{label}: {f['output']}: {len(got)} objects, {f['count']['written']} resources written")
            checked += 1
    return checked


def mbox_undo(raw, changes):
    """The Cyrus bytes back from one mbox message as written: drop the metadata fields cyrconv
    added at the end of the header, restore renamed fields, undo mboxrd quoting, LF -> CRLF,
    and drop a final line end the manifest says was added."""
    has_body = b"\n\n" in raw
    head, _, body = raw.partition(b"\n\n") if has_body else (raw, b"", b"")
    lines = head.split(b"\n")
    if not has_body and lines and lines[-1] == b"":
        lines.pop()
    ours = (b"X-IMAPbase:", b"X-UID:", b"Status:", b"X-Status:", b"X-Keywords:")
    # cyrconv's fields are the last lines of the header; the message's own were renamed.
    while lines and lines[-1].startswith(ours):
        lines.pop()
    lines = [re.sub(rb"^X-Cyrconv-Orig-", b"", l) for l in lines]
    text = b"".join(l + b"\n" for l in lines)
    if has_body:
        text += b"\n" + body
    text = re.sub(rb"(?m)^>(>*From )", rb"\1", text)
    if any("added the line end" in c for c in changes) and text.endswith(b"\n"):
        text = text[:-1]
    return text.replace(b"\n", b"\r\n")


def check_mbox(args, fixture, work):
    label = f"{fixture} mbox"
    fixture_dir = os.path.join(args.source, "fixtures", fixture)
    report, tree = convert(args, fixture, "mbox", work)
    check_accounting(report, label)
    folders, _ = folder_kinds(fixture_dir)
    by_raw = report_folders(report)
    oracle = read_jsonl(os.path.join(fixture_dir, "oracle.jsonl"))
    by_folder = defaultdict(list)
    for m in oracle:
        by_folder[folders[(m["user"], m["folder"])]["internal_name"]].append(m)
    compared = 0
    for internal, msgs in by_folder.items():
        user, folder = by_raw[internal]
        box = mailbox.mbox(os.path.join(tree, folder["output"]), create=False)
        got = {}
        for key in box.keys():
            msg = box.get_message(key)
            got[int(msg["X-UID"])] = (msg, box.get_bytes(key))
        want_uids = {m["uid"] for m in msgs}
        if set(got) != want_uids:
            fail(f"{label}: {internal}: UIDs {sorted(got)}, Cyrus {sorted(want_uids)}")
        if FORMAIL:  # procmail's reader, as README says to run it on this output
            with open(os.path.join(tree, folder["output"]), "rb") as f:
                n = subprocess.run([FORMAIL, "-m", "1", "-s", "echo", "x"], stdin=f, capture_output=True).stdout.count(b"x")
            if n != len(got):
                fail(f"{label}: {internal}: formail -m 1 -s counts {n} messages, Python's mailbox {len(got)}")
        repaired = repaired_uids(folder)
        manifest = manifest_rows(tree, user, folder)
        for m in msgs:
            if m["uid"] not in got:
                continue
            msg, raw = got[m["uid"]]
            where = f"{label}: {m['user']}/{m['folder']} uid {m['uid']}"
            compared += 1
            flags = set(msg.get_flags())
            shared = folders[(m["user"], m["folder"])]["kind"] == "shared"
            if not shared:
                want = {"R" if "\\Seen" in m["flags"] else None, "A" if "\\Answered" in m["flags"] else None,
                        "F" if "\\Flagged" in m["flags"] else None, "D" if "\\Deleted" in m["flags"] else None,
                        "T" if "\\Draft" in m["flags"] else None, "O"} - {None}
                if flags != want:
                    fail(f"{where}: mailbox flags {sorted(flags)}, want {sorted(want)}")
                keywords = set((msg["X-Keywords"] or "").split())
                want_kw = {f for f in m["flags"] if f not in FLAG_NAMES}
                if keywords != want_kw:
                    fail(f"{where}: X-Keywords {sorted(keywords)}, Cyrus {sorted(want_kw)}")
            if m["uid"] in repaired:
                check_quarantine_original(tree, user, folder, m["uid"], m["sha1"], where)
            elif hashlib.sha1(mbox_undo(raw, manifest.get(m["uid"], {}).get("changes", []))).hexdigest() != m["sha1"]:
                fail(f"{where}: bytes after undoing mboxrd do not give Cyrus's SHA-1")
    print(f"{label}: {compared} messages read back with Python's mailbox module")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--fixtures", default="cyrus36-default,cyrus36-legacy,cyrus36-oldindex,cyrus36-dotsep")
    ap.add_argument("--formats", default="maildir,mbox")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cyrconv-e2e-") as tmp:
        for fixture in args.fixtures.split(","):
            for fmt in args.formats.split(","):
                work = os.path.join(tmp, fixture + "-" + fmt)
                os.makedirs(work)
                (check_maildir if fmt == "maildir" else check_mbox)(args, fixture, work)
    if problems:
        print(f"{len(problems)} mismatches")
        return 1
    print("convert end to end: every message matches what Cyrus served")
    return 0


if __name__ == "__main__":
    sys.exit(main())
