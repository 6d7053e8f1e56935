#!/usr/bin/python3
"""Generate cyrconv's test fixtures with a real, private Cyrus IMAP 3.6.

Usage: tools/make-fixtures [NAME...]     (no NAME: all fixtures)

See fixtures/README.md for what is produced.  Standard library only.
"""
import glob
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cyrus_sandbox import (Cyrus, Fail, Imap, Lit, ManageSieve, log, mutf7_decode, mutf7_encode, parse_sexp,
                           parse_internaldate, pkg_version, private_imapd, q, run, ensure_packages,
                           DEB_PACKAGES, imap_date)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXDIR = os.path.join(REPO, "fixtures")

# ------------------------------------------------------------------ corpus
# Real messages shipped by Debian packages (see fixtures/SOURCES.md).
PY = "/usr/lib/python3.11/test/test_email/data"
SA = "/usr/share/doc/spamassassin/examples"
EN = "/usr/share/gocode/src/github.com/jhillyerd/enmime/testdata"
CORPUS_PACKAGES = ["libpython3.11-testsuite", "spamassassin", "golang-github-jhillyerd-enmime-dev"]


def load(path):
    with open(path, "rb") as f:
        return f.read()


def crlf(b):
    return b.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n")


def strip_from_(b):
    """Drop an mbox 'From ' separator line, as a delivery agent does."""
    if b.startswith(b"From "):
        return b.split(b"\n", 1)[1]
    return b


class Corpus:
    def __init__(self, seed):
        files = sorted(glob.glob(PY + "/msg_*.txt")) + sorted(glob.glob(SA + "/sample-*.txt"))
        files += sorted(glob.glob(EN + "/mail/*.raw")) + sorted(glob.glob(EN + "/low-quality/*.raw"))
        files = [f for f in files if os.path.getsize(f) < 12000]
        if len(files) < 60:
            raise Fail("message corpus missing; are %s installed?" % ", ".join(CORPUS_PACKAGES))
        self.files = files
        self.rng = random.Random(seed)
        self.order = list(files)
        self.rng.shuffle(self.order)
        self.i = 0

    def ident(self, path):
        for pre, name in ((PY, "python3.11"), (SA, "spamassassin"), (EN, "enmime")):
            if path.startswith(pre):
                return name + ":" + os.path.relpath(path, pre)
        return path

    def next(self):
        """Next well-formed message (CRLF, no From_ line) and its source id."""
        while True:
            p = self.order[self.i % len(self.order)]
            self.i += 1
            b = crlf(strip_from_(load(p)))
            hdr = b.split(b"\r\n\r\n", 1)[0]
            if any(l and l[:1] not in b" \t" and b":" not in l for l in hdr.split(b"\r\n")):
                continue   # header line without colon: Cyrus refuses it (used on purpose elsewhere)
            if len(hdr) == len(b):
                continue
            return b, self.ident(p)


# ------------------------------------------------------------------ fixture context

class Fx:
    def __init__(self, name, cyrus, sep, altns, seed):
        self.name = name
        self.c = cyrus
        self.sep = sep
        self.altns = altns
        self.corpus = Corpus(seed)
        self.rng = random.Random(seed + 1)
        self.sessions = {}
        self.users = []
        self.notes = []          # human-readable list of what was done / refused
        self.refused = []
        self.date = int(datetime(2012, 3, 4, 5, 6, 7, tzinfo=timezone.utc).timestamp())

    def imap(self, user):
        if user not in self.sessions:
            self.sessions[user] = Imap(self.c.imap_port, user)
        return self.sessions[user]

    def close_sessions(self):
        for s in self.sessions.values():
            s.close()
        self.sessions = {}

    def fname(self, path):
        """User-visible folder name (UTF-8, '/'-separated, relative to the user) -> raw IMAP name."""
        if path == "INBOX":
            return "INBOX"
        raw = self.sep.join(mutf7_encode(p) for p in path.split("/"))
        return raw if self.altns else "INBOX" + self.sep + raw

    def next_date(self):
        self.date += 86400 + self.rng.randrange(0, 86400)
        return self.date

    def create(self, user, path):
        self.imap(user).cmd(b"CREATE", q(self.fname(path)))

    def append(self, user, folder_raw, msg, flags=(), date=None, binary=False, src=None, expect_ok=True):
        if date is None:
            date = self.next_date()
        d = imap_date(date) if isinstance(date, int) else '"%s"' % date
        parts = [b"APPEND", q(folder_raw)]
        if flags:
            parts.append(("(" + " ".join(flags) + ")").encode())
        parts += [d.encode(), Lit(msg, binary=binary)]
        st, unt, tagged = self.imap(user).cmd(*parts, ok=False)
        if st != b"OK":
            self.refused.append({"user": user, "folder_raw": folder_raw, "source": src, "date": d,
                                 "binary": binary, "response": tagged.decode(errors="replace").strip()})
            if expect_ok:
                raise Fail("APPEND refused: %r (%s)" % (tagged, src))
            return None
        m = re.search(rb"\[APPENDUID \d+ (\d+)\]", tagged)
        return int(m.group(1))

    def fill(self, user, path, n, flags_fn=None):
        raw = self.fname(path)
        uids = []
        for k in range(n):
            msg, src = self.corpus.next()
            fl = flags_fn(k) if flags_fn else self.random_flags()
            uids.append(self.append(user, raw, msg, fl, src=src))
        return uids

    def random_flags(self):
        return [f for f, p in (("\\Seen", 0.6), ("\\Answered", 0.2), ("\\Flagged", 0.15)) if self.rng.random() < p]

    def lmtp(self, rcpts, n):
        done = 0
        while done < n:
            msg, src = self.corpus.next()
            if self.lmtp_one(rcpts, msg, src):
                done += 1

    def lmtp_one(self, rcpts, msg, src):
        import smtplib
        try:
            self.c.lmtp("fixtures@example.invalid", rcpts, msg)
            return True
        except smtplib.SMTPException as e:
            self.refused.append({"lmtp": rcpts, "source": src, "response": str(e)})
            return False


SYS = ["\\Seen", "\\Answered", "\\Flagged", "\\Draft", "\\Deleted"]
KEYWORDS = ["$Forwarded", "$MDNSent", "$Junk", "$NotJunk", "$Phishing", "$Label1", "$Label2", "$Label3",
            "$Label4", "$Label5", "Junk", "NonJunk", "$Important", "$Submitted", "$HasAttachment",
            "$HasNoAttachment", "Todo", "Work", "Personal", "Later", "Followup", "Review", "Invoice",
            "Travel", "Family", "Newsletter", "Receipts", "Project-X", "customer_42", "a.b-c"]

# INTERNALDATEs over decades, various zones; some beyond 2038
DATES = ["01-Jan-1971 00:00:01 +0000", "15-Jun-1975 12:00:00 -0500", "29-Feb-1980 23:59:59 +0100",
         "09-Sep-1985 09:09:09 +0930", "31-Dec-1989 23:59:59 +0000", "03-Oct-1990 00:00:00 +0200",
         "01-Jan-1996 10:11:12 -0800", "31-Dec-1999 23:59:59 +0000", "01-Jan-2000 00:00:00 +0000",
         "29-Feb-2000 12:00:00 +0000", "09-Sep-2001 01:46:40 +0000", "27-Mar-2005 01:59:59 +0100",
         "30-Oct-2011 02:30:00 +0200", "28-Feb-2015 18:00:00 -0300", "01-Jan-2020 00:00:00 +1400",
         "31-Dec-2025 23:59:59 -1200", "18-May-2033 03:33:20 +0000", "31-Dec-2037 23:59:59 +0000",
         "19-Jan-2038 03:14:07 +0000", "19-Jan-2038 03:14:08 +0000", "01-Jan-2040 00:00:00 +0000",
         "01-Jan-2100 00:00:00 +0000", "07-Feb-2106 06:28:15 +0000"]

ICS = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//cyrconv fixtures//EN\r\nBEGIN:VEVENT\r\n"
       "UID:%(uid)s\r\nDTSTAMP:20200102T030405Z\r\nDTSTART:%(start)s\r\nDTEND:%(end)s\r\n"
       "SUMMARY:%(summary)s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
VCF = ("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%(uid)s\r\nFN:%(fn)s\r\nN:%(n)s\r\n"
       "EMAIL;TYPE=INTERNET:%(email)s\r\nEND:VCARD\r\n")


def special_messages():
    """Real messages that need special handling (bare LF, 8-bit, no Date, broken MIME)."""
    out = []
    # bare LF in the body (headers converted to CRLF, body kept as shipped): BINARY literal
    for f in ("msg_02.txt", "msg_07.txt"):
        b = strip_from_(load(PY + "/" + f))
        h, body = b.split(b"\n\n", 1)
        out.append(("bare-LF body", crlf(h) + b"\r\n\r\n" + body, "python3.11:" + f, True))
    # mixed: CRLF body with some bare LF lines
    b = crlf(load(PY + "/msg_04.txt"))
    h, body = b.split(b"\r\n\r\n", 1)
    out.append(("mixed CRLF/LF body", h + b"\r\n\r\n" + body.replace(b"\r\n", b"\n", 3), "python3.11:msg_04.txt", True))
    for f, why in (("mail/mime-bad-8bit-filename.raw", "8-bit bytes in MIME part headers"),
                   ("mail/non-mime-missing-charset.raw", "8-bit body, no charset"),
                   ("low-quality/incorrect-charset.raw", "8-bit body, wrong charset"),
                   ("low-quality/bad-final-boundary.raw", "broken MIME: bad final boundary"),
                   ("low-quality/malformed-base64-attach.raw", "broken MIME: malformed base64"),
                   ("low-quality/missing-content-type.raw", "broken MIME: no Content-Type"),
                   ("low-quality/unk-encoding-part.raw", "broken MIME: unknown encoding"),
                   ("mail/header-only.raw", "header only, no body")):
        out.append((why, crlf(load(EN + "/" + f)), "enmime:" + f, False))
    for f, why in (("msg_05.txt", "no Date header"), ("msg_31.txt", "no Date, broken MIME boundaries")):
        out.append((why, crlf(load(PY + "/" + f)), "python3.11:" + f, False))
    return out


REFUSED_TRIES = [
    ("header line without colon", PY + "/msg_19.txt", "python3.11:msg_19.txt"),
    ("header line without colon", EN + "/mail/erroneous.raw", "enmime:mail/erroneous.raw"),
]


# ------------------------------------------------------------------ scenarios

def scenario_default(fx):
    c = fx.c
    admin = fx.imap("cyrus")
    fx.users = ["alice", "john.doe"]
    for u in fx.users:
        admin.cmd(b"CREATE", q("user/" + u))
    admin.cmd(b"SETQUOTA", q("user/alice"), b"(STORAGE 512000)")
    admin.cmd(b"CREATE", q("shared"))
    admin.cmd(b"CREATE", q("shared/" + mutf7_encode("Ankündigungen")))
    for mb in ("shared", "shared/" + mutf7_encode("Ankündigungen")):
        admin.cmd(b"SETACL", q(mb), b"alice", b"lrswipkxtecda")
        admin.cmd(b"SETACL", q(mb), q("john.doe"), b"lrsw")

    # LMTP: some to both users (single-instance store: hard links)
    fx.lmtp(["alice"], 4)
    fx.lmtp(["alice", "john.doe"], 3)
    fx.lmtp(["john.doe"], 2)

    u = "alice"
    folders = ["Sent", "Drafts", "Trash", "Junk", "Calendar", "Contacts",
               "Archiv", "Archiv/2019", "Archiv/Entwürfe", "日本語", "日本語/メール", "Tom & Jerry",
               "Ärger & Ölpreis", "Projekt.Alt", "Projekt.Alt/Sub.Dir", "News", "news", "NEWS",
               "Sterne*", "INBOX/Unterordner", "Leer", "Flags", "Keywords", "Daten", "Expunged", "Raw",
               "Alt", "Alt/Kind"]
    for f in folders:
        fx.create(u, f)
    # tiefer Pfad ohne Eltern: Cyrus legt die Zwischenordner selbst an
    fx.create(u, "Tief/a/b/c/d")
    for f in ["Sent", "Drafts", "Trash", "Junk", "Calendar", "Contacts", "Archiv/Entwürfe", "日本語/メール", "Tom & Jerry", "Ärger & Ölpreis",
              "Projekt.Alt/Sub.Dir", "News", "news", "NEWS", "Sterne*", "INBOX/Unterordner",
              "Tief/a/b/c/d", "Alt", "Alt/Kind"]:
        fx.fill(u, f, 1)
    fx.fill(u, "Drafts", 1, lambda k: ["\\Draft"])

    # all 32 combinations of the five system flags; half set at APPEND, half by STORE
    raw = fx.fname("Flags")
    im = fx.imap(u)
    pending = []
    for i in range(32):
        fl = [SYS[b] for b in range(5) if i >> b & 1]
        msg, src = fx.corpus.next()
        if i % 2 == 0:
            fx.append(u, raw, msg, fl, src=src)
        else:
            pending.append((fx.append(u, raw, msg, [], src=src), fl))
    im.cmd(b"SELECT", q(raw))
    for uid, fl in pending:
        if fl:
            im.cmd(b"UID", b"STORE", str(uid).encode(), b"+FLAGS.SILENT", ("(" + " ".join(fl) + ")").encode())
    # one flag set and removed again
    im.cmd(b"UID", b"STORE", str(pending[0][0]).encode(), b"+FLAGS.SILENT", b"(\\Flagged)")
    im.cmd(b"UID", b"STORE", str(pending[0][0]).encode(), b"-FLAGS.SILENT", b"(\\Flagged)")
    im.cmd(b"UNSELECT")

    # 30 keywords in one folder (+ one that is used and then removed from every message)
    raw = fx.fname("Keywords")
    uids = []
    for k in range(6):
        kws = [KEYWORDS[j] for j in range(len(KEYWORDS)) if j % 6 == k or fx.rng.random() < 0.12]
        msg, src = fx.corpus.next()
        uids.append(fx.append(u, raw, msg, kws + fx.random_flags(), src=src))
    im.cmd(b"SELECT", q(raw))
    im.cmd(b"UID", b"STORE", b"%d:%d" % (uids[0], uids[-1]), b"+FLAGS.SILENT", b"(Temporary-Keyword)")
    im.cmd(b"UID", b"STORE", b"%d:%d" % (uids[0], uids[-1]), b"-FLAGS.SILENT", b"(Temporary-Keyword)")
    im.cmd(b"UID", b"STORE", str(uids[3]).encode(), b"+FLAGS.SILENT", b"($Label1 $Forwarded)")
    im.cmd(b"UNSELECT")

    # INTERNALDATEs over decades (Cyrus refuses < 1970; see refused.jsonl for what it refused)
    raw = fx.fname("Daten")
    for d in DATES[:-5:3] + DATES[-5:]:
        msg, src = fx.corpus.next()
        fx.append(u, raw, msg, ["\\Seen"], date=d, src=src, expect_ok=False)

    # expunged but still on disk (expunge_mode: delayed)
    raw = fx.fname("Expunged")
    uids = fx.fill(u, "Expunged", 7)
    im.cmd(b"SELECT", q(raw))
    im.cmd(b"UID", b"STORE", b"%d,%d" % (uids[1], uids[3]), b"+FLAGS.SILENT", b"(\\Deleted)")
    im.cmd(b"EXPUNGE")
    im.cmd(b"UID", b"STORE", str(uids[5]).encode(), b"+FLAGS.SILENT", b"(\\Deleted)")
    im.cmd(b"UID", b"STORE", str(uids[6]).encode(), b"+FLAGS.SILENT", b"(\\Deleted)")
    im.cmd(b"UID", b"EXPUNGE", str(uids[5]).encode())   # uids[6] stays, \Deleted but not expunged
    im.cmd(b"UNSELECT")
    im.cmd(b"SELECT", b"INBOX")
    im.cmd(b"UID", b"STORE", b"2", b"+FLAGS.SILENT", b"(\\Deleted)")
    im.cmd(b"UID", b"EXPUNGE", b"2")
    im.cmd(b"UID", b"STORE", b"1,3", b"+FLAGS.SILENT", b"(\\Seen)")
    im.cmd(b"UNSELECT")

    # special messages
    raw = fx.fname("Raw")
    for why, msg, src, binary in special_messages():
        fx.append(u, raw, msg, [], src=src, binary=binary)
        fx.notes.append("alice/Raw: %s (%s%s)" % (why, src, ", BINARY literal" if binary else ""))
    for why, path, src in REFUSED_TRIES:
        fx.append(u, raw, crlf(load(path)), [], src=src, expect_ok=False)
    # a no-Date message over LMTP: lmtpd adds what it adds
    if not fx.lmtp_one(["alice"], crlf(load(PY + "/msg_18.txt")), "python3.11:msg_18.txt"):
        raise Fail("LMTP of msg_18 refused")

    # COPY and MOVE (hard links)
    im.cmd(b"SELECT", fx.fname("Sent").encode())
    im.cmd(b"UID", b"COPY", b"1:*", q(fx.fname("Archiv/2019")))
    im.cmd(b"UNSELECT")

    # subscriptions, one to a folder deleted afterwards (dangling)
    for f in ["INBOX", "Sent", "Drafts", "Archiv/Entwürfe", "日本語/メール", "News", "Alt", "Alt/Kind",
              "Tom & Jerry", "Tief/a/b/c/d"]:
        im.cmd(b"SUBSCRIBE", q(fx.fname(f)))
    im.cmd(b"SUBSCRIBE", q("Shared Folders/shared"))
    # delayed delete: Alt/Kind then Alt; and Weg
    im.cmd(b"DELETE", q(fx.fname("Alt/Kind")))
    im.cmd(b"DELETE", q(fx.fname("Alt")))
    fx.notes.append("alice: deleted Alt/Kind, Alt (delete_mode: delayed); subscriptions to Alt and Alt/Kind remain")

    # shared folder: appended by alice, \Seen per user (not the owner's index bit)
    sh = "Shared Folders/shared"
    sh2 = "Shared Folders/shared/" + mutf7_encode("Ankündigungen")
    for mb in (sh, sh2):
        for k in range(2 if mb == sh else 1):
            msg, src = fx.corpus.next()
            fx.append(u, mb, msg, ["\\Seen"] if k == 0 else [], src=src)
    j = fx.imap("john.doe")
    j.cmd(b"SELECT", q(sh))
    j.cmd(b"UID", b"STORE", b"2", b"+FLAGS.SILENT", b"(\\Seen \\Flagged)")
    j.cmd(b"UNSELECT")

    # john.doe
    u = "john.doe"
    for f in ["Sent", "Notes.2024", "Kopie", "Verschoben"]:
        fx.create(u, f)
    fx.fill(u, "Sent", 2)
    fx.fill(u, "Notes.2024", 1)
    j.cmd(b"SELECT", b"INBOX")
    j.cmd(b"UID", b"STORE", b"1", b"+FLAGS.SILENT", b"(\\Seen \\Answered)")
    j.cmd(b"UID", b"COPY", b"1:2", q(fx.fname("Kopie")))
    j.cmd(b"UID", b"MOVE", b"3", q(fx.fname("Verschoben")))
    j.cmd(b"UNSELECT")
    for f in ["INBOX", "Sent", "Notes.2024"]:
        j.cmd(b"SUBSCRIBE", q(fx.fname(f)))
    j.cmd(b"SUBSCRIBE", q(sh2))

    dav_default(fx)


def dav_default(fx):
    c = fx.c
    results = []
    st, body = c.http_put("alice", "/dav/calendars/user/alice/Default/fixture-event-1.ics",
                          (ICS % dict(uid="fixture-event-1@example.invalid", start="20210304T090000Z",
                                      end="20210304T100000Z", summary="Besprechung")).encode(), "text/calendar")
    results.append(("PUT calendar alice/Default/fixture-event-1.ics", st, body))
    st, body = c.http_put("alice", "/dav/calendars/user/alice/Default/fixture-event-2.ics",
                          (ICS % dict(uid="fixture-event-2@example.invalid", start="20391231T230000Z",
                                      end="20400101T010000Z", summary="Silvester 2039")).encode(), "text/calendar")
    results.append(("PUT calendar alice/Default/fixture-event-2.ics", st, body))
    st, body = c.http_put("alice", "/dav/addressbooks/user/alice/Default/fixture-card-1.vcf",
                          (VCF % dict(uid="fixture-card-1", fn="Jürgen Müller", n="Müller;Jürgen;;;",
                                      email="juergen@example.invalid")).encode(), "text/vcard; charset=utf-8")
    results.append(("PUT addressbook alice/Default/fixture-card-1.vcf", st, body))
    st, body = c.http_req("alice", "MKCALENDAR", "/dav/calendars/user/alice/Arbeit/")
    results.append(("MKCALENDAR alice/Arbeit", st, body))
    st, body = c.http_put("alice", "/dav/calendars/user/alice/Arbeit/fixture-event-3.ics",
                          (ICS % dict(uid="fixture-event-3@example.invalid", start="20220101T080000Z",
                                      end="20220101T083000Z", summary="Standup")).encode(), "text/calendar")
    results.append(("PUT calendar alice/Arbeit/fixture-event-3.ics", st, body))
    for what, st, body in results:
        if st not in (200, 201, 204):
            raise Fail("DAV %s -> %s %r" % (what, st, body[:300]))
        fx.notes.append("DAV: %s -> HTTP %d" % (what, st))


def scenario_legacy(fx):
    admin = fx.imap("cyrus")
    fx.users = ["anna@example.org", "bob@example.net", "carl"]
    for u in fx.users:
        admin.cmd(b"CREATE", q("user." + u))
    admin.cmd(b"SETQUOTA", q("user.anna@example.org"), b"(STORAGE 100000)")
    # a shared folder inside a domain
    admin.cmd(b"CREATE", q("lists@example.org"))
    admin.cmd(b"CREATE", q("lists." + mutf7_encode("Ankündigungen") + "@example.org"))
    for mb in ("lists@example.org", "lists." + mutf7_encode("Ankündigungen") + "@example.org"):
        admin.cmd(b"SETACL", q(mb), q("anna@example.org"), b"lrswipkxtecda")

    fx.lmtp(["anna@example.org"], 5)
    fx.lmtp(["anna@example.org", "bob@example.net"], 3)
    fx.lmtp(["carl"], 3)

    u = "anna@example.org"
    folders = ["Sent", "Drafts", "Trash", "Junk", "Archiv", "Archiv/2020", "Archiv/2020/Q2",
               "Archiv/2020/Q2/Kunden", "Entwürfe", "中文", "中文/邮件",
               "Tom & Jerry", "News", "news", "Flags", "Keywords", "Expunged", "Raw", "Weg", "Leer"]
    for f in folders:
        fx.create(u, f)
    for f in ["Sent", "Drafts", "Trash", "Junk", "Archiv/2020", "Archiv/2020/Q2/Kunden", "Entwürfe",
              "中文/邮件", "Tom & Jerry", "News", "news", "Weg"]:
        fx.fill(u, f, 1)
    raw = fx.fname("Flags")
    for i in (0, 1, 3, 7, 15, 31, 16, 20):
        msg, src = fx.corpus.next()
        fx.append(u, raw, msg, [SYS[b] for b in range(5) if i >> b & 1], src=src)
    raw = fx.fname("Keywords")
    for k in range(8):
        kws = [KEYWORDS[j] for j in range(len(KEYWORDS)) if j % 8 == k]
        msg, src = fx.corpus.next()
        fx.append(u, raw, msg, kws + fx.random_flags(), src=src)
    im = fx.imap(u)
    uids = fx.fill(u, "Expunged", 6)
    im.cmd(b"SELECT", q(fx.fname("Expunged")))
    im.cmd(b"UID", b"STORE", b"%d,%d" % (uids[0], uids[3]), b"+FLAGS.SILENT", b"(\\Deleted)")
    im.cmd(b"EXPUNGE")
    im.cmd(b"UNSELECT")
    raw = fx.fname("Raw")
    for why, msg, src, binary in special_messages()[::4]:
        fx.append(u, raw, msg, [], src=src, binary=binary)
        fx.notes.append("anna/Raw: %s (%s%s)" % (why, src, ", BINARY literal" if binary else ""))
    for f in ["INBOX", "Sent", "Entwürfe", "中文/邮件", "Weg"]:
        im.cmd(b"SUBSCRIBE", q(fx.fname(f)))
    im.cmd(b"DELETE", q(fx.fname("Weg")))
    for k in range(3):
        msg, src = fx.corpus.next()
        fx.append(u, "lists", msg, ["\\Seen"] if k == 1 else [], src=src)
    im.cmd(b"SUBSCRIBE", b"lists")

    u = "bob@example.net"
    for f in ["Sent", "Calendar", "Contacts", "Gesendete Objekte"]:
        fx.create(u, f)
        fx.fill(u, f, 1)
    fx.imap(u).cmd(b"SUBSCRIBE", b"INBOX")
    u = "carl"
    for f in ["Sent", "Archive/2001"]:
        fx.create(u, f)
        fx.fill(u, f, 1)
    fx.imap(u).cmd(b"SUBSCRIBE", q(fx.fname("Archive/2001")))


# ------------------------------------------------------------------ cyrus36-dotsep (issue #21)

def scenario_dotsep(fx):
    """Filled with unixhierarchysep: yes, so a '.' typed in a folder name is stored as '^'
    (user.dora.caret^name); post_dotsep then switches the server to the '.' separator, which
    serves that '^' as a literal '^' (INBOX.caret^name): Cyrus itself refuses '^' in new names."""
    admin = fx.imap("cyrus")
    fx.users = ["dora"]
    admin.cmd(b"CREATE", q("user/dora"))
    fx.lmtp(["dora"], 2)
    u = "dora"
    for f in ["caret.name", "Alt.Sub", "Alt.Sub/Kind.x", "Sent", "Projekte/2024"]:
        fx.create(u, f)
        fx.fill(u, f, 1)
    im = fx.imap(u)
    for f in ["INBOX", "caret.name", "Alt.Sub/Kind.x"]:
        im.cmd(b"SUBSCRIBE", q(fx.fname(f)))
    fx.notes.append("dora: folders created with unixhierarchysep: yes, served with unixhierarchysep: no")


def post_dotsep(fx):
    fx.c.settings = dict(fx.c.settings, unixhierarchysep="no")
    fx.c.write_conf()
    fx.sep = "."
    fx.notes.append("server stopped, imapd.conf switched to unixhierarchysep: no, started again")


OLD_VERSIONS = [6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]


def scenario_oldindex(fx):
    admin = fx.imap("cyrus")
    fx.users = ["olga"]
    admin.cmd(b"CREATE", b"user/olga")
    u = "olga"
    fx.lmtp(["olga"], 1)
    for v in OLD_VERSIONS:
        f = "v%02d" % v
        fx.create(u, f)
        uids = []
        for i in range(4):
            msg, src = fx.corpus.next()
            fl = [SYS[b] for b in range(5) if (i * 7 + v) >> b & 1]
            fl += [KEYWORDS[(v + i + j) % len(KEYWORDS)] for j in range(i % 3)]
            uids.append(fx.append(u, fx.fname(f), msg, fl, src=src))
        im = fx.imap(u)
        im.cmd(b"SELECT", q(fx.fname(f)))
        im.cmd(b"UID", b"STORE", str(uids[2]).encode(), b"+FLAGS.SILENT", b"(\\Deleted)")
        im.cmd(b"UID", b"EXPUNGE", str(uids[2]).encode())
        im.cmd(b"UNSELECT")
        im.cmd(b"SUBSCRIBE", q(fx.fname(f)))


def post_oldindex(fx):
    """With the server stopped, let Cyrus's own reconstruct rewrite each folder's
    cyrus.index to an older minor version (17 -> 9 -> 10 for version 10)."""
    for v in OLD_VERSIONS:
        if v == 17:
            continue
        mb = "user/olga/v%02d" % v
        steps = [9, 10] if v == 10 else [v]
        for s in steps:
            r = fx.c.tool("reconstruct", "-V", str(s), mb, check=False)
            fx.notes.append("reconstruct -V %d %s -> rc %d %s" % (s, mb, r.returncode,
                            (r.stdout + r.stderr).decode(errors="replace").strip().replace("\n", " | ")[:300]))
            if r.returncode != 0:
                raise Fail("reconstruct -V %d %s failed: %s" % (s, mb, r.stderr.decode(errors="replace")))


# ------------------------------------------------------------------ cyrus36-extras (issue #11)

# Sieve scripts written for the fixture (no third-party text).  fileinto names are modified
# UTF-7 in the user's (alternate) namespace, as Cyrus expects with sieve_utf8fileinto: no.
SIEVE_UTE_FILTER = """require ["fileinto", "vacation", "envelope", "subaddress", "imap4flags"];
# cyrconv fixture: mail to ute+rechnung goes to the folder "B\u00fcro" (modified UTF-7 below)
if envelope :detail "to" "rechnung" {
  addflag "$Rechnung";
  fileinto "%(buero)s";
  stop;
}
if header :contains "List-Id" "fixtures" {
  fileinto "Listen";
  stop;
}
vacation :days 7 :addresses ["ute@example.invalid"] :subject "Abwesend"
  "Ich bin bis Montag nicht im B\u00fcro. Your mail will be read later.";
"""
SIEVE_UTE_OLD = """require ["fileinto"];
# an older, inactive script of ute's
if header :contains "Subject" "[alt]" {
  fileinto "Archiv";
}
"""
SIEVE_VERA = """require ["fileinto", "reject"];
# vera's only script (active)
if address :domain :is "from" "spam.invalid" {
  fileinto "Trash";
} elsif header :contains "Subject" "unerw\u00fcnscht" {
  reject "Nein danke.";
}
"""


def scenario_extras(fx):
    admin = fx.imap("cyrus")
    fx.users = ["ute", "vera", "walter"]
    for u in fx.users:
        admin.cmd(b"CREATE", q("user/" + u))
    # quota: ute with STORAGE and MESSAGE limits, vera and walter without
    admin.cmd(b"SETQUOTA", q("user/ute"), b"(STORAGE 20480 MESSAGE 200)")
    fx.notes.append("quota: SETQUOTA user/ute (STORAGE 20480 MESSAGE 200); vera, walter: no quota root")

    fx.lmtp(["ute"], 3)
    fx.lmtp(["vera"], 2)
    fx.lmtp(["walter"], 1)

    # special-use, set both ways, one under a non-standard name (Gesendet = \Sent)
    ute = fx.imap("ute")
    ute.cmd(b"CREATE", q(fx.fname("Gesendet")), b"(USE (\\Sent))")
    ute.cmd(b"CREATE", q(fx.fname("Trash")), b"(USE (\\Trash))")
    ute.cmd(b"CREATE", q(fx.fname("Archiv")), b"(USE (\\Archive))")
    for f in ("Drafts", "Spam", "Büro", "Listen", "Projekte", "Projekte/Intern"):
        fx.create("ute", f)
    ute.cmd(b"SETMETADATA", q(fx.fname("Drafts")), b'(/private/specialuse "\\\\Drafts")')
    ute.cmd(b"SETMETADATA", q(fx.fname("Spam")), b'(/private/specialuse "\\\\Junk")')
    fx.notes.append("special-use (ute): CREATE (USE) Gesendet=\\Sent, Trash=\\Trash, Archiv=\\Archive; "
                    "SETMETADATA /private/specialuse Drafts=\\Drafts, Spam=\\Junk")
    vera = fx.imap("vera")
    vera.cmd(b"CREATE", q(fx.fname("Sent")), b"(USE (\\Sent))")
    vera.cmd(b"CREATE", q(fx.fname("Trash")))
    vera.cmd(b"SETMETADATA", q(fx.fname("Trash")), b'(/private/specialuse "\\\\Trash")')
    fx.notes.append("special-use (vera): CREATE (USE) Sent=\\Sent; SETMETADATA Trash=\\Trash")
    for f in ("Gesendet", "Trash", "Archiv", "Drafts", "Projekte", "Projekte/Intern", "Listen"):
        fx.fill("ute", f, 1)
    fx.fill("vera", "Sent", 1)
    fx.create("walter", "Sent")
    fx.fill("walter", "Sent", 1)

    # comments: /private/comment by the owner, /shared/comment by the owner and by the admin
    ute.cmd(b"SETMETADATA", q(fx.fname("Projekte")), b"(/private/comment",
            Lit("Nur für mich: laufende Projekte".encode()), b")")
    ute.cmd(b"SETMETADATA", q(fx.fname("Projekte/Intern")), b'(/shared/comment "Team-intern")')
    fx.notes.append("annotations: /private/comment on ute's Projekte, /shared/comment on ute's Projekte/Intern "
                    "(none on shared folders: imapd 3.6.1 dies on SETMETADATA of a non-user mailbox)")

    # ACLs on user folders, set by the owner: partial rights, legacy letters, anyone, group, negative
    ute.cmd(b"SETACL", q(fx.fname("Projekte")), b"vera", b"lrs")
    ute.cmd(b"SETACL", q(fx.fname("Projekte")), b"walter", b"lrcd")          # legacy c and d
    ute.cmd(b"SETACL", q(fx.fname("Projekte/Intern")), b"vera", b"lrswi")
    ute.cmd(b"SETACL", q(fx.fname("Listen")), b"anyone", b"lr")
    ute.cmd(b"SETACL", q(fx.fname("Listen")), b"-walter", b"lr")              # everyone but walter
    ute.cmd(b"SETACL", q(fx.fname("Archiv")), q("group:mail"), b"lrs")
    fx.notes.append("ACL (set by ute): Projekte vera=lrs walter=lrcd (legacy letters); Projekte/Intern vera=lrswi; "
                    "Listen anyone=lr -walter=lr (negative); Archiv group:mail=lrs")

    # shared (non-user) folders with their own ACLs, set by the admin
    admin.cmd(b"CREATE", q("public"))
    admin.cmd(b"CREATE", q("public/announcements"))
    admin.cmd(b"CREATE", q("public/" + mutf7_encode("Ankündigungen")))
    admin.cmd(b"SETACL", q("public"), b"anyone", b"lrs")
    admin.cmd(b"SETACL", q("public"), b"ute", b"lrswipkxtecda")
    admin.cmd(b"SETACL", q("public"), q("group:mail"), b"lrsp")
    admin.cmd(b"SETACL", q("public/announcements"), b"anyone", b"lr")
    admin.cmd(b"SETACL", q("public/announcements"), b"ute", b"lrswipte")
    admin.cmd(b"SETACL", q("public/announcements"), b"-walter", b"lr")
    admin.cmd(b"SETACL", q("public/" + mutf7_encode("Ankündigungen")), b"vera", b"lrsip")
    admin.cmd(b"DELETEACL", q("public/" + mutf7_encode("Ankündigungen")), b"anyone")
    # No annotation on the shared folders: Debian's imapd 3.6.1 drops the connection (the process
    # dies) on SETMETADATA of any entry on a non-user mailbox, as admin or as a user with all rights.
    fx.notes.append("shared folders: public (anyone=lrs, ute=all, group:mail=lrsp), public/announcements "
                    "(anyone=lr, ute=lrswipte, -walter=lr), public/Ankündigungen (vera=lrsip, anyone removed)")
    for mb, n in (("Shared Folders/public", 1), ("Shared Folders/public/announcements", 2)):
        for k in range(n):
            msg, src = fx.corpus.next()
            fx.append("ute", mb, msg, ["\\Seen"] if k == 0 else [], src=src)
    msg, src = fx.corpus.next()
    fx.append("vera", "Shared Folders/public/" + mutf7_encode("Ankündigungen"), msg, [], src=src)
    for u, f in (("ute", "Shared Folders/public"), ("vera", "Shared Folders/public/announcements"),
                 ("ute", "INBOX"), ("ute", fx.fname("Gesendet"))):
        fx.imap(u).cmd(b"SUBSCRIBE", q(f))

    # Sieve scripts through the real timsieved
    fx.close_sessions()
    s = ManageSieve(fx.c.sieve_port, "ute")
    try:
        s.putscript("filter", (SIEVE_UTE_FILTER % dict(buero=mutf7_encode("Büro"))).encode())
        s.putscript("alt", SIEVE_UTE_OLD.encode())
        s.setactive("filter")
    finally:
        s.close()
    s = ManageSieve(fx.c.sieve_port, "vera")
    try:
        s.putscript("vera", SIEVE_VERA.encode())
        s.setactive("vera")
    finally:
        s.close()
    fx.notes.append("ManageSieve: ute PUTSCRIPT filter (SETACTIVE) and alt (inactive); vera PUTSCRIPT vera (SETACTIVE)")
    # the active script at work: ute+rechnung is filed into Büro by lmtpd's sieve
    msg, src = fx.corpus.next()
    if not fx.lmtp_one(["ute+rechnung"], msg, src):
        raise Fail("LMTP to ute+rechnung refused")
    fx.lmtp(["ute"], 1)
    fx.notes.append("LMTP to ute+rechnung (%s): sieve fileinto Büro with addflag $Rechnung; one more LMTP to ute "
                    "(no rule matches; vacation does not answer: ute is not in To/Cc)" % src)


def extras_oracle(fx):
    """ACLs, rights, quotas, special-use, metadata and Sieve scripts as the servers report them."""
    out = {"folders": [], "users": {}}
    admin = Imap(fx.c.imap_port, "cyrus")
    try:
        # every mailbox the admin sees, in the admin's namespace (user/ute/Projekte, public)
        for raw, attrs, sep in list_folders(admin):
            if "\\NonExistent" in attrs or "\\Noselect" in attrs:
                continue
            st, unt, tagged = admin.cmd(b"GETACL", q(raw), ok=False)
            acl = []
            for r in unt:
                items, _ = parse_sexp(r)
                if items[:2] == [b"*", b"ACL"]:
                    rest = items[3:]
                    acl = [[rest[i].decode(), rest[i + 1].decode()] for i in range(0, len(rest), 2)]
            st2, unt2, _ = admin.cmd(b"GETMETADATA", q(raw), b"(/shared/comment /private/comment /shared/specialuse "
                                     b"/private/specialuse)", ok=False)
            meta = parse_metadata(unt2)
            out["folders"].append(dict(admin_name=raw, admin_name_utf8="/".join(mutf7_decode(p) for p in raw.split("/")),
                                       getacl=acl if st == b"OK" else None,
                                       getacl_status=tagged.decode().strip() if st != b"OK" else "OK",
                                       admin_metadata=meta))
    finally:
        admin.close()
    for user in fx.users:
        u = dict(list=[], myrights={}, metadata={}, quotaroot=None, quota={}, sieve=None)
        im = Imap(fx.c.imap_port, user)
        try:
            st, unt, _ = im.cmd(b"LIST", q(""), q("*"), b"RETURN", b"(SPECIAL-USE)")
            for r in unt:
                items, _ = parse_sexp(r)
                if items[:2] != [b"*", b"LIST"]:
                    continue
                raw = items[4].decode()
                attrs = sorted(a.decode() for a in items[2])
                special = sorted(a for a in attrs if a in ("\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                                          "\\Junk", "\\Sent", "\\Trash"))
                u["list"].append(dict(folder_raw=raw, folder="/".join(mutf7_decode(p) for p in raw.split("/")),
                                      attributes=attrs, special_use=special))
                if "\\NonExistent" in attrs or "\\Noselect" in attrs:
                    continue
                st, unt2, tagged = im.cmd(b"MYRIGHTS", q(raw), ok=False)
                rights = None
                for r2 in unt2:
                    it, _ = parse_sexp(r2)
                    if it[:2] == [b"*", b"MYRIGHTS"]:
                        rights = it[3].decode()
                u["myrights"][raw] = rights
                st, unt2, _ = im.cmd(b"GETMETADATA", q(raw), b"(/shared/comment /private/comment "
                                     b"/shared/specialuse /private/specialuse)", ok=False)
                u["metadata"][raw] = parse_metadata(unt2)
            st, unt, _ = im.cmd(b"GETQUOTAROOT", b"INBOX")
            for r in unt:
                items, _ = parse_sexp(r)
                if items[:2] == [b"*", b"QUOTAROOT"]:
                    u["quotaroot"] = [x.decode() for x in items[3:]]
                elif items[:2] == [b"*", b"QUOTA"]:
                    res = items[3]
                    u["quota"][items[2].decode()] = {res[i].decode(): dict(used=int(res[i + 1]), limit=int(res[i + 2]))
                                                     for i in range(0, len(res), 3)}
        finally:
            im.close()
        s = ManageSieve(fx.c.sieve_port, user)
        try:
            scripts = s.listscripts()
            for sc in scripts:
                sc["content"] = s.getscript(sc["name"]).decode()
            u["sieve"] = scripts
        finally:
            s.close()
        out["users"][user] = u
    return out


def parse_metadata(untagged):
    """* METADATA "mbox" (entry value ...) lines -> {entry: value} (NIL values left out)."""
    out = {}
    for r in untagged:
        items, _ = parse_sexp(r)
        if items[:2] != [b"*", b"METADATA"] or len(items) < 4:
            continue
        kv = items[3]
        for i in range(0, len(kv) - 1, 2):
            if kv[i + 1] is not None:
                out[kv[i].decode()] = kv[i + 1].decode()
    return out


# ------------------------------------------------------------------ cyrus36-snapshots (issue #8)

def scenario_snapshots(fx, snap, stage):
    """One store, two snapshots: a, then a list of changes, then b.  fx.changes records what
    was done; after b it is checked against the difference of the two oracles."""
    admin = fx.imap("cyrus")
    fx.users = ["sam", "tina"]
    for u in fx.users:
        admin.cmd(b"CREATE", q("user/" + u))
    fx.lmtp(["sam"], 3)
    fx.lmtp(["sam", "tina"], 1)
    fx.lmtp(["tina"], 1)
    for f in ("Sent", "Archiv", "Listen", "Wieder", "Vorher", "Weg", "Papierkorb"):
        fx.create("sam", f)
    fx.create("tina", "Notizen")
    plain = lambda k: []
    fx.fill("sam", "Sent", 2, lambda k: ["\\Seen"])
    archiv = fx.fill("sam", "Archiv", 4, lambda k: [["\\Seen", "$Label1"], ["Todo"], ["\\Seen"], []][k])
    listen = fx.fill("sam", "Listen", 3, plain)
    fx.fill("sam", "Wieder", 2, plain)
    fx.fill("sam", "Vorher", 2, lambda k: ["\\Seen"])
    fx.fill("sam", "Weg", 2, plain)
    papier = fx.fill("sam", "Papierkorb", 4, plain)
    notizen = fx.fill("tina", "Notizen", 4, plain)
    sam = fx.imap("sam")
    # already expunged before a (delayed expunge: record and file stay)
    sam.cmd(b"SELECT", q(fx.fname("Listen")))
    sam.cmd(b"UID", b"STORE", b"%d" % listen[0], b"+FLAGS.SILENT", b"(\\Deleted)")
    sam.cmd(b"UID", b"EXPUNGE", b"%d" % listen[0])
    sam.cmd(b"UNSELECT")
    sam.cmd(b"SELECT", b"INBOX")
    sam.cmd(b"UID", b"STORE", b"1", b"+FLAGS.SILENT", b"(\\Seen)")
    sam.cmd(b"UNSELECT")
    for f in ("INBOX", "Sent", "Archiv", "Wieder", "Vorher", "Weg"):
        sam.cmd(b"SUBSCRIBE", q(fx.fname(f)))
    fx.notes.append("before a: sam/Listen UID %d expunged (delayed: record and file stay)" % listen[0])
    fx.notes.append("snapshot a copied with the server stopped; changes up to b: see ../changes.json and b/NOTES.txt")
    snap("a")

    # ---- changes between a and b
    fx.notes = []
    fx.refused = []
    fx.c.start()
    ch = fx.changes = []
    sam = fx.imap("sam")
    tina = fx.imap("tina")

    def uidnext(im, folder):
        st, unt, tagged = im.cmd(b"STATUS", q(fx.fname(folder)), b"(UIDNEXT)")
        return int(re.search(rb"UIDNEXT (\d+)", b"".join(unt)).group(1))

    # new messages: APPEND into existing folders
    new = fx.fill("sam", "Archiv", 2, lambda k: [[], ["\\Flagged"]][k])
    ch.append(dict(user="sam", folder="Archiv", change="added", how="APPEND", uids=new))
    new = fx.fill("sam", "Sent", 1, lambda k: ["\\Seen"])
    ch.append(dict(user="sam", folder="Sent", change="added", how="APPEND", uids=new))
    # new messages: LMTP into INBOX
    before = {u: uidnext(fx.imap(u), "INBOX") for u in fx.users}
    fx.lmtp(["sam"], 2)
    fx.lmtp(["sam", "tina"], 1)
    for u in fx.users:
        after = uidnext(fx.imap(u), "INBOX")
        ch.append(dict(user=u, folder="INBOX", change="added", how="LMTP", uids=list(range(before[u], after))))

    # flag changes on messages present in both snapshots
    def store(im, folder, uid, op, flags, what):
        im.cmd(b"SELECT", q(fx.fname(folder)))
        im.cmd(b"UID", b"STORE", b"%d" % uid, op.encode() + b".SILENT", ("(" + flags + ")").encode())
        im.cmd(b"UNSELECT")
        ch.append(dict(user=im.user, folder=folder, change="flags", how="STORE %s (%s)" % (op, flags), uids=[uid],
                       what=what))
    store(sam, "Archiv", archiv[1], "+FLAGS", "\\Seen", "\\Seen set")
    store(sam, "Archiv", archiv[0], "-FLAGS", "\\Seen", "\\Seen cleared")
    store(sam, "Archiv", archiv[3], "+FLAGS", "\\Flagged", "\\Flagged set")
    store(sam, "Archiv", archiv[2], "+FLAGS", "Todo", "keyword Todo added")
    store(sam, "Archiv", archiv[0], "-FLAGS", "$Label1", "keyword $Label1 removed")
    store(sam, "Sent", 1, "+FLAGS", "\\Answered", "\\Answered set")
    store(sam, "INBOX", 2, "+FLAGS", "\\Flagged \\Seen", "\\Flagged and \\Seen set")
    store(tina, "INBOX", 1, "+FLAGS", "\\Seen", "\\Seen set")

    # delayed expunge: records and files stay in the spool
    sam.cmd(b"SELECT", q(fx.fname("Papierkorb")))
    gone = [papier[0], papier[2]]
    sam.cmd(b"UID", b"STORE", b"%d,%d" % tuple(gone), b"+FLAGS.SILENT", b"(\\Deleted)")
    sam.cmd(b"EXPUNGE")
    sam.cmd(b"UNSELECT")
    ch.append(dict(user="sam", folder="Papierkorb", change="expunged", how="EXPUNGE (delayed: still in cyrus.index "
                   "with the EXPUNGED flag, files still in the spool)", uids=gone))
    # expunged, then purged by cyr_expire: records and files really gone
    tina.cmd(b"SELECT", q(fx.fname("Notizen")))
    gone = [notizen[1], notizen[2]]
    tina.cmd(b"UID", b"STORE", b"%d:%d" % tuple(gone), b"+FLAGS.SILENT", b"(\\Deleted)")
    tina.cmd(b"UID", b"EXPUNGE", b"%d:%d" % tuple(gone))
    tina.cmd(b"UNSELECT")
    fx.close_sessions()
    time.sleep(2)   # cyr_expire -X 0 purges what was expunged before "now"
    r = fx.c.tool("cyr_expire", "-X", "0", "-u", "tina", "-v")
    fx.notes.append("cyr_expire -X 0 -u tina -v: %s" % (r.stdout + r.stderr).decode(errors="replace").strip()
                    .replace("\n", " | ")[:400])
    ch.append(dict(user="tina", folder="Notizen", change="expunged", how="UID EXPUNGE, then cyr_expire -X 0 -u tina "
                   "(records and files purged)", uids=gone))
    sam = fx.imap("sam")

    # a new folder
    fx.create("sam", "Neu")
    new = fx.fill("sam", "Neu", 2, plain)
    ch.append(dict(user="sam", folder="Neu", change="folder created", how="CREATE + APPEND", uids=new))
    # deleted and re-created under the same name: new UIDVALIDITY, UIDs start again at 1
    sam.cmd(b"DELETE", q(fx.fname("Wieder")))
    fx.create("sam", "Wieder")
    new = fx.fill("sam", "Wieder", 1, plain)
    ch.append(dict(user="sam", folder="Wieder", change="folder deleted and re-created",
                   how="DELETE (delayed: old mailbox kept as DELETED.*) + CREATE + APPEND", uids=new))
    # deleted (delayed: kept as DELETED.user.sam.Weg.<hex>; the subscription stays in Cyrus)
    sam.cmd(b"DELETE", q(fx.fname("Weg")))
    ch.append(dict(user="sam", folder="Weg", change="folder deleted",
                   how="DELETE (delayed: old mailbox kept as DELETED.*)", uids=[]))
    # renamed (Cyrus 3.6 keeps the mailbox id and UIDVALIDITY)
    sam.cmd(b"RENAME", q(fx.fname("Vorher")), q(fx.fname("Nachher")))
    ch.append(dict(user="sam", folder="Vorher", change="folder renamed", how="RENAME to Nachher", new_name="Nachher",
                   uids=[]))
    fx.close_sessions()
    fx.notes.append("changes since a (UIDs per folder; also ../changes.json):")
    for c in ch:
        fx.notes.append("  %s/%s: %s %s%s -- %s" % (c["user"], c["folder"], c["change"],
                                                   ",".join(map(str, c["uids"])) or "-",
                                                   " (%s)" % c["what"] if c.get("what") else "", c["how"]))
    snap("b")
    check_snapshot_changes(fx, stage)


def check_snapshot_changes(fx, stage):
    """Compare the declared changes with the difference of oracle a and oracle b; write changes.json."""
    def load_jsonl(p):
        with open(p) as f:
            return [json.loads(l) for l in f if l.strip()]
    ma = load_jsonl(os.path.join(stage, "a/oracle.jsonl"))
    mb = load_jsonl(os.path.join(stage, "b/oracle.jsonl"))
    fa = [r for r in load_jsonl(os.path.join(stage, "a/oracle-folders.jsonl")) if r["kind"] == "mail"]
    fb = [r for r in load_jsonl(os.path.join(stage, "b/oracle-folders.jsonl")) if r["kind"] == "mail"]
    by_a = {(m["user"], m["folder"], m["uid"]): m for m in ma}
    by_b = {(m["user"], m["folder"], m["uid"]): m for m in mb}
    fold_a = {(r["user"], r["folder"]): r for r in fa}
    fold_b = {(r["user"], r["folder"]): r for r in fb}
    diff = []
    for k in sorted(set(fold_a) | set(fold_b)):
        a, b = fold_a.get(k), fold_b.get(k)
        if a and b and a["uidvalidity"] != b["uidvalidity"]:
            diff.append((k[0], k[1], "folder deleted and re-created"))
        elif a and not b:
            renamed = [kb for kb, rb in fold_b.items() if rb["mailboxid"] == a["mailboxid"]]
            diff.append((k[0], k[1], "folder renamed" if renamed else "folder deleted"))
        elif b and not a and not any(ra["mailboxid"] == b["mailboxid"] for ra in fa):
            diff.append((k[0], k[1], "folder created"))
    # messages: folders created / re-created list their (new) UIDs with the folder change;
    # a renamed folder's messages are compared under its new name (same mailbox id)
    folder_change = {(d[0], d[1]): d[2] for d in diff}
    renamed_to = {}
    for (u, f), ch in folder_change.items():
        if ch == "folder renamed":
            to = [kb for kb, rb in fold_b.items() if rb["mailboxid"] == fold_a[(u, f)]["mailboxid"]][0]
            renamed_to[to] = (u, f)
    for k in sorted(set(by_a) | set(by_b)):
        fk = (k[0], k[1])
        a = by_a.get((renamed_to[fk][0], renamed_to[fk][1], k[2]) if fk in renamed_to else k)
        b = by_b.get(k)
        if fk in folder_change:
            if folder_change[fk] in ("folder created", "folder deleted and re-created") and b:
                diff.append((k[0], k[1], folder_change[fk], k[2]))
            continue
        if a and b and a["flags"] != b["flags"]:
            diff.append((k[0], k[1], "flags", k[2]))
        elif a and not b:
            diff.append((k[0], k[1], "expunged", k[2]))
        elif b and not a:
            diff.append((k[0], k[1], "added", k[2]))
    declared = []
    for c in fx.changes:
        if c["change"].startswith("folder"):
            declared.append((c["user"], c["folder"], c["change"]))
        declared += [(c["user"], c["folder"], c["change"], u) for u in c["uids"]]
    if sorted(set(declared)) != sorted(set(diff)):
        raise Fail("snapshot changes do not match the oracles:\n declared only: %r\n oracle only: %r" % (
            sorted(set(declared) - set(diff)), sorted(set(diff) - set(declared))))
    with open(os.path.join(stage, "changes.json"), "w") as f:
        json.dump(dict(about="What tools/make-fixtures changed in the store between snapshot a and snapshot b "
                             "(checked against the difference of a/oracle*.jsonl and b/oracle*.jsonl). "
                             "UIDs are those of the folder named; for 'folder deleted and re-created' they "
                             "are the new folder's.", changes=fx.changes),
                  f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    log("snapshot changes match the oracles (%d declared items)" % len(declared))


COMMON = {
    "delete_mode": "delayed",
    "expunge_mode": "delayed",
    "hashimapspool": "yes",
    "singleinstancestore": "yes",
}

FIXTURES = {
    "cyrus36-default": dict(
        settings=dict(COMMON, unixhierarchysep="yes", httpmodules="caldav carddav",
                      caldav_realm="fixtures", httpallowcompress="no"),
        http=True, sep="/", altns=True, seed=3601, scenario=scenario_default, post=None,
        about="3.6 defaults: uuid layout, twoskip everywhere, unixhierarchysep yes, altnamespace yes (3.x default); "
              "CalDAV/CardDAV on"),
    "cyrus36-legacy": dict(
        settings=dict(COMMON, unixhierarchysep="no", altnamespace="no", mailbox_legacy_dirs="yes",
                      fulldirhash="yes", virtdomains="userid", defaultdomain="example.com",
                      mboxlist_db="skiplist", seenstate_db="skiplist", subscription_db="flat",
                      quota_db="quotalegacy", annotation_db="skiplist", munge8bit="no"),
        http=False, sep=".", altns=False, seed=3602, scenario=scenario_legacy, post=None,
        about="legacy name-based dirs, fulldirhash, virtdomains userid, unixhierarchysep no, altnamespace no, "
              "skiplist mailboxes.db/seen/annotations, flat subscriptions, quotalegacy quota, munge8bit no"),
    "cyrus36-dotsep": dict(
        settings=dict(COMMON, unixhierarchysep="yes", altnamespace="no", mailbox_legacy_dirs="yes"),
        http=False, sep="/", altns=False, seed=3606, scenario=scenario_dotsep, post=post_dotsep,
        about="filled with unixhierarchysep yes (a '.' in a folder name stored as '^'), then served with "
              "unixhierarchysep no, altnamespace no: the '^' is a literal '^' (INBOX.caret^name); legacy dirs"),
    "cyrus36-oldindex": dict(
        settings=dict(COMMON, unixhierarchysep="yes"),
        http=False, sep="/", altns=True, seed=3603, scenario=scenario_oldindex, post=post_oldindex,
        about="one user, one folder per cyrus.index minor version (6..10, 12..17) written by reconstruct -V"),
    "cyrus36-snapshots": dict(
        settings=dict(COMMON, unixhierarchysep="yes"),
        http=False, sep="/", altns=True, seed=3604, scenario=scenario_snapshots, post=None, snapshots=True,
        about="two snapshots a and b of one store (3.6 defaults: uuid layout, twoskip) with new mail, flag "
              "changes, expunges, a new, a re-created and a renamed folder in between (../changes.json)"),
    "cyrus36-extras": dict(
        settings=dict(COMMON, unixhierarchysep="yes", sendmail="/bin/true"),
        http=False, sieve=True, sep="/", altns=True, seed=3605, scenario=scenario_extras, post=None,
        extra_oracle=extras_oracle, annotations_skiplist=True,
        about="3.6 defaults plus ACLs (partial, anyone, negative, group, legacy letters), shared folders, "
              "Sieve scripts via ManageSieve, quota with STORAGE and MESSAGE limits, special-use and comment "
              "annotations (oracle-extras.json)"),
}


# ------------------------------------------------------------------ oracle

def list_folders(im):
    st, unt, _ = im.cmd(b"LIST", q(""), q("*"), b"RETURN", b"(SUBSCRIBED)")
    out = []
    for r in unt:
        items, _ = parse_sexp(r)
        if items[:2] != [b"*", b"LIST"]:
            continue
        attrs = [a.decode() for a in items[2]]
        sep = items[3].decode() if items[3] else None
        name = items[4].decode()
        out.append((name, attrs, sep))
    return out


def parse_examine(unt, tagged):
    info = {}
    for r in unt + [tagged]:
        m = re.match(rb"\* (\d+) EXISTS", r)
        if m:
            info["exists"] = int(m.group(1))
        for key in (b"UIDVALIDITY", b"UIDNEXT", b"HIGHESTMODSEQ"):
            m = re.search(rb"\[" + key + rb" (\d+)\]", r)
            if m:
                info[key.decode().lower()] = int(m.group(1))
        m = re.search(rb"\[MAILBOXID \(([^)]*)\)\]", r)
        if m:
            info["mailboxid"] = m.group(1).decode()
    return info


def fetch_all(im):
    st, unt, _ = im.cmd(b"UID", b"FETCH", b"1:*", b"(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[])")
    msgs = []
    for r in unt:
        items, _ = parse_sexp(r)
        if len(items) < 4 or items[2] != b"FETCH":
            continue
        kv = items[3]
        d = {kv[i].decode().upper(): kv[i + 1] for i in range(0, len(kv), 2)}
        body = d["BODY[]"]
        flags = sorted(f.decode() for f in d["FLAGS"] if f.decode() != "\\Recent")
        if int(d["RFC822.SIZE"]) != len(body):
            raise Fail("RFC822.SIZE %s != body length %d" % (d["RFC822.SIZE"], len(body)))
        msgs.append(dict(uid=int(d["UID"]), flags=flags, internaldate=parse_internaldate(d["INTERNALDATE"]),
                         size=int(d["RFC822.SIZE"]), sha1=hashlib.sha1(body).hexdigest()))
    msgs.sort(key=lambda m: m["uid"])
    return msgs


def user_relative(fx, user, raw):
    """raw IMAP name as LISTed -> (folder relative to the user, kind); None for other users' folders."""
    sep = fx.sep
    if raw == "INBOX":
        return "INBOX", "mail"
    if fx.altns:
        for pre in ("Other Users" + sep,):
            if raw.startswith(pre):
                return None
        if raw.startswith("Shared Folders" + sep):
            return "/".join(mutf7_decode(p) for p in raw.split(sep)), "shared"
        return "/".join(mutf7_decode(p) for p in raw.split(sep)), "mail"
    if raw.startswith("INBOX" + sep):
        return "/".join(mutf7_decode(p) for p in raw[len("INBOX" + sep):].split(sep)), "mail"
    if raw.startswith("user" + sep):
        return None
    return "/".join(mutf7_decode(p) for p in raw.split(sep)), "shared"


def dump_oracle(fx, outdir, mboxlist):
    # a RENAME leaves a tombstone (type d) with the same id under the old name: prefer the live entry
    by_id = {}
    for k, v in sorted(mboxlist.items(), key=lambda kv: "d" not in kv[1].get("mbtype", "")):
        by_id[v.get("uniqueid")] = k
    msgs_out, folders_out = [], []
    for user in fx.users:
        im = Imap(fx.c.imap_port, user)
        try:
            for raw, attrs, sep in list_folders(im):
                rel = user_relative(fx, user, raw)
                if rel is None:
                    continue
                folder, kind = rel
                subscribed = "\\Subscribed" in attrs
                row = dict(user=user, folder=folder, folder_raw=raw, kind=kind, subscribed=subscribed,
                           list_attributes=sorted(attrs))
                if "\\NonExistent" in attrs or "\\Noselect" in attrs:
                    row["kind"] = "nonexistent" if "\\NonExistent" in attrs else "noselect"
                    folders_out.append(row)
                    continue
                st, unt, tagged = im.cmd(b"EXAMINE", q(raw))
                info = parse_examine(unt, tagged)
                row.update(uidvalidity=info["uidvalidity"], uidnext=info["uidnext"], exists=info["exists"],
                           highestmodseq=info.get("highestmodseq"), mailboxid=info.get("mailboxid"),
                           internal_name=by_id.get(info.get("mailboxid")))
                folders_out.append(row)
                if info["exists"]:
                    for m in fetch_all(im):
                        msgs_out.append(dict(user=user, folder=folder, folder_raw=raw,
                                             uidvalidity=info["uidvalidity"], uidnext=info["uidnext"],
                                             subscribed=subscribed, **m))
                im.cmd(b"UNSELECT")
        finally:
            im.close()
    return msgs_out, folders_out


def mboxlist_json(fx):
    out = fx.c.tool("ctl_mboxlist", "-d").stdout.decode()
    return out, json.loads(out)


def owner_of(fx, iname):
    """internal name -> (user, folder relative to the user) for user mailboxes."""
    dom = None
    if "!" in iname:
        dom, iname = iname.split("!", 1)
    parts = iname.split(".")
    deleted = False
    if parts[0] == "DELETED":
        deleted = True
        parts = parts[1:-1]
    if parts[0] != "user" or len(parts) < 2:
        return None, ".".join(parts), deleted
    user = parts[1].replace("^", ".") + ("@" + dom if dom else "")
    rest = [mutf7_decode(p.replace("^", ".")) for p in parts[2:]]
    return user, "/".join(rest) if rest else "INBOX", deleted


def add_unlisted_folders(fx, mboxlist, folders_out, tools_dir):
    """DAV collections and delayed-deleted mailboxes (not visible over IMAP) from mailboxes.db."""
    seen_ids = {f.get("mailboxid") for f in folders_out}
    for iname, v in sorted(mboxlist.items()):
        if v.get("uniqueid") in seen_ids:
            continue
        user, folder, deleted = owner_of(fx, iname)
        t = v.get("mbtype", "")
        kind = "tombstone" if "d" in t else "deleted" if deleted else ("sieve" if "f" in t else "calendar" if "c" in t else "addressbook" if "a" in t
                                         else "collection" if "b" in t else "intermediate" if "i" in t
                                         else "other-user" if user and user not in fx.users else "unlisted")
        ex = examine_tool(fx, iname, tools_dir)
        row = dict(user=user, folder=folder, folder_raw=None, kind=kind, subscribed=None,
                   uidvalidity=int(v["uidvalidity"]) if "uidvalidity" in v else None,
                   uidnext=ex.get("uidnext"), exists=ex.get("records"), mailboxid=v.get("uniqueid"),
                   internal_name=iname, mbtype=t)
        folders_out.append(row)


def admin_name(fx, iname):
    """internal mailbox name -> name in the admin's namespace (what Cyrus's tools take)."""
    dom = None
    if "!" in iname:
        dom, iname = iname.split("!", 1)
    ext = "/".join(p.replace("^", ".") for p in iname.split(".")) if fx.sep == "/" else iname
    return ext + ("@" + dom if dom else "")


EXAMINED = {}


def examine_tool(fx, iname, tools_dir):
    """Run mbexamine on one mailbox (internal name) and keep its output; return a few numbers."""
    ext = admin_name(fx, iname)
    if iname in EXAMINED:
        txt = EXAMINED[iname]
    else:
        r = fx.c.tool("mbexamine", ext, check=False)
        txt = (r.stdout + r.stderr).decode(errors="replace")
        EXAMINED[iname] = txt
        keep, in_msgs = [], False
        for line in txt.replace(fx.c.root, "@ROOT@").split("\n"):
            if line.startswith(" Message Info:"):
                in_msgs = True
            if not in_msgs or re.match(r"^(\d{6}>|      >| Message Info:)", line):
                keep.append(line)
        with open(os.path.join(tools_dir, "mbexamine.txt"), "a") as f:
            f.write("=" * 78 + "\n$ mbexamine %s      (internal name %s, exit %d)\n" % (ext, iname, r.returncode))
            f.write("\n".join(keep) + "\n")
    out = {}
    m = re.search(r"Last UID: (\d+)", txt)
    if m:
        out["uidnext"] = int(m.group(1)) + 1
    m = re.search(r"Number of Messages: (\d+)", txt)
    if m:
        out["records"] = int(m.group(1))
    m = re.search(r"Minor Version: (\d+)", txt)
    if m:
        out["minor_version"] = int(m.group(1))
    return out


def dump_dbs(fx, stage, tools_dir):
    """cyr_dbtool dumps of per-user and global databases, for parser authors."""
    out = open(os.path.join(tools_dir, "cyr_dbtool.txt"), "wb")
    backends = {"mailboxes.db": fx.settings.get("mboxlist_db", "twoskip"),
                "annotations.db": fx.settings.get("annotation_db", "twoskip"),
                "seen": fx.settings.get("seenstate_db", "twoskip"),
                "sub": fx.settings.get("subscription_db", "flat"),
                "quotas.db": fx.settings.get("quota_db", "twoskip")}
    cfg = os.path.join(fx.c.root, "config")
    for path in sorted(glob.glob(cfg + "/**/*", recursive=True)):
        rel = os.path.relpath(path, cfg)
        if rel.split("/")[0] in ("socket", "proc", "lock", "log") or not os.path.isfile(path):
            continue
        base = os.path.basename(path)
        key = None
        if base in ("mailboxes.db", "annotations.db", "quotas.db"):
            key = base
        elif base in ("seen.db",) or base.endswith(".seen"):
            key = "seen"
        elif base in ("sub.db",) or base.endswith(".sub"):
            key = "sub"
        if not key:
            continue
        r = fx.c.tool("cyr_dbtool", path, backends[key], "show", check=False)
        out.write(b"=" * 78 + b"\n$ cyr_dbtool config/%s %s show   (exit %d)\n" % (
            rel.encode(), backends[key].encode(), r.returncode))
        out.write((r.stdout + r.stderr).replace(fx.c.root.encode(), b"@ROOT@"))
    out.close()


# ------------------------------------------------------------------ copy

EXCLUDE = ["/socket/", "/proc/", "/lock/", "/log/", "/ptclient/"]


def copy_tree(src, dst):
    cmd = ["rsync", "-rlptH", "--chmod=u+rwX"]
    for e in EXCLUDE:
        cmd.append("--exclude=" + e)
    run(cmd + [src + "/", dst + "/"])


def files_manifest(stage):
    """path, mode, size, mtime, nlink, link group, symlink target: git keeps none of mtime /
    hard links / modes (a symlink it keeps; its target is listed anyway)."""
    rows, inodes = [], {}
    for top in ("config", "spool"):
        for dp, dns, fns in os.walk(os.path.join(stage, top)):
            dns.sort()
            for fn in sorted(fns):
                p = os.path.join(dp, fn)
                st = os.lstat(p)
                grp = inodes.setdefault(st.st_ino, len(inodes) + 1) if st.st_nlink > 1 else 0
                target = os.readlink(p) if os.path.islink(p) else ""
                rows.append("%s\t%o\t%d\t%d\t%d\t%d\t%s" % (os.path.relpath(p, stage), st.st_mode & 0o7777,
                                                            st.st_size, int(st.st_mtime), st.st_nlink, grp, target))
    return "path\tmode\tsize\tmtime\tnlink\tlinkgroup\tsymlink\n" + "\n".join(rows) + "\n"


def check_tree(stage):
    bad = []
    for dp, dns, fns in os.walk(stage):
        for fn in dns + fns:
            p = os.path.join(dp, fn)
            st = os.lstat(p)
            import stat as S
            # Cyrus's sievedir holds one symlink per user (defaultbc -> the active script's bytecode)
            sieve_link = S.S_ISLNK(st.st_mode) and "/config/sieve/" in p and "/" not in os.readlink(p)
            if not (S.S_ISREG(st.st_mode) or S.S_ISDIR(st.st_mode) or sieve_link):
                bad.append(p)
            if st.st_uid != os.getuid():
                bad.append(p + " (owner %d)" % st.st_uid)
    if bad:
        raise Fail("unexpected special files / owners in copy: %r" % bad[:10])


# ------------------------------------------------------------------ driver

def capture(fx, spec, imapd, imapd_ver, stage, label=None):
    """Take the oracle over IMAP (server running, no other sessions), stop the server, run
    Cyrus's tools and copy config/ and spool/ into `stage` like rsync -rlptH.  The server is
    left stopped.  Returns (messages, folders) of the oracle."""
    name = fx.name
    EXAMINED.clear()
    fx.close_sessions()
    # first: a ManageSieve login creates the user's #sieve mailbox (walter's in cyrus36-extras),
    # so the mailbox list is taken after it
    extras = spec["extra_oracle"](fx) if spec.get("extra_oracle") else None
    dump_text, mboxlist = mboxlist_json(fx)
    msgs, folders = dump_oracle(fx, None, mboxlist)
    fx.c.stop()

    os.makedirs(stage)
    tools_dir = os.path.join(stage, "cyrus-tools")
    os.makedirs(tools_dir)
    with open(os.path.join(tools_dir, "ctl_mboxlist-d.json"), "w") as f:
        f.write(dump_text)
    add_unlisted_folders(fx, mboxlist, folders, tools_dir)
    for row in folders:
        if row.get("internal_name"):
            ex = examine_tool(fx, row["internal_name"], tools_dir)
            row["index_version"] = ex.get("minor_version")
    dump_dbs(fx, stage, tools_dir)
    r = fx.c.tool("ctl_mboxlist", "-v", check=False)
    with open(os.path.join(tools_dir, "ctl_mboxlist-v.txt"), "wb") as f:
        f.write(r.stdout + r.stderr)

    root = fx.c.root
    copy_tree(os.path.join(root, "config"), os.path.join(stage, "config"))
    copy_tree(os.path.join(root, "spool"), os.path.join(stage, "spool"))
    os.makedirs(os.path.join(stage, "etc"))
    for fn in ("imapd.conf", "cyrus.conf"):
        with open(os.path.join(root, "etc", fn)) as f:
            txt = f.read().replace(root, "@ROOT@").replace(imapd, "@IMAPD@")
        txt = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:@PORT@", txt)
        with open(os.path.join(stage, "etc", fn), "w") as f:
            f.write(txt)
    with open(os.path.join(stage, "files.tsv"), "w") as f:
        f.write(files_manifest(stage))
    check_tree(stage)
    if spec.get("annotations_skiplist"):
        # the same annotations.db rewritten as skiplist by Cyrus's own cvt_cyrusdb (parser tests of
        # both backends on the same records); outside config/ so the store stays as Cyrus left it
        tmp = os.path.join(root, "config", "annotations.skiplist.tmp")
        fx.c.tool("cvt_cyrusdb", os.path.join(root, "config", "annotations.db"), "twoskip", tmp, "skiplist")
        shutil.copyfile(tmp, os.path.join(tools_dir, "annotations.db.skiplist"))
        os.unlink(tmp)
        fx.notes.append("cyrus-tools/annotations.db.skiplist: config/annotations.db converted by "
                        "cvt_cyrusdb twoskip -> skiplist")

    def key_m(m):
        return (m["user"], m["folder"], m["uid"])
    msgs.sort(key=key_m)
    folders.sort(key=lambda r: (r["user"] or "", r["kind"], r["folder"] or ""))
    with open(os.path.join(stage, "oracle.jsonl"), "w") as f:
        for m in msgs:
            f.write(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n")
    with open(os.path.join(stage, "oracle-folders.jsonl"), "w") as f:
        for r in folders:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    if extras is not None:
        with open(os.path.join(stage, "oracle-extras.json"), "w") as f:
            f.write(json.dumps(extras, ensure_ascii=False, sort_keys=True, indent=1) + "\n")
    with open(os.path.join(stage, "refused.jsonl"), "w") as f:
        for r in fx.refused:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    with open(os.path.join(stage, "NOTES.txt"), "w") as f:
        f.write("fixture %s%s: %s\n" % (name, "/" + label if label else "", spec["about"]))
        f.write("generated by tools/make-fixtures with Debian cyrus-imapd %s (cyrus-common %s)\n" % (
            imapd_ver, pkg_version("cyrus-common")))
        f.write("users: %s\n" % ", ".join(fx.users))
        f.write("messages in oracle: %d, folders: %d\n" % (len(msgs), len(folders)))
        for n in fx.notes:
            f.write("- %s\n" % n)
    return msgs, folders


def make_one(name, imapd, imapd_ver, workroot):
    spec = FIXTURES[name]
    t0 = time.time()
    root = tempfile.mkdtemp(prefix=name[:12] + "-", dir=workroot)
    os.chmod(root, 0o755)
    c = Cyrus(root, imapd, spec["settings"], http=spec["http"], sieve=spec.get("sieve", False))
    fx = Fx(name, c, spec["sep"], spec["altns"], spec["seed"])
    fx.settings = spec["settings"]
    stage = os.path.join(FIXDIR, "." + name + ".new")
    shutil.rmtree(stage, ignore_errors=True)
    try:
        c.start()
        if spec.get("snapshots"):
            # the scenario calls snap(label) for every snapshot; each becomes stage/<label>/
            os.makedirs(stage)
            spec["scenario"](fx, lambda label: capture(fx, spec, imapd, imapd_ver, os.path.join(stage, label), label),
                             stage)
            summary = "snapshots " + ", ".join(sorted(os.listdir(stage)))
        else:
            spec["scenario"](fx)
            fx.close_sessions()
            if spec["post"]:
                c.stop()
                spec["post"](fx)
                c.start()
            msgs, folders = capture(fx, spec, imapd, imapd_ver, stage)
            summary = "%d messages, %d folders" % (len(msgs), len(folders))
        final = os.path.join(FIXDIR, name)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(stage, final)
        log("%s: %s, %.0fs" % (name, summary, time.time() - t0))
    finally:
        fx.close_sessions() if fx.sessions else None
        c.stop()
        shutil.rmtree(stage, ignore_errors=True)


def main(argv):
    names = argv or list(FIXTURES)
    for n in names:
        if n not in FIXTURES:
            raise Fail("unknown fixture %r (known: %s)" % (n, ", ".join(FIXTURES)))
    if os.geteuid() != 0:
        raise Fail("run as root (Cyrus's master drops to the cyrus user; apt-get needs root)")
    ensure_packages(DEB_PACKAGES + CORPUS_PACKAGES)
    workroot = tempfile.mkdtemp(prefix="cyrfix-", dir="/tmp")
    os.chmod(workroot, 0o755)

    def on_signal(sig, frame):
        raise SystemExit("interrupted by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    try:
        imapd, ver = private_imapd(workroot)
        for n in names:
            make_one(n, imapd, ver, workroot)
    finally:
        shutil.rmtree(workroot, ignore_errors=True)


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Fail as e:
        print("make-fixtures: FAILED: %s" % e, file=sys.stderr)
        sys.exit(1)
