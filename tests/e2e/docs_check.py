#!/usr/bin/env python3
"""The man page (docs/cyrconv.1) and the bash completion (docs/cyrconv-completion.bash) against
`cyrconv SUBCOMMAND --help`, so they cannot drift apart:

- every option a subcommand's --help lists is in the man page and in that subcommand's completion
  list, and neither names an option no --help lists;
- the man page's EXIT STATUS section lists the statuses --help's table lists;
- the man page renders without warnings (groff -man -ww);
- the completion function, run with minimal stand-ins for bash-completion's helpers, completes
  `cyrconv convert --us` to --users and `cyrconv verify --eol ` to lf crlf;
- `cmake --install BUILD --prefix TMP` puts bin/cyrconv, share/man/man1/cyrconv.1 and
  share/bash-completion/completions/cyrconv in place.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

SUBCOMMANDS = {"scan": ["scan"], "audit": ["audit"], "convert": ["convert"], "verify": ["verify"],
               "plan": ["plan"], "merge": ["report", "merge"],
               "html": ["report", "html"]}
problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def help_options(cyrconv, words):
    text = subprocess.run([cyrconv] + words + ["--help"], capture_output=True, text=True, check=True).stdout
    # Option names at the start of --help's lines (descriptions mention other subcommands' options).
    return set(re.findall(r"^\s+(?:-\w,)?(--[a-z][a-z0-9-]+)", text.split("Exit status")[0], re.M)), text


def completion_lists(path):
    text = open(path, encoding="utf-8").read()
    shared = {name: val.split() for name, val in re.findall(r'local (input|output)="([^"]*)"', text)}
    lists = {}
    for sub, val in re.findall(r'\[(\w+)\]="([^"]*)"', text):
        opts = set()
        for w in val.split():
            opts |= set(shared[w[1:]]) if w.startswith("$") else {w}
        lists[sub] = opts
    return lists


def complete(completion, words, cword):
    """Runs the completion function for `words` with the cursor on words[cword] (stand-ins for
    bash-completion's _init_completion and _filedir, which are not installed here)."""
    script = f"""
_init_completion() {{ words=("${{COMP_WORDS[@]}}"); cword=$COMP_CWORD; cur="${{words[cword]}}"; prev="${{words[cword-1]}}"; }}
_filedir() {{ COMPREPLY=(FILE); }}
complete() {{ :; }}
source {completion}
COMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={cword}
_cyrconv
echo "${{COMPREPLY[@]}}"
"""
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True).stdout.split()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    man_path = os.path.join(args.source, "docs", "cyrconv.1")
    completion = os.path.join(args.source, "docs", "cyrconv-completion.bash")
    man = open(man_path, encoding="utf-8").read()
    man_options = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", man.replace("\\-", "-")))
    lists = completion_lists(completion)

    all_help = {"--help", "--version"}
    for sub, words in SUBCOMMANDS.items():
        opts, _ = help_options(args.cyrconv, words)
        all_help |= opts
        for o in sorted(opts - {"--help"}):
            if o not in man_options:
                fail(f"{' '.join(words)} {o}: in --help, not in docs/cyrconv.1")
        got = lists.get(sub, set())
        for o in sorted(opts - got):
            fail(f"{' '.join(words)} {o}: in --help, not in the completion's list")
        for o in sorted(got - opts):
            fail(f"{' '.join(words)} {o}: in the completion's list, not in --help")
    for o in sorted(man_options - all_help):
        fail(f"{o}: in docs/cyrconv.1, no subcommand's --help has it")

    _, top = help_options(args.cyrconv, [])
    statuses = set(re.findall(r"^\s+(\d+)\s", top.split("Exit status")[1], re.M))
    exit_section = man.split(".SH EXIT STATUS")[1].split(".SH ")[0]
    man_statuses = set(re.findall(r"^\.B (\d+)$", exit_section, re.M))
    if statuses != man_statuses or not statuses:
        fail(f"exit statuses: --help {sorted(statuses)}, man page {sorted(man_statuses)}")

    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", man_path], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            fail(f"groff warns about docs/cyrconv.1: {r.stderr.strip()}")

    if "--users" not in complete(completion, ["cyrconv", "convert", "--us"], 2):
        fail("completion: cyrconv convert --us does not offer --users")
    if complete(completion, ["cyrconv", "verify", "--eol", ""], 3) != ["lf", "crlf"]:
        fail("completion: cyrconv verify --eol does not offer lf crlf")
    if complete(completion, ["cyrconv", "report", "merge", "--pl"], 3) != ["--plan"]:
        fail("completion: cyrconv report merge --pl does not offer --plan")

    with tempfile.TemporaryDirectory(prefix="cyrconv-install-") as prefix:
        r = subprocess.run(["cmake", "--install", args.build, "--prefix", prefix], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"cmake --install failed: {r.stdout}{r.stderr}")
        for rel in ("bin/cyrconv", "share/man/man1/cyrconv.1", "share/bash-completion/completions/cyrconv"):
            if not os.path.isfile(os.path.join(prefix, rel)):
                fail(f"cmake --install did not put {rel} in place")
        installed = os.path.join(prefix, "bin", "cyrconv")
        if os.path.isfile(installed):
            v = subprocess.run([installed, "--version"], capture_output=True, text=True)
            if v.returncode != 0 or not v.stdout.startswith("cyrconv "):
                fail(f"the installed binary does not run: {v.stdout}{v.stderr}")

    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print("docs: the man page and the completion name every option --help names; install puts them in place")
    return 0


if __name__ == "__main__":
    sys.exit(main())
