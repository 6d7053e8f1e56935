#!/usr/bin/env python3
"""Every doctest case runs under CTest exactly once.

doctest_discover_tests turns each case name into a CTest test whose command filters by that name.
A name CMake cannot carry (a ';' splits it as a list) becomes a filter that matches nothing, and a
doctest run that matches nothing passes: such a case never ran in CI while it looked green. This
check asks the test binary, for every CTest test that runs it, how many cases its filter selects
(doctest's --count) and fails unless it is exactly one, and every case is covered.

usage: doctest_registration_check.py BUILD_DIR
"""
import json
import re
import subprocess
import sys


def main() -> int:
    build = sys.argv[1]
    shown = subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True, text=True, check=True)
    tests = json.loads(shown.stdout)["tests"]
    binary = None
    names = []
    bad = []
    for t in tests:
        cmd = t.get("command") or []
        if not cmd or not cmd[0].endswith("/cyrconv_tests"):
            continue
        binary = cmd[0]
        cwd = next((p["value"] for p in t.get("properties", []) if p["name"] == "WORKING_DIRECTORY"), build)
        out = subprocess.run(cmd + ["--count"], cwd=cwd, capture_output=True, text=True).stdout
        m = re.search(r"test cases passing the current filters: (\d+)", out)
        count = int(m.group(1)) if m else -1
        names.append(t["name"])
        if count != 1:
            bad.append(f"CTest test {t['name']!r} selects {count} doctest cases (command {cmd[1:]!r})")
    if binary is None:
        print("no CTest test runs cyrconv_tests", file=sys.stderr)
        return 1
    listed = subprocess.run([binary, "--list-test-cases", "--no-version"], capture_output=True, text=True).stdout
    cases = [line for line in listed.splitlines() if line and not line.startswith("[doctest]") and not line.startswith("=")]
    if len(cases) != len(names):
        bad.append(f"{len(cases)} doctest cases but {len(names)} CTest tests run them")
    for b in bad:
        print(b, file=sys.stderr)
    if bad:
        print("rename the case (no ';' in a TEST_CASE name) and re-run cmake", file=sys.stderr)
        return 1
    print(f"{len(names)} CTest tests, each runs exactly one of {len(cases)} doctest cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
