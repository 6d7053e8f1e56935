#!/usr/bin/env python3
"""A stand-in for `zmmailbox -z -m ACCOUNT ...` over zimbra_model.Mailbox, for zimbra_import_check.py.
Logs every call to $FAKE_ZMM_LOG. $FAKE_ZMM_FAIL: a postRestURL whose file name contains it fails.
$FAKE_ZMM_LAG: how many -f runs find no search hit (messages not indexed yet)."""
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from zimbra_model import Mailbox  # noqa: E402


def main(argv):
    assert argv[0] == "-z" and argv[1] == "-m", argv
    account, args = argv[2], argv[3:]
    state = os.environ["FAKE_ZMM_STATE"]
    box = Mailbox(state)
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
        lag_file = state + ".lag"
        lag = int(open(lag_file).read()) if os.path.exists(lag_file) else int(os.environ.get("FAKE_ZMM_LAG", "0"))
        tags = set()
        for line in open(args[1], encoding="utf-8"):
            toks = shlex.split(line)
            if not toks:
                continue
            if toks[0] == "createTag":
                if toks[1] in tags:
                    print("ERROR: mail.ALREADY_EXISTS", file=sys.stderr)
                tags.add(toks[1])
            elif toks[0] == "search" and lag > 0:
                print("num: 0, more: false")
            elif toks[0] in ("modifyItemFlags", "tagMessage") and lag > 0:
                print("ERROR: zclient.CLIENT_ERROR (unknown index: 1)", file=sys.stderr)
        with open(lag_file, "w") as f:
            f.write(str(max(lag - 1, 0)))
    elif cmd == "getAllFolders":
        sys.stdout.write(box.get_all_folders())
    else:
        print(f"fake zmmailbox: unexpected command {args}", file=sys.stderr)
        return 2
    box.save()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
