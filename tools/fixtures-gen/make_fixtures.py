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
from cyrus_sandbox import (Cyrus, Fail, Imap, Lit, log, mutf7_decode, mutf7_encode, parse_sexp,
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
    "cyrus36-oldindex": dict(
        settings=dict(COMMON, unixhierarchysep="yes"),
        http=False, sep="/", altns=True, seed=3603, scenario=scenario_oldindex, post=post_oldindex,
        about="one user, one folder per cyrus.index minor version (6..10, 12..17) written by reconstruct -V"),
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
    by_id = {v.get("uniqueid"): k for k, v in mboxlist.items()}
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
        kind = "tombstone" if "d" in t else "deleted" if deleted else ("calendar" if "c" in t else "addressbook" if "a" in t
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
    """path, mode, size, mtime, nlink, link group: git keeps none of mtime / hard links."""
    rows, inodes = [], {}
    for top in ("config", "spool"):
        for dp, dns, fns in os.walk(os.path.join(stage, top)):
            dns.sort()
            for fn in sorted(fns):
                p = os.path.join(dp, fn)
                st = os.lstat(p)
                grp = inodes.setdefault(st.st_ino, len(inodes) + 1) if st.st_nlink > 1 else 0
                rows.append("%s\t%o\t%d\t%d\t%d\t%d" % (os.path.relpath(p, stage), st.st_mode & 0o7777,
                                                        st.st_size, int(st.st_mtime), st.st_nlink, grp))
    return "path\tmode\tsize\tmtime\tnlink\tlinkgroup\n" + "\n".join(rows) + "\n"


def check_tree(stage):
    bad = []
    for dp, dns, fns in os.walk(stage):
        for fn in dns + fns:
            p = os.path.join(dp, fn)
            st = os.lstat(p)
            import stat as S
            if not (S.S_ISREG(st.st_mode) or S.S_ISDIR(st.st_mode)):
                bad.append(p)
            if st.st_uid != os.getuid():
                bad.append(p + " (owner %d)" % st.st_uid)
    if bad:
        raise Fail("unexpected special files / owners in copy: %r" % bad[:10])


# ------------------------------------------------------------------ driver

def make_one(name, imapd, imapd_ver, workroot):
    spec = FIXTURES[name]
    EXAMINED.clear()
    t0 = time.time()
    root = tempfile.mkdtemp(prefix=name[:12] + "-", dir=workroot)
    os.chmod(root, 0o755)
    c = Cyrus(root, imapd, spec["settings"], http=spec["http"])
    fx = Fx(name, c, spec["sep"], spec["altns"], spec["seed"])
    fx.settings = spec["settings"]
    try:
        c.start()
        spec["scenario"](fx)
        fx.close_sessions()
        if spec["post"]:
            c.stop()
            spec["post"](fx)
            c.start()
        dump_text, mboxlist = mboxlist_json(fx)
        msgs, folders = dump_oracle(fx, None, mboxlist)
        c.stop()

        stage = os.path.join(FIXDIR, "." + name + ".new")
        shutil.rmtree(stage, ignore_errors=True)
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

        def key_m(m):
            return (m["user"], m["folder"], m["uid"])
        with open(os.path.join(stage, "oracle.jsonl"), "w") as f:
            for m in sorted(msgs, key=key_m):
                f.write(json.dumps(m, ensure_ascii=False, sort_keys=True) + "\n")
        with open(os.path.join(stage, "oracle-folders.jsonl"), "w") as f:
            for r in sorted(folders, key=lambda r: (r["user"] or "", r["kind"], r["folder"] or "")):
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        with open(os.path.join(stage, "refused.jsonl"), "w") as f:
            for r in fx.refused:
                f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
        with open(os.path.join(stage, "NOTES.txt"), "w") as f:
            f.write("fixture %s: %s\n" % (name, spec["about"]))
            f.write("generated by tools/make-fixtures with Debian cyrus-imapd %s (cyrus-common %s)\n" % (
                imapd_ver, pkg_version("cyrus-common")))
            f.write("users: %s\n" % ", ".join(fx.users))
            f.write("messages in oracle: %d, folders: %d\n" % (len(msgs), len(folders)))
            for n in fx.notes:
                f.write("- %s\n" % n)
        final = os.path.join(FIXDIR, name)
        shutil.rmtree(final, ignore_errors=True)
        os.rename(stage, final)
        log("%s: %d messages, %d folders, %.0fs" % (name, len(msgs), len(folders), time.time() - t0))
    finally:
        fx.close_sessions() if fx.sessions else None
        c.stop()
        shutil.rmtree(os.path.join(FIXDIR, "." + name + ".new"), ignore_errors=True)


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
