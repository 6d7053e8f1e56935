#!/usr/bin/env python3
"""End-to-end check that writing the HTML page of a report does not grow with its entries.

`cyrconv report html` runs on generated audit reports of 10,000 and 100,000 entries (about 4
and 40 MB of JSON), each as a child whose peak RSS comes from wait4. The page copies the
report's values as the JSON parser meets them, so both runs must peak within ALLOWED_GROWTH of
each other (holding the entries would cost well over 30 MiB more for the big one). Both pages
must hold every entry (counted in the written page's data). Under AddressSanitizer
(--sanitized) only the pages are checked.
Exit 0 when all holds; every mismatch is printed.
"""
import argparse
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import big_message_check as bm  # noqa: E402  (a child's exit status and peak RSS from wait4)
import html_report_data as data  # noqa: E402

ALLOWED_GROWTH = 4 << 20
problems = []
bm.problems = problems


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def page_entries(html):
    """Entries in the page's embedded report (its JSON block, parsed back)."""
    with open(html, encoding="utf-8") as f:
        text = f.read()
    start = text.index('<script type="application/json" id="cyrconv-report">') + len(
        '<script type="application/json" id="cyrconv-report">')
    report = json.loads(text[start:text.index("</script>", start)])
    return sum(len(f["messages"]) for u in report["users"] for f in u["folders"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--sanitized", action="store_true", help="AddressSanitizer build: RSS is not checked")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="cyrconv-html-mem-") as work:
        # All reports and runs first, pages read after: a child's peak RSS starts from its
        # parent's at fork.
        sizes = (10000, 100000)
        for n in sizes:
            data.write_big_audit(os.path.join(work, f"r{n}.json"), n)
        rss, status = {}, {}
        for n in sizes:
            src = os.path.join(work, f"r{n}.json")
            status[n], rss[n] = bm.run([args.cyrconv, "report", "html", src, "-o", os.path.join(work, f"r{n}.html")])
            print(f"report html, {n:,} entries ({os.path.getsize(src) >> 20} MiB): exit {status[n]}, "
                  f"peak RSS {rss[n] / 1048576:.1f} MiB")
        for n in sizes:
            if status[n] != 0:
                fail(f"report html exited {status[n]} for {n} entries")
            elif page_entries(os.path.join(work, f"r{n}.html")) != n:
                fail(f"the page for {n} entries holds {page_entries(os.path.join(work, f'r{n}.html'))}")
        growth = rss[100000] - rss[10000]
        if not args.sanitized and growth > ALLOWED_GROWTH:
            fail(f"peak RSS grew by {growth / 1048576:.1f} MiB from 10,000 to 100,000 entries "
                 f"(allowed {ALLOWED_GROWTH >> 20} MiB)")
    if problems:
        print(f"FAILED: {len(problems)} mismatch(es)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
