"""A private Cyrus IMAP 3.6 instance (Debian's packages) for fixture generation.

Standard library only.  Everything lives in one temporary directory; the
instance listens on 127.0.0.1 only; we stop only the processes we started.
"""
import base64
import os
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import time
from datetime import datetime

CYRUS_BIN = "/usr/lib/cyrus/bin"
DEB_PACKAGES = ["cyrus-common", "cyrus-admin", "cyrus-clients", "sasl2-bin", "cyrus-caldav", "rsync"]


class Fail(Exception):
    pass


def log(*a):
    print("[make-fixtures]", *a, flush=True)


def run(cmd, check=True, **kw):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
    if check and r.returncode != 0:
        raise Fail("command failed (%d): %s\nstdout: %s\nstderr: %s" % (
            r.returncode, " ".join(map(str, cmd)), r.stdout.decode(errors="replace")[-2000:],
            r.stderr.decode(errors="replace")[-2000:]))
    return r


# ---------------------------------------------------------------- packages

def ensure_packages(pkgs):
    missing = [p for p in pkgs if subprocess.run(
        ["dpkg-query", "-W", "-f=${Status}", p], stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL).stdout.decode() != "install ok installed"]
    if not missing:
        return
    log("installing Debian packages:", " ".join(missing))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    r = run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, check=False, env=env)
    if r.returncode != 0:
        run(["apt-get", "update"], env=env)
        run(["apt-get", "install", "-y", "--no-install-recommends"] + missing, env=env)


def private_imapd(workdir):
    """Fetch cyrus-imapd with apt-get download and unpack it privately (it
    conflicts with dovecot-imapd, so it is never installed)."""
    d = os.path.join(workdir, "cyrus-imapd-pkg")
    os.makedirs(d, exist_ok=True)
    r = run(["apt-get", "download", "cyrus-imapd"], cwd=d, check=False)
    if r.returncode != 0:
        run(["apt-get", "update"])
        run(["apt-get", "download", "cyrus-imapd"], cwd=d)
    debs = [f for f in os.listdir(d) if f.endswith(".deb")]
    if len(debs) != 1:
        raise Fail("expected one cyrus-imapd .deb, got %r" % debs)
    run(["dpkg-deb", "-x", os.path.join(d, debs[0]), os.path.join(d, "root")])
    imapd = os.path.join(d, "root/usr/lib/cyrus/bin/imapd")
    if not os.access(imapd, os.X_OK):
        raise Fail("no imapd in " + debs[0])
    ver = debs[0].split("_")[1]
    return imapd, ver


def pkg_version(p):
    return subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], stdout=subprocess.PIPE).stdout.decode()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


# ---------------------------------------------------------------- mUTF-7

def mutf7_encode(s):
    out, buf = [], []

    def flush():
        if buf:
            b = base64.b64encode("".join(buf).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + b.replace("/", ",") + "-")
            buf.clear()
    for ch in s:
        if 0x20 <= ord(ch) <= 0x7e:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            buf.append(ch)
    flush()
    return "".join(out)


def mutf7_decode(s):
    out, i = [], 0
    while i < len(s):
        if s[i] == "&":
            j = s.index("-", i)
            if j == i + 1:
                out.append("&")
            else:
                b = s[i + 1:j].replace(",", "/")
                b += "=" * (-len(b) % 4)
                out.append(base64.b64decode(b).decode("utf-16-be"))
            i = j + 1
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------- IMAP

class Lit:
    def __init__(self, data, binary=False):
        self.data, self.binary = data, binary


def q(s):
    if isinstance(s, str):
        s = s.encode()
    return b'"' + s.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def parse_sexp(buf, i=0, depth=0):
    """Parse an IMAP response (with literals inline as on the wire)."""
    items = []
    n = len(buf)
    while i < n:
        c = buf[i:i + 1]
        if c in (b" ", b"\r", b"\n"):
            i += 1
        elif c == b"(":
            sub, i = parse_sexp(buf, i + 1, depth + 1)
            items.append(sub)
        elif c == b")":
            return items, i + 1
        elif c == b'"':
            j, out = i + 1, bytearray()
            while buf[j:j + 1] != b'"':
                if buf[j:j + 1] == b"\\":
                    j += 1
                out += buf[j:j + 1]
                j += 1
            items.append(bytes(out))
            i = j + 1
        elif c == b"{" or (c == b"~" and buf[i + 1:i + 2] == b"{"):
            m = re.compile(rb"~?\{(\d+)\+?\}\r\n").match(buf, i)
            ln = int(m.group(1))
            items.append(buf[m.end():m.end() + ln])
            i = m.end() + ln
        else:
            m = re.compile(rb"[^ ()\r\n\[]*(\[[^\]]*\])?[^ ()\r\n]*").match(buf, i)
            a = m.group(0)
            items.append(None if a == b"NIL" else a)
            i = m.end()
    return items, i


class Imap:
    def __init__(self, port, user, password="x"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.sock.makefile("rb")
        self.n = 0
        greet = self.f.readline()
        if not greet.startswith(b"* OK"):
            raise Fail("bad IMAP greeting %r" % greet)
        self.user = user
        self.cmd(b"LOGIN", q(user), q(password))

    def _read_response(self):
        raw = b""
        while True:
            line = self.f.readline()
            if not line:
                raise Fail("IMAP connection closed")
            raw += line
            m = re.search(rb"\{(\d+)\}\r\n$", line)
            if not m:
                return raw
            raw += self.f.read(int(m.group(1)))

    def cmd(self, *parts, ok=True):
        self.n += 1
        tag = b"T%d" % self.n
        out = tag
        for p in parts:
            if isinstance(p, Lit):
                out += b" " + (b"~" if p.binary else b"") + b"{%d}\r\n" % len(p.data)
                self.sock.sendall(out)
                cont = self._read_response()
                if not cont.startswith(b"+"):
                    raise Fail("literal refused: %r (cmd %r)" % (cont, parts[:2]))
                out = p.data
            else:
                p = p if isinstance(p, bytes) else p.encode()
                out += (b" " if out and not p.startswith(b")") else b"") + p   # ")" closes a list after a literal
        self.sock.sendall(out + b"\r\n")
        untagged = []
        while True:
            r = self._read_response()
            if r.startswith(tag + b" "):
                status = r[len(tag) + 1:].split(b" ", 1)[0]
                if ok and status != b"OK":
                    raise Fail("IMAP %s: %r -> %r" % (self.user, b" ".join(
                        x if isinstance(x, bytes) else b"<lit>" for x in parts)[:200], r))
                return status, untagged, r
            untagged.append(r)

    def close(self):
        try:
            self.cmd(b"LOGOUT", ok=False)
        except Exception:
            pass
        self.sock.close()


def imap_date(epoch, tz="+0000"):
    sign = 1 if tz[0] == "+" else -1
    off = sign * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    d = datetime.utcfromtimestamp(epoch + off)
    return '"%s %s"' % (d.strftime("%d-%b-%Y %H:%M:%S"), tz)


def parse_internaldate(s):
    return int(datetime.strptime(s.decode(), "%d-%b-%Y %H:%M:%S %z").timestamp())


# ---------------------------------------------------------------- server

CYRUS_CONF = """START {
  recover cmd="ctl_cyrusdb -C %(conf)s -r"
}
SERVICES {
  imap cmd="%(imapd)s -C %(conf)s" listen="127.0.0.1:%(imap_port)d" prefork=0
  lmtpunix cmd="lmtpd -C %(conf)s" listen="%(root)s/config/socket/lmtp" prefork=0
%(http)s%(sieve)s}
EVENTS {
}
DAEMON {
}
"""


class Cyrus:
    def __init__(self, root, imapd, settings, http=False, sieve=False):
        self.root = root
        self.imapd = imapd
        self.settings = settings
        self.http = http
        self.sieve = sieve
        self.proc = None
        self.imap_port = free_port()
        self.http_port = free_port() if http else None
        self.sieve_port = free_port() if sieve else None
        self.conf = os.path.join(root, "etc/imapd.conf")
        self.cyrus_conf = os.path.join(root, "etc/cyrus.conf")
        for d in ["etc", "config", "spool", "config/socket", "config/proc", "config/lock", "config/log",
                  "config/db", "config/user", "config/quota", "config/sieve", "config/ptclient"]:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        self.write_conf()
        run(["chown", "-R", "cyrus:mail", os.path.join(root, "config"), os.path.join(root, "spool")])
        os.chmod(root, 0o755)

    def write_conf(self):
        base = {
            "configdirectory": self.root + "/config",
            "partition-default": self.root + "/spool",
            "defaultpartition": "default",
            "sievedir": self.root + "/config/sieve",
            "admins": "cyrus",
            "sasl_pwcheck_method": "alwaystrue",
            "sasl_mech_list": "PLAIN LOGIN",
            "allowplaintext": "yes",
            "servername": "fixtures.invalid",
            "syslog_prefix": "cyrfix",
            "lmtpsocket": self.root + "/config/socket/lmtp",
            "idlesocket": self.root + "/config/socket/idle",
            "notifysocket": self.root + "/config/socket/notify",
            "mboxname_lockpath": self.root + "/config/lock",
            "statuscache": "no",
            "tls_server_cert": "disabled",
            "lmtp_downcase_rcpt": "yes",
            "autocreate_quota": "-1",
        }
        base.update(self.settings)
        with open(self.conf, "w") as f:
            for k, v in base.items():
                f.write("%s: %s\n" % (k, v))
        http = ""
        if self.http:
            http = '  http cmd="httpd -C %s" listen="127.0.0.1:%d" prefork=0\n' % (self.conf, self.http_port)
        sieve = ""
        if self.sieve:
            sieve = '  sieve cmd="timsieved -C %s" listen="127.0.0.1:%d" prefork=0\n' % (self.conf, self.sieve_port)
        with open(self.cyrus_conf, "w") as f:
            f.write(CYRUS_CONF % dict(imapd=self.imapd, conf=self.conf, imap_port=self.imap_port, root=self.root,
                                      http=http, sieve=sieve))

    def start(self):
        log("starting Cyrus master (imap 127.0.0.1:%d%s)" % (
            self.imap_port, ", http 127.0.0.1:%d" % self.http_port if self.http else ""))
        self.out = open(os.path.join(self.root, "master.out"), "ab")
        self.proc = subprocess.Popen(
            [CYRUS_BIN + "/master", "-C", self.conf, "-M", self.cyrus_conf, "-p", self.root + "/master.pid", "-D"],
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.out, start_new_session=True,
            env=dict(os.environ, PATH=CYRUS_BIN + ":" + os.environ.get("PATH", "/usr/bin:/bin")))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise Fail("Cyrus master exited with %s; see %s" % (self.proc.returncode, self.out.name))
            try:
                s = socket.create_connection(("127.0.0.1", self.imap_port), timeout=2)
                g = s.recv(100)
                s.close()
                if g.startswith(b"* OK"):
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise Fail("Cyrus did not come up")

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            self.proc = None
            return
        log("stopping Cyrus master pid %d" % self.proc.pid)
        pgid = self.proc.pid  # start_new_session: the group is ours alone
        for sig, wait in ((signal.SIGQUIT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(pgid, sig) if sig == signal.SIGKILL else os.kill(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # any straggler children of our own session
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc = None
        self.out.close()

    def tool(self, name, *args, check=True, input=None):
        return run(["runuser", "-u", "cyrus", "--", CYRUS_BIN + "/" + name, "-C", self.conf] + list(args),
                   check=check, input=input)

    def lmtp(self, sender, rcpts, msg):
        c = smtplib.LMTP(self.root + "/config/socket/lmtp")
        try:
            c.ehlo_or_helo_if_needed()
            refused = c.sendmail(sender, rcpts, msg)
            if refused:
                raise Fail("LMTP refused %r" % refused)
        finally:
            c.quit()

    def http_put(self, user, path, body, ctype):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        auth = base64.b64encode(("%s:x" % user).encode()).decode()
        c.request("PUT", path, body=body, headers={"Authorization": "Basic " + auth, "Content-Type": ctype})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def http_req(self, user, method, path, body=None, headers=None):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=30)
        auth = base64.b64encode(("%s:x" % user).encode()).decode()
        h = {"Authorization": "Basic " + auth}
        h.update(headers or {})
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data


# ---------------------------------------------------------------- ManageSieve (RFC 5804)

class ManageSieve:
    """Minimal ManageSieve client for Cyrus's timsieved: AUTHENTICATE PLAIN, PUTSCRIPT,
    SETACTIVE, LISTSCRIPTS, GETSCRIPT."""

    def __init__(self, port, user, password="x"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.sock.makefile("rb")
        self.user = user
        self.greeting = self._response()
        if self.greeting[0] != b"OK":
            raise Fail("bad ManageSieve greeting %r" % (self.greeting,))
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode())
        self.cmd(b'AUTHENTICATE "PLAIN" ' + q(token))

    def _response(self):
        """-> (status, lines before it (literals inlined as bytes), status line)."""
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise Fail("ManageSieve connection closed")
            m = re.search(rb"\{(\d+)\+?\}\r\n$", line)
            if m:
                lit = self.f.read(int(m.group(1)))
                rest = self.f.readline()
                lines.append((line[:m.start()], lit, rest))
                continue
            word = line.split(b" ", 1)[0].strip()
            if word in (b"OK", b"NO", b"BYE"):
                return word, lines, line
            lines.append(line)

    def cmd(self, line, literal=None, ok=True):
        out = line
        if literal is not None:
            out += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(out + b"\r\n")
        st, lines, last = self._response()
        if ok and st != b"OK":
            raise Fail("ManageSieve %s: %r -> %r" % (self.user, line[:80], last))
        return st, lines, last

    def putscript(self, name, text):
        return self.cmd(b"PUTSCRIPT " + q(name), literal=text)

    def setactive(self, name):
        return self.cmd(b"SETACTIVE " + q(name))

    def listscripts(self):
        st, lines, _ = self.cmd(b"LISTSCRIPTS")
        out = []
        for l in lines:
            items, _ = parse_sexp(l)
            out.append(dict(name=items[0].decode(), active=len(items) > 1 and items[1] == b"ACTIVE"))
        return out

    def getscript(self, name):
        st, lines, _ = self.cmd(b"GETSCRIPT " + q(name))
        for l in lines:
            if isinstance(l, tuple):
                return l[1]
        raise Fail("GETSCRIPT %s: no literal in %r" % (name, lines))

    def close(self):
        try:
            self.cmd(b"LOGOUT", ok=False)
        except Exception:
            pass
        self.sock.close()
