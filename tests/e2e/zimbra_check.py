#!/usr/bin/env python3
"""End-to-end check of `cyrconv convert --format zimbra-tgz` against what real Cyrus served.

For every fixture written by real Cyrus 3.6 (fixtures/*/oracle.jsonl):
  * every OUT/<user>/zimbra.tgz is read back with Python's tarfile (an independent reader) and
    every oracle message is found at <folder path>/<uid>.eml with mtime = INTERNALDATE, the
    owner-write bit set exactly when \\Seen, and Cyrus's bytes (SHA-1); a repaired message has
    its original in quarantine/, a quarantined one only there; nothing else is in the archive;
  * folder paths are legal Zimbra names and unique without regard to case;
  * the archive holds only .eml entries; each calendar and address book is its own .ics/.vcf
    file that parses with python3-icalendar and python3-vobject, one object per resource;
  * zimbra-flags.zmm uses only zmmailbox commands and options ZMailboxUtil declares, and running
    it against a model of the imported mailbox (messages found by Message-ID within a folder,
    as Zimbra's search does) gives every message Cyrus's flags and keywords, except those the
    report says it cannot reach;
  * the accounting adds up, and a second run gives byte-identical archives and command files.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import email.parser
import email.policy
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections import defaultdict

problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def convert(args, fixture, out):
    src = os.path.join(args.source, "fixtures", fixture)
    report = os.path.join(out, "report.json")
    p = subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(src, "spool"), "--config",
                        os.path.join(src, "config"), "--format", "zimbra-tgz", "--out", os.path.join(out, "tree"),
                        "--report", report, "--quiet"], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        print(p.stdout[-4000:], p.stderr[-4000:])
        raise SystemExit(f"convert failed ({p.returncode}) for {fixture}")
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
            if c["not_converted"] and f["action"] != "skip":
                fail(f"{label}: {u['user']}/{f['name']}: {c['not_converted']} messages not converted")


# Zimbra's folder name rules (MailItem.validateItemName, Folder.java): no ':' '"' '/' or control
# characters, no trailing space, not "." or "..", at most 255 UTF-16 units per level.
def legal_zimbra_level(level):
    if level in ("", ".", "..") or level != level.rstrip(" "):
        return False
    if any(c in ':"/' or ord(c) < 0x20 or ord(c) == 0x7F or c in "\ufffe\uffff" for c in level):
        return False
    return len(level.encode("utf-16-le")) // 2 <= 255


def zmm_tokens(line):
    """Tokenizes like zmmailbox's StringUtil.parseLine: blanks separate, double quotes group,
    backslash escapes the next character."""
    out, cur, quoted, escaped, started = [], [], False, False, False
    for c in line:
        if escaped:
            cur.append(c)
            escaped = False
        elif c == "\\":
            escaped, started = True, True
        elif c == '"':
            quoted = not quoted
            started = True
        elif c.isspace() and not quoted:
            if started:
                out.append("".join(cur))
            cur, started = [], False
        else:
            cur.append(c)
            started = True
    if quoted or escaped:
        raise ValueError("unterminated quote or escape")
    if started:
        out.append("".join(cur))
    return out


# The commands and options ZMailboxUtil declares for them (enum Command: name, min/max args,
# options), limited to those this file may use.
ZMM_COMMANDS = {
    "createTag": ({}, 1, 1),
    "createFolder": ({"-V": {"message", "appointment", "contact"}}, 1, 1),
    "search": ({"-t": {"message"}, "-l": None}, 1, 1),
    "modifyItemFlags": ({}, 2, 2),
    "tagMessage": ({}, 3, 3),
}


def parse_zmm_line(line):
    toks = zmm_tokens(line)
    cmd, rest = toks[0], toks[1:]
    if cmd not in ZMM_COMMANDS:
        raise ValueError(f"command {cmd} is not one zimbra-flags.zmm may use")
    opts_allowed, lo, hi = ZMM_COMMANDS[cmd]
    opts, args = {}, []
    i = 0
    while i < len(rest):
        if rest[i] in opts_allowed:
            allowed = opts_allowed[rest[i]]
            val = rest[i + 1]
            if allowed is not None and val not in allowed:
                raise ValueError(f"{cmd} {rest[i]} {val}: value not allowed")
            if rest[i] == "-l" and not (val.isdigit() and 1 <= int(val) <= 1000):
                raise ValueError(f"search -l {val}: ZMailboxUtil takes 1-1000")
            opts[rest[i]] = val
            i += 2
        elif rest[i].startswith("-") and len(rest[i]) == 2:
            raise ValueError(f"{cmd}: option {rest[i]} not allowed")
        else:
            args.append(rest[i])
            i += 1
    if not lo <= len(args) <= hi:
        raise ValueError(f"{cmd}: {len(args)} arguments")
    return cmd, opts, args


def parse_query(q):
    """in:"/path" msgid:"id" -> (path, id)."""
    import re
    m = re.fullmatch(r'in:"(/[^"]*)" msgid:"([^"]+)"', q)
    if not m:
        raise ValueError(f"query {q!r} is not in:\"/path\" msgid:\"id\"")
    return m.group(1)[1:], m.group(2)


def hit_range(ids):
    if ids == "#1":
        return 1
    if ids.startswith("#1-") and ids[3:].isdigit():
        return int(ids[3:])
    raise ValueError(f"item ids {ids!r}")


FLAG_LETTER = {"\\Flagged": "f", "\\Answered": "r", "\\Deleted": "x"}


def wanted_zimbra_state(flags):
    """Cyrus flags/keywords -> (Zimbra flag letters, tags) after import + zmm."""
    letters = set()
    tags = set()
    for f in flags:
        if f in FLAG_LETTER:
            letters.add(FLAG_LETTER[f])
        elif f == "\\Draft":
            tags.add("Draft (Cyrus)")
        elif f == "\\Seen":
            pass
        elif f.lower() == "$forwarded":
            letters.add("w")
        else:
            tags.add(f.replace(":", "_").replace("\\", "_").strip())
    if "\\Seen" not in flags:
        letters.add("u")
    return letters, tags


def message_id(data):
    msg = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(data, headersonly=True)
    v = msg.get("Message-ID")
    if v is None:
        return ""
    v = " ".join(str(v).split()).strip()
    if v.startswith("<"):
        v = v[1:]
    if v.endswith(">"):
        v = v[:-1]
    return v


def searchable(v):
    return bool(v) and not any(c.isspace() or c in '"\\' or ord(c) < 0x20 for c in v)


DAV_PARSE = r"""
import sys, icalendar, vobject
kind, path = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
if kind == "ics":
    cals = icalendar.Calendar.from_ical(data, multiple=True)
    for cal in cals:
        assert [c for c in cal.walk() if c.name in ("VEVENT", "VTODO", "VJOURNAL")], "a calendar object without components"
    print(len(cals))
else:
    print(len(list(vobject.readComponents(data.decode("utf-8")))))
"""


def check_fixture(args, fixture, work):
    label = f"{fixture} zimbra-tgz"
    fixture_dir = os.path.join(args.source, "fixtures", fixture)
    report, tree = convert(args, fixture, os.path.join(work, "a"))
    report2, tree2 = convert(args, fixture, os.path.join(work, "b"))
    check_accounting(report, label)
    if report["profile"] != "zimbra":
        fail(f"{label}: profile {report['profile']}: zimbra-tgz must default to --profile zimbra")
    folder_rows = {(r["user"], r["folder"]): r for r in read_jsonl(os.path.join(fixture_dir, "oracle-folders.jsonl"))}
    oracle = read_jsonl(os.path.join(fixture_dir, "oracle.jsonl"))
    by_raw = {}
    for u in report["users"]:
        for f in u["folders"]:
            if f["action"] in ("mail_folder", "export_calendar", "export_addressbook"):
                by_raw[f["name_raw"]] = (u, f)

    # Determinism: the same snapshot gives the same bytes.
    for u in report["users"]:
        for name in ("zimbra.tgz", "zimbra-flags.zmm"):
            a, b = os.path.join(tree, u["output"], name), os.path.join(tree2, u["output"], name)
            if not os.path.exists(a):
                fail(f"{label}: {u['output']}/{name} missing")
            elif open(a, "rb").read() != open(b, "rb").read():
                fail(f"{label}: {u['output']}/{name} differs between two runs of the same snapshot")

    # Read every archive back.
    entries = {}  # (output root, entry name) -> member info
    for u in report["users"]:
        path = os.path.join(tree, u["output"], "zimbra.tgz")
        if not os.path.exists(path):
            continue
        with tarfile.open(path, "r:gz", encoding="utf-8") as t:
            for m in t:
                if not m.isfile():
                    fail(f"{label}: {u['output']}: member {m.name} is not a regular file")
                    continue
                data = t.extractfile(m).read()
                if (m.uid, m.gid, m.uname, m.gname) != (0, 0, "", ""):
                    fail(f"{label}: {m.name}: owner {m.uid}/{m.gid}/{m.uname}/{m.gname}: machine-dependent")
                entries[(u["output"], m.name)] = {"mtime": m.mtime, "mode": m.mode, "data": data, "user": u["user"]}

    # Folder paths: legal for Zimbra and unique without regard to case, per user.
    for u in report["users"]:
        folders = {os.path.dirname(n) for (root, n) in entries if root == u["output"]}
        for f in u["folders"]:
            if f.get("target") and f["action"] in ("mail_folder", "export_calendar", "export_addressbook", "recover_orphans"):
                folders.add(f["target"])
        folded = defaultdict(set)
        for p in folders:
            for level in p.split("/"):
                if not legal_zimbra_level(level):
                    fail(f"{label}: {u['output']}: folder {p!r}: level {level!r} is not a legal Zimbra name")
            folded[p.casefold()].add(p)
        for k, v in folded.items():
            if len(v) > 1:
                fail(f"{label}: {u['output']}: folders {sorted(v)} differ only in case")

    # Every oracle message where the report says it went.
    seen_entries = set()
    expected_state = {}  # (root, entry) -> (letters, tags)
    compared = 0
    for m in oracle:
        frow = folder_rows.get((m["user"], m["folder"]))
        if frow is None or frow["internal_name"] not in by_raw:
            fail(f"{label}: {m['user']}/{m['folder']}: not in the convert report")
            continue
        u, f = by_raw[frow["internal_name"]]
        where = f"{label}: {m['user']}/{m['folder']} uid {m['uid']}"
        actions = {x["uid"]: x["action"] for x in f["messages"]}
        action = actions.get(m["uid"], "write")
        side = f["target"].replace("%", "%25").replace("/", "%2F") or "_"
        qdir = os.path.join(tree, u["output"], "quarantine", side)
        key = (u["output"], f"{f['target']}/{m['uid']}.eml")
        if action in ("quarantine",):
            if (key in entries):
                fail(f"{where}: quarantined but in the archive")
            q = os.path.join(qdir, f"quarantined-{m['uid']}.eml")
            if not os.path.exists(q) or hashlib.sha1(open(q, "rb").read()).hexdigest() != m["sha1"]:
                fail(f"{where}: quarantined original missing or not Cyrus's bytes")
            continue
        e = entries.get(key)
        if e is None:
            fail(f"{where}: no archive entry {key[1]}")
            continue
        seen_entries.add(key)
        compared += 1
        if e["mtime"] != m["internaldate"]:
            fail(f"{where}: mtime {e['mtime']}, INTERNALDATE {m['internaldate']}")
        seen = "\\Seen" in m["flags"]
        if frow["kind"] == "mail" and bool(e["mode"] & 0o200) != seen:
            fail(f"{where}: mode {oct(e['mode'])}, but \\Seen is {seen}")
        if action == "repair":
            o = os.path.join(qdir, f"original-{m['uid']}.eml")
            if not os.path.exists(o) or hashlib.sha1(open(o, "rb").read()).hexdigest() != m["sha1"]:
                fail(f"{where}: repaired, but the original kept is missing or not Cyrus's bytes")
        elif hashlib.sha1(e["data"]).hexdigest() != m["sha1"]:
            fail(f"{where}: archive bytes are not Cyrus's (SHA-1)")
        if frow["kind"] == "mail":
            expected_state[key] = (wanted_zimbra_state(m["flags"]), f["target"])

    # Calendars and contacts are never archive entries (ArchiveFormatter closes the tar stream
    # after an .ics entry): each collection is its own file, posted into its own folder.
    dav = 0
    for key, e in entries.items():
        name = key[1]
        if not name.endswith(".eml"):
            fail(f"{label}: archive entry {key}: only .eml entries belong in zimbra.tgz")
        elif key not in seen_entries and "/Recovered-Orphans/" not in name + "/":
            fail(f"{label}: archive entry {key} is not a message Cyrus served")
    for u in report["users"]:
        for f in u["folders"]:
            if f["action"] not in ("export_calendar", "export_addressbook"):
                continue
            want = f["count"]["written"]
            path = os.path.join(tree, f["output"])
            if want == 0:
                continue
            kind = "ics" if f["action"] == "export_calendar" else "vcf"
            if not f["output"].endswith("." + kind) or not os.path.exists(path):
                fail(f"{label}: {u['user']}/{f['name']}: collection file {f['output']} missing")
                continue
            # Debian's python3-icalendar and python3-vobject, as tools/bootstrap installs them.
            p = subprocess.run(["/usr/bin/python3", "-c", DAV_PARSE, kind, path], capture_output=True, text=True)
            if p.returncode != 0:
                fail(f"{label}: {f['output']} does not parse: {p.stderr[-500:]}")
            elif int(p.stdout.strip() or 0) != want:
                fail(f"{label}: {f['output']}: {p.stdout.strip()} objects, report says {want} written")
            dav += want
    for u in report["users"]:
        for f in u["folders"]:
            n = sum(1 for (root, name) in entries if root == u["output"] and f.get("target")
                    and os.path.dirname(name) == f["target"])
            c = f["count"]
            want = c["written"] + c["repaired"] + (c["orphans_recovered"] if f["action"] == "recover_orphans" else 0)
            if f["action"] in ("mail_folder", "recover_orphans") and n != want:
                fail(f"{label}: {u['user']}/{f['name']}: {n} archive entries, report says {want} written")

    # zimbra-flags.zmm: only documented commands; run against a model of the imported mailbox.
    scripted = 0
    for u in report["users"]:
        path = os.path.join(tree, u["output"], "zimbra-flags.zmm")
        if not os.path.exists(path):
            continue
        # The mailbox after the import: per message its folder, Message-ID, flags (u from the mode).
        box = {}
        for (root, name), e in entries.items():
            if root != u["output"] or not name.endswith(".eml"):
                continue
            box[name] = {"folder": os.path.dirname(name), "msgid": message_id(e["data"]),
                         "letters": set() if e["mode"] & 0o200 else {"u"}, "tags": set()}
        tags, hits = set(), []
        lines = open(path, encoding="utf-8").read().splitlines()
        for n, line in enumerate(lines, 1):
            try:
                cmd, opts, a = parse_zmm_line(line)
                if cmd == "createTag":
                    tags.add(a[0])
                elif cmd == "createFolder":
                    pass
                elif cmd == "search":
                    folder, mid = parse_query(a[0])
                    hits = sorted(k for k, v in box.items() if v["folder"] == folder and v["msgid"] == mid)
                    hits = hits[:int(opts.get("-l", "25"))]
                elif cmd == "modifyItemFlags":
                    count = hit_range(a[0])
                    if count > len(hits) or set(a[1]) - set("ufrwx"):
                        raise ValueError(f"modifyItemFlags {a}: {len(hits)} hits")
                    for k in hits[:count]:
                        box[k]["letters"] = set(a[1])
                elif cmd == "tagMessage":
                    count = hit_range(a[0])
                    if a[2] != "1" or a[1] not in tags or count > len(hits):
                        raise ValueError(f"tagMessage {a}: tag not created or {len(hits)} hits")
                    for k in hits[:count]:
                        box[k]["tags"].add(a[1])
                    scripted += 1
            except (ValueError, IndexError) as ex:
                fail(f"{label}: {u['output']}/zimbra-flags.zmm line {n}: {line!r}: {ex}")
        # \\Deleted last, as zimbra-import.sh sets it (zimbra-flags-check.tsv's last column).
        for row in open(os.path.join(tree, u["output"], "zimbra-flags-check.tsv"), encoding="utf-8"):
            row = row.rstrip("\n").split("\t")
            if row[7]:
                for k, v in box.items():
                    if "/" + v["folder"] == row[1] and v["msgid"] == row[2]:
                        v["letters"] = set(row[7])
        # The messages the report says the file cannot reach (UIDs listed, "..." past 20).
        unscripted = set()
        for f in u["folders"]:
            for x in f["findings"]:
                if x["kind"] != "zimbra_flags_not_scripted":
                    continue
                listed = x["detail"].rsplit("(UIDs ", 1)[1].rstrip(")").split(", ")
                if "..." in listed:
                    unscripted.add((f["target"], "*"))
                unscripted.update((f["target"], uid) for uid in listed if uid.isdigit())
        for (root, name), ((letters, want_tags), folder) in expected_state.items():
            if root != u["output"]:
                continue
            got = box.get(name)
            if got is None:
                continue
            if (got["letters"], got["tags"]) != (letters, want_tags):
                uid = os.path.basename(name)[:-len(".eml")]
                if (folder, uid) in unscripted or (folder, "*") in unscripted:
                    if searchable(got["msgid"]) and sum(1 for v in box.values() if v["folder"] == folder
                                                        and v["msgid"] == got["msgid"]) == 1:
                        fail(f"{label}: {name}: reported unreachable, yet its Message-ID is unique and searchable")
                    continue
                fail(f"{label}: {name}: after import + zmm flags {sorted(got['letters'])} tags {sorted(got['tags'])}, "
                     f"Cyrus {sorted(letters)} {sorted(want_tags)}")
    print(f"{label}: {compared} messages read back with tarfile, {dav} calendar and contact objects parsed, "
          f"{scripted} tag commands replayed")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--fixtures", default="cyrus36-default,cyrus36-legacy,cyrus36-oldindex")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cyrconv-zimbra-e2e-") as tmp:
        for fixture in args.fixtures.split(","):
            work = os.path.join(tmp, fixture)
            os.makedirs(work)
            check_fixture(args, fixture, work)
    if problems:
        print(f"{len(problems)} mismatches")
        return 1
    print("zimbra-tgz end to end: every message matches what Cyrus served")
    return 0


if __name__ == "__main__":
    sys.exit(main())
