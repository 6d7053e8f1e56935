"""A small model of a Zimbra mailbox for the end-to-end checks: reads archives with the rules of
zm-mailbox's ArchiveFormatter (bare entries, no .meta) and its tar reader, imports .ics/.vcf
bodies as IcsFormatter/VcfFormatter do, and answers like zmmailbox (getAllFolders table).

ArchiveFormatter's rules mirrored here (written from reading its public source, not copied):
  * an entry's type comes from its extension: .eml message, .ics appointment(s), .vcf contact(s);
  * the entry's directory is its folder path, created (parents too) with the view of that type
    when it does not exist;
  * a message is unread when the owner-write bit of the entry's mode is clear, dated by mtime;
  * after an .ics entry the entry stream's close closes the tar stream itself: nothing after it
    is read, and the REST call still succeeds.

And of the mailbox behind zmmailbox's search (zm-mailbox ZimbraQuery, BuiltInQuery): a message is
found only once indexed (here: `index_after` zmmailbox calls after its import), never while it
has \\Deleted (zmmailbox does not ask for includeTagDeleted); modifyItemFlags replaces the flag
letters (u unread, f flagged, r replied, w forwarded, x deleted).
"""
import email.parser
import io
import json
import os
import re
import shlex
import tarfile

VIEWS = {".eml": "message", ".ics": "appointment", ".vcf": "contact"}


class Mailbox:
    def __init__(self, state_path):
        self.path = state_path
        self.folders = {}  # "/Path" -> {"view": v, "items": [...]}
        self.clock, self.tags = 0, []  # zmmailbox calls so far; tags created
        if os.path.exists(state_path + ".meta"):
            self.clock, self.tags = json.load(open(state_path + ".meta", encoding="utf-8"))
        if os.path.exists(state_path):
            self.folders = json.load(open(state_path, encoding="utf-8"))
        else:  # a new account's system folders (Mailbox.initialize)
            for p, v in (("/Inbox", "message"), ("/Sent", "message"), ("/Drafts", "message"), ("/Junk", "message"),
                         ("/Trash", "message"), ("/Calendar", "appointment"), ("/Contacts", "contact"),
                         ("/Emailed Contacts", "contact"), ("/Tasks", "task"), ("/Briefcase", "document")):
                self.folders[p] = {"view": v, "items": []}

    def save(self):
        with open(self.path, "w", encoding="utf-8") as f:
            json.dump(self.folders, f)
        with open(self.path + ".meta", "w", encoding="utf-8") as f:
            json.dump([self.clock, self.tags], f)

    def find(self, path):
        for p in self.folders:
            if p.casefold() == path.casefold():  # Zimbra folder names ignore case
                return p
        return None

    def create_path(self, path, view):
        parts = [x for x in path.split("/") if x]
        for i in range(1, len(parts) + 1):
            p = "/" + "/".join(parts[:i])
            if self.find(p) is None:
                self.folders[p] = {"view": view if i == len(parts) else "message", "items": []}
        return self.find("/" + "/".join(parts))

    def import_archive(self, data):
        """Returns (messages, appointments, contacts) imported; stops after an .ics entry."""
        counts = {"message": 0, "appointment": 0, "contact": 0}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz", encoding="utf-8") as t:
            for m in t:
                if not m.isfile():
                    continue
                ext = os.path.splitext(m.name)[1].lower()
                view = VIEWS.get(ext)
                if view is None:
                    continue  # a document: not something cyrconv writes
                folder = self.create_path("/" + os.path.dirname(m.name), view)
                body = t.extractfile(m).read()
                if view == "message":
                    unread = not (m.mode & 0o200)
                    self.folders[folder]["items"].append(
                        {"unread": unread, "date": m.mtime, "size": len(body), "flags": "u" if unread else "",
                         "tags": [], "msgid": message_id(body), "imported": self.clock, "entry": m.name})
                    counts["message"] += 1
                elif view == "appointment":
                    n = count_objects(body, "VCALENDAR")
                    self.folders[folder]["items"] += [{"kind": "appointment"}] * n
                    counts["appointment"] += n
                    break  # ArchiveFormatter closed the tar stream with the entry's
                else:
                    n = count_objects(body, "VCARD")
                    self.folders[folder]["items"] += [{"kind": "contact"}] * n
                    counts["contact"] += n
        return counts

    def import_file(self, folder, fmt, data):
        f = self.find(folder)
        want = "appointment" if fmt == "ics" else "contact"
        if f is None or self.folders[f]["view"] != want:
            raise ValueError(f"no {want} folder {folder}")
        n = count_objects(data, "VCALENDAR" if fmt == "ics" else "VCARD")
        self.folders[f]["items"] += [{"kind": want}] * n
        return n

    def search(self, query, limit, index_after):
        """Hits (folder, index) of a query of in:, msgid:, is: and tag: terms, or raises ValueError."""
        terms = {"is": []}
        tags = []
        for tok in shlex.split(query):
            key, _, value = tok.partition(":")
            if key == "tag":
                if value not in self.tags:
                    raise ValueError(f"mail.NO_SUCH_TAG (no such tag: {value})")
                tags.append(value)
            elif key == "is":
                terms["is"].append(value)
            else:
                terms[key] = value
        want = {"flagged": "f", "replied": "r", "forwarded": "w", "unread": "u"}
        folder = self.find(terms["in"])
        hits = []
        for i, item in enumerate(self.folders[folder]["items"] if folder else []):
            if item.get("kind") or item["msgid"] != terms.get("msgid", item["msgid"]) or "x" in item["flags"]:
                continue
            if self.clock < item["imported"] + index_after:
                continue  # not indexed yet
            if any((c not in item["flags"]) if c != "read" else ("u" in item["flags"])
                   for c in (want.get(w, w) for w in terms["is"])):
                continue
            if any(t not in item["tags"] for t in tags):
                continue
            hits.append((folder, i))
        return hits[:limit]

    def get_all_folders(self):
        """The text ZMailboxUtil.doGetAllFolders prints."""
        fmt = "%10.10s  %4.4s  %10.10s  %10.10s  %s\n"
        out = fmt % ("Id", "View", "Unread", "Msg Count", "Path")
        out += fmt % ("----------", "----", "----------", "----------", "----------")
        out += "%10.10s  %4.4s  %10d  %10d  %s\n" % ("1", "conv", 0, 0, "/")
        for i, p in enumerate(sorted(self.folders), 257):
            f = self.folders[p]
            unread = sum(1 for x in f["items"] if x.get("unread"))
            out += "%10.10s  %4.4s  %10d  %10d  %s\n" % (str(i), f["view"], unread, len(f["items"]), p)
        return out


def message_id(body):
    h = email.parser.BytesHeaderParser().parsebytes(body)
    v = h.get("Message-ID") or ""
    return " ".join(str(v).split()).strip().strip("<>").strip()


def count_objects(data, name):
    text = data.decode("utf-8", "replace")
    return len(re.findall(r"(?im)^BEGIN:" + name + r"\r?$", text))
