#!/usr/bin/env python3
"""End-to-end check of what `convert --format zimbra-tgz` hands the administrator, run against a
model of Zimbra (zimbra_model.py: ArchiveFormatter's reading rules) through a stand-in zmmailbox:

  * every user's zimbra-import.sh runs its calls in order (folders, archive, calendars, contacts,
    flags, getAllFolders) and the mailbox then holds, per folder, exactly zimbra-expected.tsv's
    counts, which equal the convert report's (so no entry stopped the import early);
  * `cyrconv verify --zimbra-counts` accepts that listing (exit 0) and names a folder whose count
    differs (exit 1);
  * running the script again posts nothing (the .posted markers), and a failed post stops the
    script before anything after it, leaves a .posting marker, and the next run refuses that file;
  * flags, tags and read state: the script waits until search finds every message group (the
    model indexes messages only some calls after their import), sets them, reads them back, and
    afterwards every scripted message in the model has exactly the flags and tags its manifest
    line says (\\Deleted last, read back as "no longer found"), every message its read state; a
    flag that does not stick makes the script fail naming the folder, Message-ID and UID, and
    the next run, with the flag sticking, completes; an indexer that never catches up makes
    the wait time out naming every group;
  * the model itself: an archive with an .ics entry first loses every entry after it, as Zimbra does;
  * parts (--zimbra-part-size 64K): every part recorded in zimbra-archives.tsv exists, is within
    the size, is a whole archive of messages; a folder spans parts; every manifest line names
    the part holding its entry; the script posts the parts in order and the counts and flags
    come out right; the incremental run below also in parts;
  * incremental: snapshot a converted and imported, then snapshot b (new mail, expunges, a
    re-created folder) converted into the same tree writes zimbra-0002.tgz with only what no
    earlier archive holds; zimbra.tgz is untouched; the script posts only the new archive; every
    manifest line names an entry that exists with its bytes; no message is in two archives; the
    counts match; a third run on b makes no third archive.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zimbra_model import Mailbox  # noqa: E402

problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def run_script(user_dir, env, account="acct"):
    return subprocess.run(["sh", os.path.join(user_dir, "zimbra-import.sh"), account], env=env,
                          capture_output=True, text=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    fx = os.path.join(args.source, "fixtures", "cyrus36-default")
    with tempfile.TemporaryDirectory(prefix="cyrconv-zimbra-import-") as tmp:
        wrapper = os.path.join(tmp, "zmmailbox")
        with open(wrapper, "w") as f:
            f.write(f'#!/bin/sh\nexec {sys.executable} {os.path.join(here, "fake_zmmailbox.py")} "$@"\n')
        os.chmod(wrapper, 0o755)
        out = os.path.join(tmp, "out")
        report_path = os.path.join(tmp, "report.json")
        p = subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(fx, "spool"), "--config",
                            os.path.join(fx, "config"), "--format", "zimbra-tgz", "--out", out,
                            "--report", report_path, "--quiet"], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"convert failed ({p.returncode}): {p.stderr[-2000:]}")
        report = json.load(open(report_path, encoding="utf-8"))
        users = 0
        for u in report["users"]:
            udir = os.path.join(out, u["output"])
            if not os.path.exists(os.path.join(udir, "zimbra-import.sh")):
                fail(f"{u['output']}: no zimbra-import.sh")
                continue
            users += 1
            check_user(args, u, udir, tmp, wrapper)
        check_model_stops_at_ics()
        check_incremental(args, tmp, wrapper)
        check_parted(args, tmp, wrapper)
        check_incremental(args, tmp, wrapper, ("--zimbra-part-size", "64K"), "incr-parts")
    if problems:
        print(f"{len(problems)} mismatches")
        return 1
    print(f"zimbra import end to end: {users} users imported into the model, counts verified")
    return 0


def check_user(args, u, udir, tmp, wrapper):
    label = u["output"]
    pristine = os.path.join(tmp, "pristine-" + label.replace("/", "_"))
    shutil.copytree(udir, pristine)
    state = os.path.join(tmp, label.replace("/", "_") + ".state.json")
    log = state + ".log"
    env = dict(os.environ, ZMMAILBOX=wrapper, FAKE_ZMM_STATE=state, FAKE_ZMM_LOG=log, FAKE_ZMM_INDEX_AFTER="14",
               ZIMBRA_INDEX_WAIT="0")
    p = run_script(udir, env)
    if p.returncode != 0:
        fail(f"{label}: zimbra-import.sh failed ({p.returncode}): {p.stderr[-1500:]}")
        return
    calls = [line.split()[1] for line in open(log, encoding="utf-8")]
    posts = [line.split()[2:4] for line in open(log, encoding="utf-8") if line.split()[1] == "postRestURL"]
    # Order: folders, the archive, the collections, flags (possibly several rounds), the listing.
    phase = {"getFolder": 0, "createFolder": 0, "postRestURL": 1, "-f": 2, "getAllFolders": 3}
    ranks = [phase[c] for c in calls]
    if ranks != sorted(ranks):
        fail(f"{label}: calls out of order: {calls}")
    kinds = ["tgz" if "fmt=tgz" in url else "file" for url, _ in posts]
    if kinds != sorted(kinds, key=lambda k: k != "tgz"):
        fail(f"{label}: the archive must be posted before the calendars and contacts: {posts}")
    check_rows = [line.rstrip("\n").split("\t") for line in open(os.path.join(udir, "zimbra-flags-check.tsv"), encoding="utf-8")]
    probes = [line for line in open(log, encoding="utf-8") if "-f zimbra-flags-check.tsv.unfound.zmm" in line]
    if check_rows and len(probes) < 2:
        fail(f"{label}: the script did not wait for the indexer ({len(probes)} search round(s))")
    check_flags(label, udir, Mailbox(state), check_rows)
    # What the model holds equals zimbra-expected.tsv, which equals the report.
    box = Mailbox(state)
    listing = os.path.join(udir, "zimbra-folders-after.txt")
    want = {}
    for line in open(os.path.join(udir, "zimbra-expected.tsv"), encoding="utf-8"):
        if line.startswith("#"):
            continue
        path, view, n = line.rstrip("\n").split("\t")
        want[path] = (view, int(n))
        got = box.folders.get(path)
        if got is None or len(got["items"]) != int(n) or got["view"] != view:
            fail(f"{label}: {path}: expected {view} {n}, the model has {got and (got['view'], len(got['items']))}")
    for f in u["folders"]:
        if not f.get("target"):
            continue
        c = f["count"]
        n = c["written"] + c["repaired"] + (c["orphans_recovered"] if f["action"] == "recover_orphans" else 0)
        if want.get("/" + f["target"], (None, n))[1] != n:
            fail(f"{label}: {f['target']}: zimbra-expected.tsv says {want['/' + f['target']][1]}, report {n}")
    v = subprocess.run([args.cyrconv, "verify", "--out", udir, "--zimbra-counts", listing], capture_output=True, text=True)
    if v.returncode != 0:
        fail(f"{label}: verify --zimbra-counts on the model's listing: exit {v.returncode}: {v.stdout[-800:]} {v.stderr[-500:]}")
    # A folder Zimbra got wrong is named.
    victim = next((p for p, (_, n) in sorted(want.items()) if n > 0), None)
    if victim:
        bad = os.path.join(tmp, "bad-listing.txt")
        lines = open(listing, encoding="utf-8").read().splitlines(True)
        with open(bad, "w", encoding="utf-8") as f:
            for line in lines:
                if line.rstrip("\n").endswith("  " + victim):
                    cols = line.split()
                    line = "%10.10s  %4.4s  %10d  %10d  %s\n" % (cols[0], cols[1], int(cols[2]), int(cols[3]) - 1, victim)
                f.write(line)
        v = subprocess.run([args.cyrconv, "verify", "--out", udir, "--zimbra-counts", bad], capture_output=True, text=True)
        if v.returncode != 1 or f"differs: {victim}:" not in v.stdout:
            fail(f"{label}: a short count in {victim} was not named (exit {v.returncode}): {v.stdout[-500:]}")
    # Again: nothing is posted twice.
    before = len(posts)
    p = run_script(udir, env)
    posts2 = [line for line in open(log, encoding="utf-8") if line.split()[1] == "postRestURL"]
    if p.returncode != 0 or len(posts2) != before:
        fail(f"{label}: a second run posted again or failed ({p.returncode}): {p.stderr[-500:]}")
    if Mailbox(state).folders != box.folders:
        fail(f"{label}: a second run changed the mailbox")
    if check_rows:
        check_flag_not_sticking(label, pristine, tmp, env, check_rows)
    # A failed post stops the script; the next run refuses the half-done file.
    if len(posts) >= 2:
        victim_file = posts[-1][1]
        state2 = state + ".2"
        env2 = dict(env, FAKE_ZMM_STATE=state2, FAKE_ZMM_LOG=log + ".2", FAKE_ZMM_FAIL=os.path.basename(victim_file))
        p = run_script(pristine, env2)
        calls2 = [line.split()[1] for line in open(log + ".2", encoding="utf-8")]
        if p.returncode == 0 or "-f" in calls2 or "getAllFolders" in calls2:
            fail(f"{label}: a failed post of {victim_file} did not stop the script: {calls2}")
        if not os.path.exists(os.path.join(pristine, victim_file + ".posting")):
            fail(f"{label}: no .posting marker left for the failed post of {victim_file}")
        env3 = dict(env2, FAKE_ZMM_FAIL="")
        p = run_script(pristine, env3)
        if p.returncode == 0 or ".posting" not in p.stderr:
            fail(f"{label}: a re-run went on past a half-done post of {victim_file}: {p.stderr[-300:]}")


def expected_state(record):
    """The flag letters and tags a manifest line says a message must have in Zimbra."""
    flags, kw = set(record["flags"]), record["keywords"]
    letters = ("" if "\\Seen" in flags else "u") + ("f" if "\\Flagged" in flags else "") + \
        ("r" if "\\Answered" in flags else "") + ("w" if any(k.lower() == "$forwarded" for k in kw) else "") + \
        ("x" if "\\Deleted" in flags else "")
    tags = {k.replace(":", "_").replace("\\", "_").strip() for k in kw if k.lower() != "$forwarded"}
    if "\\Draft" in flags:
        tags.add("Draft (Cyrus)")
    return "".join(sorted(letters)), tags


def check_flags(label, udir, box, check_rows):
    """Every message's read state, and every scripted message's flags and tags, as its manifest says."""
    items = {}
    for folder in box.folders.values():
        for item in folder["items"]:
            if "entry" in item:
                items[item["entry"]] = item
    scripted = {(r[1], int(u)) for r in check_rows for u in r[4].split(",")}
    checked = 0
    for mf in os.listdir(os.path.join(udir, "manifests")):
        for line in open(os.path.join(udir, "manifests", mf), encoding="utf-8"):
            r = json.loads(line)
            if r["disposition"] not in ("written", "repaired"):
                continue
            entry = r["output_file"].partition(":")[2]
            item = items.get(entry)
            if item is None:
                fail(f"{label}: {entry} is not in the mailbox")
                continue
            letters, tags = expected_state(r)
            if item["unread"] != ("u" in letters):
                fail(f"{label}: {entry}: unread {item['unread']}, the manifest says flags {r['flags']}")
            if ("/" + os.path.dirname(entry), r["uid"]) in scripted:
                checked += 1
                if item["flags"] != letters or set(item["tags"]) != tags:
                    fail(f"{label}: {entry}: flags {item['flags']!r} tags {sorted(item['tags'])}, "
                         f"want {letters!r} {sorted(tags)}")
    if checked < len(scripted):
        fail(f"{label}: only {checked} of {len(scripted)} scripted messages found in the manifests")


def check_flag_not_sticking(label, pristine, tmp, env, check_rows):
    """A flag that does not stick: the script fails naming the message; once it sticks, it completes."""
    row = next((r for r in check_rows if r[7] == ""), check_rows[0])
    work = os.path.join(tmp, "nostick-" + label.replace("/", "_"))
    shutil.copytree(pristine, work)
    state = os.path.join(tmp, label.replace("/", "_") + ".nostick.json")
    env2 = dict(env, FAKE_ZMM_STATE=state, FAKE_ZMM_LOG=state + ".log", FAKE_ZMM_NOSTICK=row[2])
    # First the indexer never catches up: the wait times out naming every group, nothing is set.
    p = run_script(work, dict(env2, FAKE_ZMM_INDEX_AFTER="100000", ZIMBRA_INDEX_TIMEOUT="0"))
    named = f"not found by search after 0s): folder {row[1]}, Message-ID <{row[2]}>, UID(s) {row[4]}"
    if p.returncode == 0 or named not in p.stderr:
        fail(f"{label}: an index wait that timed out was not reported ({p.returncode}): want {named!r} in {p.stderr[-600:]}")
    if any(line.split()[1] == "-f" and "zimbra-flags.zmm" in line.split()[2] for line in open(state + ".log", encoding="utf-8")):
        fail(f"{label}: flags were set although the messages were never found")
    p = run_script(work, env2)
    named = f"folder {row[1]}, Message-ID <{row[2]}>, UID(s) {row[4]}"
    if p.returncode == 0 or named not in p.stderr:
        fail(f"{label}: a flag that did not stick was not reported ({p.returncode}): want {named!r} in {p.stderr[-600:]}")
    if any(line.split()[1] == "getAllFolders" for line in open(state + ".log", encoding="utf-8")):
        fail(f"{label}: the script went on after flags did not stick")
    p = run_script(work, dict(env2, FAKE_ZMM_NOSTICK=""))
    if p.returncode != 0:
        fail(f"{label}: once the flag sticks the script should complete ({p.returncode}): {p.stderr[-600:]}")
    else:
        check_flags(label + " (after a failed flag run)", work, Mailbox(state), check_rows)


def check_model_stops_at_ics():
    """The model reads an archive with an .ics entry as Zimbra would: nothing after it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", format=tarfile.GNU_FORMAT) as t:
        for name, data in (("Calendar/1.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), ("Inbox/1.eml", b"Subject: x\r\n\r\nx\r\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        box = Mailbox(f.name + ".x")
        counts = box.import_archive(buf.getvalue())
        if counts["message"] != 0 or counts["appointment"] != 1:
            fail(f"the model does not stop after an .ics entry: {counts}")


def archive_entries(path):
    out = {}
    with tarfile.open(path, "r:gz", encoding="utf-8") as t:
        for m in t:
            out[m.name] = hashlib.sha1(t.extractfile(m).read()).hexdigest()
    return out


def run_archives(udir):
    """{run number: [archive file, ...]} from zimbra-archives.tsv, parts in order."""
    runs = {}
    path = os.path.join(udir, "zimbra-archives.tsv")
    if not os.path.exists(path):
        return runs
    for line in open(path, encoding="utf-8"):
        if line.startswith("#"):
            continue
        cols = line.rstrip("\n").split("\t")
        n, parts = int(cols[0]), int(cols[5])
        runs[n] = [cols[1]] + [f"zimbra-{n:04d}-part{k:03d}.tgz" for k in range(2, parts + 1)]
    return runs


def check_parts(label, udir, limit):
    """Every part exists, is within the limit, is a whole archive of .eml entries; returns
    ({archive: {entry: sha1}}, whether some folder spans two parts)."""
    archives, folders = {}, {}
    for n, names in run_archives(udir).items():
        for name in names:
            path = os.path.join(udir, name)
            if not os.path.exists(path):
                fail(f"{label}: {name} is recorded but missing")
                continue
            if limit and os.path.getsize(path) > limit:
                fail(f"{label}: {name}: {os.path.getsize(path)} bytes, over the part size {limit}")
            archives[name] = archive_entries(path)
            for entry in archives[name]:
                if not entry.endswith(".eml"):
                    fail(f"{label}: {name}:{entry} is not a message")
                folders.setdefault(os.path.dirname(entry), set()).add(name)
    return archives, any(len(v) > 1 for v in folders.values())


def check_parted(args, tmp, wrapper):
    """--zimbra-part-size 64K: bounded parts, each a whole archive, folders spanning parts,
    imported in order by the script with the counts and flags right."""
    fx = os.path.join(args.source, "fixtures", "cyrus36-default")
    out = os.path.join(tmp, "parted")
    rp = os.path.join(tmp, "parted.json")
    p = subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(fx, "spool"), "--config",
                        os.path.join(fx, "config"), "--format", "zimbra-tgz", "--out", out, "--report", rp,
                        "--quiet", "--zimbra-part-size", "64K"], capture_output=True, text=True)
    if p.returncode not in (0, 1):
        raise SystemExit(f"parted convert failed ({p.returncode}): {p.stderr[-2000:]}")
    report = json.load(open(rp, encoding="utf-8"))
    spanning = multi = 0
    for u in report["users"]:
        udir = os.path.join(out, u["output"])
        if not os.path.exists(os.path.join(udir, "zimbra-import.sh")):
            continue
        label = "parts: " + u["output"]
        archives, spans = check_parts(label, udir, 64 * 1024)
        spanning += spans
        multi += len(archives) > 1
        check_manifests(label, udir, archives)
        own = os.path.join(tmp, "parted-work")
        os.makedirs(own, exist_ok=True)
        check_user(args, u, udir, own, wrapper)
    if not multi or not spanning:
        fail(f"parts: {multi} user(s) with several parts, {spanning} with a folder spanning parts: want both")


def check_manifests(label, udir, archives):
    """Every manifest line names the archive (part) holding its entry, with its bytes; every entry
    is in a manifest; no entry is in two archives."""
    listed, seen = set(), {}
    for arch, entries in archives.items():
        for name, sha in entries.items():
            if (name, sha) in seen:
                fail(f"{label}: {name} is in {seen[(name, sha)]} and {arch}")
            seen[(name, sha)] = arch
    for mf in os.listdir(os.path.join(udir, "manifests")):
        for line in open(os.path.join(udir, "manifests", mf), encoding="utf-8"):
            r = json.loads(line)
            if r["disposition"] not in ("written", "repaired"):
                continue
            arch, _, entry = r["output_file"].partition(":")
            got = archives.get(arch, {}).get(entry)
            if got is None or (r["disposition"] == "written" and got != r["sha1"]):
                fail(f"{label}: manifest {mf} uid {r['uid']}: {r['output_file']} missing or not its bytes")
            listed.add((arch, entry))
    for arch, entries in archives.items():
        for entry in entries:
            if (arch, entry) not in listed:
                fail(f"{label}: {arch}:{entry} is in no manifest")


def check_incremental(args, tmp, wrapper, extra=(), tag="incr"):
    snaps = os.path.join(args.source, "fixtures", "cyrus36-snapshots")
    out = os.path.join(tmp, tag)
    work = os.path.join(tmp, tag + "-work")
    os.makedirs(work)

    def convert(snap):
        rp = os.path.join(work, snap + ".json")
        p = subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(snaps, snap, "spool"), "--config",
                            os.path.join(snaps, snap, "config"), "--format", "zimbra-tgz", "--out", out,
                            "--report", rp, "--quiet", *extra], capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise SystemExit(f"{tag}: convert {snap} failed ({p.returncode}): {p.stderr[-2000:]}")
        return json.load(open(rp, encoding="utf-8"))

    def env_for(u):
        state = os.path.join(work, u.replace("/", "_") + ".state.json")
        return dict(os.environ, ZMMAILBOX=wrapper, FAKE_ZMM_STATE=state, FAKE_ZMM_LOG=state + ".log",
                    ZIMBRA_INDEX_WAIT="0")

    ra = convert("a")
    first = {}
    for u in ra["users"]:
        udir = os.path.join(out, u["output"])
        if not u["output"] or not os.path.exists(os.path.join(udir, "zimbra.tgz")):
            continue
        first[u["output"]] = {a: open(os.path.join(udir, a), "rb").read() for a in run_archives(udir)[1]}
        p = run_script(udir, env_for(u["output"]))
        if p.returncode != 0:
            fail(f"{tag}: {u['output']}: import of a failed: {p.stderr[-500:]}")
    rb = convert("b")
    if rb["totals"]["earlier"] == 0 or rb["totals"]["written"] == 0:
        fail(f"{tag}: b wrote {rb['totals']['written']}, earlier {rb['totals']['earlier']}: expected both")
    new_archives = 0
    for u in rb["users"]:
        udir = os.path.join(out, u["output"])
        label = f"{tag}: " + u["output"]
        if u["output"] not in first:
            continue
        for a, data in first[u["output"]].items():
            if open(os.path.join(udir, a), "rb").read() != data:
                fail(f"{label}: {a} changed")
        runs = run_archives(udir)
        if 2 not in runs or runs[2][0] != "zimbra-0002.tgz":
            fail(f"{label}: no run 2 (zimbra-0002.tgz) recorded: {runs}")
            continue
        new_archives += 1
        archives, _ = check_parts(label, udir, 64 * 1024 if extra else 0)
        check_manifests(label, udir, archives)
        env = env_for(u["output"])
        p = run_script(udir, env)
        posts = [line.split()[3] for line in open(env["FAKE_ZMM_LOG"], encoding="utf-8") if line.split()[1] == "postRestURL"]
        tgz = [x for x in posts if x.endswith(".tgz")]
        if p.returncode != 0 or tgz != [a for n in sorted(runs) for a in runs[n]]:
            fail(f"{label}: second import ({p.returncode}) posted {posts}: {p.stderr[-400:]}")
        v = subprocess.run([args.cyrconv, "verify", "--out", udir, "--zimbra-counts",
                            os.path.join(udir, "zimbra-folders-after.txt")], capture_output=True, text=True)
        if v.returncode != 0:
            fail(f"{label}: counts after both archives: {v.stdout[-800:]}")
    if new_archives == 0:
        fail(f"{tag}: no user got a second archive")
    convert("b")
    for u in rb["users"]:
        if os.path.exists(os.path.join(out, u["output"], "zimbra-0003.tgz")):
            fail(f"{tag}: {u['output']}: a third run on the same snapshot made zimbra-0003.tgz")
    if not extra:
        check_incremental_kills(args, snaps, tmp)


def tree_state(root):
    """What an incremental run leaves, minus the import's own files: path -> bytes."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            rel = os.path.relpath(p, root)
            if "cyrconv-tmp" in f:
                out[rel] = b"TEMPORARY LEFT"
            elif not rel.endswith((".json", ".log")) and "report" not in rel and "convert-options" not in rel:
                out[rel] = open(p, "rb").read()
    return out


def check_incremental_kills(args, snaps, tmp):
    """The incremental run killed after its Nth committed file and run again gives the same tree."""
    def convert(snap, out, kill=None):
        env = dict(os.environ)
        env.pop("CYRCONV_TEST_KILL_AFTER_COMMITS", None)
        if kill is not None:
            env["CYRCONV_TEST_KILL_AFTER_COMMITS"] = str(kill)
        return subprocess.run([args.cyrconv, "convert", "--spool", os.path.join(snaps, snap, "spool"), "--config",
                               os.path.join(snaps, snap, "config"), "--format", "zimbra-tgz", "--out", out, "--quiet",
                               "--threads", "1"], capture_output=True, text=True, env=env)
    base = os.path.join(tmp, "kills-a")
    convert("a", base)
    ref = os.path.join(tmp, "kills-ref")
    shutil.copytree(base, ref)
    convert("b", ref)
    want = tree_state(ref)
    killed = 0
    for n in range(1, 80, 2):
        t = os.path.join(tmp, f"kills-{n}")
        shutil.copytree(base, t)
        p = convert("b", t, n)
        if p.returncode == 0 or p.returncode == 1:
            shutil.rmtree(t)
            break  # ran to the end before its Nth commit
        killed += 1
        convert("b", t)
        got = tree_state(t)
        for k in sorted(set(want) | set(got)):
            if want.get(k) != got.get(k):
                fail(f"incremental killed after {n} commits, then re-run: {k} differs from the uninterrupted run")
                break
        shutil.rmtree(t)
    if killed < 3:
        fail(f"incremental kill points: only {killed} runs were killed")


if __name__ == "__main__":
    sys.exit(main())
