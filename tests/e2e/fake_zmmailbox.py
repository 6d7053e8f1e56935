#!/usr/bin/env python3
"""A stand-in for `zmmailbox [-v] -z -m ACCOUNT ...` over zimbra_model.Mailbox, for zimbra_import_check.py.
Logs every call to $FAKE_ZMM_LOG. $FAKE_ZMM_FAIL: a postRestURL whose file name contains it fails.
$FAKE_ZMM_INDEX_AFTER: how many zmmailbox calls after its import a message is first found by search
(Zimbra indexes imported messages later, in batches). $FAKE_ZMM_NOSTICK: modifyItemFlags and
tagMessage have no effect on messages whose Message-ID contains it (a flag that does not stick).
File mode (-f) as ZMailboxUtil.interactive: the prompt "mbox ACCOUNT> " before each line read, the
line echoed after it with -v, "ERROR: code (message)" on stderr for a failed line, then the next."""
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zimbra_model import Mailbox  # noqa: E402

FLAG_LETTERS = set("ufrwx")


class Session:
    def __init__(self, box):
        self.box = box
        self.index = {}  # search index ("#n") -> (folder, item index), as ZMailboxUtil.mIndexToId
        self.after = int(os.environ.get("FAKE_ZMM_INDEX_AFTER", "0"))
        self.nostick = os.environ.get("FAKE_ZMM_NOSTICK", "")

    def items(self, ref):
        ref = ref.lstrip("#")
        first, _, last = ref.partition("-")
        out = []
        for i in range(int(first), int(last or first) + 1):
            if i not in self.index:
                raise ValueError(f"zclient.CLIENT_ERROR (unknown index: {ref})")
            folder, k = self.index[i]
            out.append(self.box.folders[folder]["items"][k])
        return out

    def sticks(self, item):
        return not (self.nostick and self.nostick in item["msgid"])

    def run(self, toks):
        box = self.box
        cmd = toks[0]
        if cmd == "createTag":
            if toks[1] in box.tags:
                raise ValueError("mail.ALREADY_EXISTS (object with that name already exists)")
            box.tags.append(toks[1])
        elif cmd == "search":
            limit, i = 25, 1
            while toks[i].startswith("-"):
                if toks[i] == "-l":
                    limit = int(toks[i + 1])
                i += 2
            hits = box.search(toks[i], limit, self.after)
            self.index = {n + 1: h for n, h in enumerate(hits)}
            print(f"num: {len(hits)}, more: false\n")
            for n, (folder, k) in enumerate(hits, 1):
                print(f"{n:>2}. {folder}:{k}  mess   someone  a subject  01/01/20 10:00")
        elif cmd == "modifyItemFlags":
            if not set(toks[2]) <= FLAG_LETTERS:
                raise ValueError("mail.INVALID_REQUEST")
            for item in self.items(toks[1]):
                if self.sticks(item):
                    item["flags"] = "".join(sorted(toks[2]))
                    item["unread"] = "u" in toks[2]
        elif cmd == "tagMessage":
            if toks[2] not in box.tags:
                raise ValueError(f"mail.NO_SUCH_TAG (no such tag: {toks[2]})")
            for item in self.items(toks[1]):
                if self.sticks(item) and toks[2] not in item["tags"]:
                    item["tags"].append(toks[2])
        else:
            raise ValueError(f"fake zmmailbox: unexpected command in a file: {toks}")


def run_file(box, account, path, verbose):
    session = Session(box)
    prompt = f"mbox {account}> "
    for line in open(path, encoding="utf-8"):
        sys.stdout.write(prompt)
        if verbose:
            sys.stdout.write(line if line.endswith("\n") else line + "\n")
        toks = shlex.split(line)
        if not toks:
            continue
        try:
            session.run(toks)
        except ValueError as e:
            print(f"ERROR: {e}", file=sys.stderr)
    sys.stdout.write(prompt)


def main(argv):
    verbose = argv[0] == "-v"
    if verbose:
        argv = argv[1:]
    assert argv[0] == "-z" and argv[1] == "-m", argv
    account, args = argv[2], argv[3:]
    state = os.environ["FAKE_ZMM_STATE"]
    box = Mailbox(state)
    box.clock += 1
    with open(os.environ["FAKE_ZMM_LOG"], "a", encoding="utf-8") as log:
        log.write(account + " " + " ".join(args) + "\n")
    cmd = args[0]
    if cmd == "getFolder":
        if box.find(args[1]) is None:
            print(f"ERROR: mail.NO_SUCH_FOLDER (no such folder path: {args[1]})", file=sys.stderr)
            return 1
        return 0
    if cmd == "createFolder":
        assert args[1] == "-V", args
        if box.find(args[3]) is not None:
            print("ERROR: mail.ALREADY_EXISTS", file=sys.stderr)
            return 1
        box.create_path(args[3], args[2])
    elif cmd == "postRestURL":
        url, path = args[1], args[2]
        if os.environ.get("FAKE_ZMM_FAIL") and os.environ["FAKE_ZMM_FAIL"] in path:
            print("ERROR: service.FAILURE (simulated)", file=sys.stderr)
            return 1
        data = open(path, "rb").read()
        if url.startswith("//?fmt=tgz"):
            box.import_archive(data)
        else:
            from urllib.parse import unquote
            folder, fmt = url.split("?fmt=")
            box.import_file(unquote(folder), fmt, data)
    elif cmd == "-f":
        run_file(box, account, args[1], verbose)
    elif cmd == "getAllFolders":
        sys.stdout.write(box.get_all_folders())
    else:
        print(f"fake zmmailbox: unexpected command {args}", file=sys.stderr)
        return 2
    box.save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
