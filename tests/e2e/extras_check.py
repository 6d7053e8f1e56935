#!/usr/bin/env python3
"""extras_check: what cyrconv carries besides messages, judged by real Dovecot 2.3 and Pigeonhole.

  tests/e2e/extras_check.py --cyrconv BUILD/cyrconv --source REPO [--keep]

Converts fixtures/cyrus36-extras (--format maildir), then
 * compiles every converted Sieve script with Pigeonhole's sievec (package dovecot-sieve);
 * serves a copy of the output with a private Dovecot (helpers of tools/dovecot-oracle) with the
   acl (vfile) and quota (maildir) plugins, every user's dovecot-special-use.conf included, ute's
   folders mounted for the others as a shared namespace "Other Users/<user>/" and OUT/_shared as
   a public namespace "Shared Folders/" (the layout README describes), and compares with
   oracle-extras.json (what Cyrus served):
     - MYRIGHTS of every folder the user could see in Cyrus: the same rights, as far as Dovecot
       has them (Cyrus's n has no Dovecot right; c and d are read as their RFC 4314 expansion);
     - MYRIGHTS of folders the user could NOT see (negative rights): no lookup right in Dovecot;
     - GETACL on the user's own folders: the same identifiers and rights;
     - LIST RETURN (SPECIAL-USE): every role Cyrus served is served (Dovecot may add roles it
       recognises by name, e.g. walter's Sent);
     - GETQUOTAROOT INBOX: the same STORAGE and MESSAGE limits; usage is what maildirsize says
       (Cyrus counted CRLF sizes and its #sieve messages, Dovecot counts the LF files written).
Exit 0 when all agree, 1 with every difference on stderr, 77 (skip) when Dovecot or sievec cannot
be installed.
"""
import argparse
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def load_oracle_module(source):
    path = os.path.join(source, "tools", "dovecot-oracle")
    loader = importlib.machinery.SourceFileLoader("dovecot_oracle", path)
    spec = importlib.util.spec_from_loader("dovecot_oracle", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def ensure_sievec():
    if shutil.which("sievec"):
        return True
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (sudo + ["apt-get", "update", "-qq"],
                sudo + ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "dovecot-sieve"]):
        if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
            return False
    return bool(shutil.which("sievec"))


def norm_rights(letters):
    """RFC 4314 rights as a set Dovecot can hold: c/d read as their expansion, n dropped."""
    s = set(letters)
    if "c" in s:
        s |= {"k", "x"}
    if "d" in s:
        s |= {"t", "e"}
    return "".join(sorted(s - {"c", "d", "n"}))


CONF = """\
base_dir = {tmp}/run
state_dir = {tmp}/state
log_path = {tmp}/dovecot.log
info_log_path = {tmp}/dovecot.log
instance_name = cyrconv-extras-{pid}
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_cache_size = 0
default_internal_user = {internal_user}
default_login_user = {login_user}
default_internal_group = {internal_group}
first_valid_uid = 1
first_valid_gid = 1
import_environment = TZ=UTC
mail_fsync = never
mail_location = maildir:~/Maildir
mail_plugins = $mail_plugins listescape acl quota
protocol imap {{
  mail_plugins = $mail_plugins imap_acl imap_quota
}}
plugin {{
  acl = vfile
  quota = maildir:User quota
}}
namespace inbox {{
  inbox = yes
  prefix =
  separator = /
}}
namespace shared {{
  type = shared
  separator = /
  prefix = Other Users/%%u/
  location = maildir:%%h/Maildir:INDEX={tmp}/idx/%u/shared/%%u
  list = children
  subscriptions = no
}}
namespace public {{
  type = public
  separator = /
  prefix = Shared Folders/
  location = maildir:{shared}/Maildir:INDEX={tmp}/idx/%u/public
  list = children
  subscriptions = no
}}
{includes}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {tmp}/users
}}
userdb {{
  driver = passwd-file
  args = {tmp}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    fixture = os.path.join(a.source, "fixtures", "cyrus36-extras")
    oracle = json.load(open(os.path.join(fixture, "oracle-extras.json"), encoding="utf-8"))
    dov = load_oracle_module(a.source)
    problems = []
    checks = {"sievec": 0, "myrights": 0, "hidden": 0, "getacl": 0, "special_use": 0, "quota": 0}
    tmp = tempfile.mkdtemp(prefix="cyrconv-extras-")
    os.chmod(tmp, 0o755)
    proc = None
    try:
        out = os.path.join(tmp, "out")
        r = subprocess.run([a.cyrconv, "convert", "--spool", os.path.join(fixture, "spool"), "--config",
                            os.path.join(fixture, "config"), "--format", "maildir", "--out", out, "--quiet",
                            "--report", os.path.join(tmp, "report.json")], capture_output=True, text=True)
        if r.returncode != 0:
            problems.append("convert exited %d: %s" % (r.returncode, r.stdout[-2000:] + r.stderr[-2000:]))
        report = json.load(open(os.path.join(tmp, "report.json"), encoding="utf-8"))

        # Pigeonhole compiles every converted script.
        if not ensure_sievec():
            print("extras_check: sievec (dovecot-sieve) not installable: skipped", file=sys.stderr)
            return SKIP
        scripts = 0
        for u in report["users"]:
            for s in u["extras"]["sieve"]:
                scripts += 1
                checks["sievec"] += 1
                path = os.path.join(out, s["file"])
                c = subprocess.run(["sievec", path, os.path.join(tmp, "compiled.svbin")], capture_output=True, text=True)
                if c.returncode != 0:
                    problems.append("sievec rejects %s: %s" % (s["file"], c.stdout + c.stderr))
        want_scripts = sum(len(u["sieve"]) for u in oracle["users"].values())
        if scripts != want_scripts:
            problems.append("%d scripts converted, Cyrus served %d" % (scripts, want_scripts))

        try:
            dov.ensure_dovecot()
        except dov.HarnessError as e:
            print("extras_check: %s: skipped" % e, file=sys.stderr)
            return SKIP
        # A copy of the output served by a private Dovecot.
        homes = os.path.join(tmp, "h")
        shutil.copytree(out, homes, symlinks=True)
        os.makedirs(os.path.join(tmp, "idx"))
        os.makedirs(os.path.join(tmp, "state"))
        if os.geteuid() == 0:
            import pwd
            pw = pwd.getpwnam("nobody")
            uid, gid = pw.pw_uid, pw.pw_gid
            internal_user, login_user, internal_group = "dovecot", "dovenull", "dovecot"
            dov.chown_tree(homes, uid, gid)
            dov.chown_tree(os.path.join(tmp, "idx"), uid, gid)
        else:
            import grp
            import pwd
            uid, gid = os.getuid(), os.getgid()
            internal_user = login_user = pwd.getpwuid(uid).pw_name
            internal_group = grp.getgrgid(gid).gr_name
        users = sorted(oracle["users"])
        with open(os.path.join(tmp, "users"), "w") as f:
            for user in users:
                f.write("%s:%s:%d:%d::%s::\n" % (user, dov.PASSWORD, uid, gid, os.path.join(homes, user)))
        # Dovecot's mailbox settings are server-wide: merge every user's snippet; one name with
        # two roles could not be served at once (none in this fixture).
        roles = {}
        for user in users:
            conf = os.path.join(homes, user, "dovecot-special-use.conf")
            if os.path.exists(conf):
                for name, role in re.findall(r'mailbox "((?:[^"\\]|\\.)*)" \{\s*special_use = (\S+)', open(conf).read()):
                    if roles.setdefault(name, role) != role:
                        problems.append("special-use of %r differs between users: cannot serve both" % name)
        includes = ""
        for user in users:
            conf = os.path.join(homes, user, "dovecot-special-use.conf")
            if os.path.exists(conf):
                includes += "!include_try %s\n" % conf
        port = dov.free_port()
        conf = os.path.join(tmp, "dovecot.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(tmp=tmp, pid=os.getpid(), internal_user=internal_user, login_user=login_user,
                                internal_group=internal_group, shared=os.path.join(homes, "_shared"),
                                includes=includes, port=port))
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "TZ": "UTC", "LANG": "C"}
        proc = subprocess.Popen([dov.DOVECOT, "-F", "-c", conf], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        import socket
        import time
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise dov.HarnessError("dovecot did not start: " + proc.stdout.read().decode(errors="replace"))
                time.sleep(0.05)

        def login(user):
            imap = dov.Imap(port)
            st, _ = imap.command(b"LOGIN", dov.quote(user), dov.quote(dov.PASSWORD))
            if not st.startswith(b"OK"):
                raise dov.HarnessError("login %s: %r" % (user, st))
            return imap

        for user in users:
            ou = oracle["users"][user]
            imap = login(user)
            # MYRIGHTS on every folder the user saw.
            for raw, rights in ou["myrights"].items():
                st, unt = imap.command(b"MYRIGHTS", dov.quote(raw))
                checks["myrights"] += 1
                got = None
                for line in unt:
                    m = re.match(rb'\* MYRIGHTS (?:"(?:[^"\\]|\\.)*"|\S+) (\S+)', line)
                    if m:
                        got = m.group(1).decode()
                if got is None or norm_rights(got) != norm_rights(rights):
                    problems.append("%s MYRIGHTS %s: Dovecot %r (%s), Cyrus %r" % (user, raw, got, st, rights))
            # Folders of others the user could not see in Cyrus have no lookup right in Dovecot.
            seen = set(ou["myrights"])
            for f in oracle["folders"]:
                name = f["admin_name"]
                if name.startswith("user/%s" % user) or "#sieve" in name:
                    continue
                if name.startswith("user/"):
                    parts = name.split("/")
                    if len(parts) < 3:
                        continue  # another user's INBOX: Dovecot names it differently
                    vis = "Other Users/%s/%s" % (parts[1], "/".join(parts[2:]))
                else:
                    vis = "Shared Folders/" + name
                if vis in seen:
                    continue
                st, unt = imap.command(b"MYRIGHTS", dov.quote(vis))
                got = ""
                for line in unt:
                    m = re.match(rb'\* MYRIGHTS (?:"(?:[^"\\]|\\.)*"|\S+) (\S+)', line)
                    if m:
                        got = m.group(1).decode()
                checks["hidden"] += 1
                if "l" in got:
                    problems.append("%s can look up %s in Dovecot (%r) but could not in Cyrus" % (user, vis, got))
            # GETACL on the user's own folders, as Cyrus listed it.
            for f in oracle["folders"]:
                name = f["admin_name"]
                prefix = "user/%s" % user
                if not (name == prefix or name.startswith(prefix + "/")) or "#sieve" in name:
                    continue
                folder = "INBOX" if name == prefix else name[len(prefix) + 1:]
                st, unt = imap.command(b"GETACL", dov.quote(folder))
                got = {}
                for line in unt:
                    m = re.match(rb'\* ACL (?:"(?:[^"\\]|\\.)*"|\S+) (.*)\r\n', line)
                    if m:
                        toks = re.findall(rb'"(?:[^"\\]|\\.)*"|\S+', m.group(1))
                        for i in range(0, len(toks) - 1, 2):
                            ident = toks[i].decode().strip('"')
                            ident = "group:" + ident[1:] if ident.startswith("$") else ident
                            ident = "-group:" + ident[2:] if ident.startswith("-$") else ident
                            got[ident] = norm_rights(toks[i + 1].decode().strip('"'))
                want = {e[0]: norm_rights(e[1]) for e in f["getacl"]}
                checks["getacl"] += 1
                if got != want:
                    problems.append("%s GETACL %s: Dovecot %s, Cyrus %s (%s)" % (user, folder, got, want, st))
            # Special-use roles.
            st, unt = imap.command(b'LIST "" "*" RETURN (SPECIAL-USE)')
            served = {}
            for line in unt:
                m = re.match(rb'\* LIST \(([^)]*)\) (?:"[^"]*"|NIL) (.*)\r\n', line)
                if m:
                    name = m.group(2).decode()
                    name = name[1:-1] if name.startswith('"') else name
                    served[dov.mutf7_decode(name)] = set(re.findall(r"\\(?:Sent|Trash|Drafts|Junk|Archive)",
                                                                     m.group(1).decode()))
            for l in ou["list"]:
                for su in l["special_use"]:
                    checks["special_use"] += 1
                    if su not in served.get(l["folder"], set()):
                        problems.append("%s LIST %s: Dovecot serves %s, Cyrus served %s" %
                                        (user, l["folder"], sorted(served.get(l["folder"], [])), su))
            # Quota.
            st, unt = imap.command(b"GETQUOTAROOT", b"INBOX")
            quota = {}
            for line in unt:
                m = re.match(rb'\* QUOTA (?:"[^"]*"|\S+) \(([^)]*)\)', line)
                if m:
                    t = m.group(1).decode().split()
                    for i in range(0, len(t) - 2, 3):
                        quota[t[i]] = (int(t[i + 1]), int(t[i + 2]))
            want_q = ou["quota"].get("INBOX", {})
            for res, v in want_q.items():
                checks["quota"] += 1
                if res not in quota or quota[res][1] != v["limit"]:
                    problems.append("%s quota %s: Dovecot %s, Cyrus limit %s" % (user, res, quota.get(res), v["limit"]))
            if not want_q and quota:
                problems.append("%s has quota %s in Dovecot, none in Cyrus" % (user, quota))
            if want_q:
                ms = open(os.path.join(out, user, "Maildir", "maildirsize")).read().split("\n")
                used_bytes, used_count = (int(x) for x in ms[1].split())
                # Dovecot shows STORAGE usage in KiB rounded up.
                if quota.get("STORAGE", (None,))[0] != (used_bytes + 1023) // 1024 or quota.get("MESSAGE", (None,))[0] != used_count:
                    problems.append("%s quota usage: Dovecot %s, maildirsize %d bytes %d messages" %
                                    (user, quota, used_bytes, used_count))
            imap.close()
        log = open(os.path.join(tmp, "dovecot.log"), errors="replace").read()
        for line in log.splitlines():
            if re.search(r"\b(Error|Panic|Fatal)\b", line):
                problems.append("dovecot log: " + line)
    except dov.HarnessError as e:
        problems.append(str(e))
    finally:
        if proc is not None and proc.poll() is None:
            import signal
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc is not None and proc.stdout:
            proc.stdout.close()
        if a.keep:
            print("extras_check: kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if any(v == 0 for v in checks.values()):
        problems.append("a check never ran: %s" % checks)
    for p in problems:
        print("extras_check: " + p, file=sys.stderr)
    print("extras_check: checked %s" % ", ".join("%s %d" % kv for kv in checks.items()))
    print("extras_check: %s" % ("OK" if not problems else "%d problem(s)" % len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
