#!/usr/bin/env python3
"""End-to-end check of the HTML report pages in a real browser (headless Chromium).

Pages are written for every report kind of the bundled fixture (scan, audit and convert with
--html, verify with --html, a merged shard report), for each damaged spool of tools/damage, for
a report whose user and folder names are hostile HTML (and bytes that are not UTF-8), and for a
generated report with 100,000 entries. Each is opened from a file:// URL and its DOM checked:
the accounting equals the JSON's totals, every fault class in the JSON has its bar with its
count, sorting a column reorders the rows, names show as text and no script from them runs (no
alert, no element they would add), no console error, and the load time from navigation start to
the page's own "cyrconv-rendered" mark (under 2 s: the issue's stated requirement for 100,000
entries). Screenshots, desktop and narrow, go to --out-dir.
Exit 0 when all holds, 1 on a mismatch, 77 when Chromium cannot be started (skipped).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

try:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By
except ImportError:
    # CMake may have found another interpreter than Debian's, which has python3-selenium.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != "/usr/bin/python3" \
            and not os.environ.get("CYRCONV_HTML_REEXEC"):
        os.environ["CYRCONV_HTML_REEXEC"] = "1"
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    print("SKIP: python3-selenium is not installed (tools/bootstrap installs it)")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import html_report_data as data  # noqa: E402

LOAD_LIMIT_MS = 2000
problems = []


def fail(msg):
    problems.append(msg)
    print("MISMATCH: " + msg)


def run(cmd, ok=(0, 1)):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in ok:
        fail(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode(errors='replace')[-1500:]}")
    return p


def start_browser():
    opts = webdriver.ChromeOptions()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"):
        opts.add_argument(a)
    opts.binary_location = "/usr/bin/chromium"
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path="/usr/bin/chromedriver") if hasattr(webdriver, "ChromeService") \
        else webdriver.chrome.service.Service(executable_path="/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=opts, service=service)
    # Runs before any page script and outside its Content-Security-Policy: records alert() calls.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source":
        "window.__alerts = []; window.alert = function (m) { window.__alerts.push(String(m)); };"})
    return driver


def fault_counts(report):
    """What the page must show per class: the audit's own fault_counts, else every finding counted."""
    if report["schema"] == "cyrconv-audit":
        return dict(report["totals"]["fault_counts"])
    counts = {}

    def add(findings):
        for f in findings or []:
            counts[f["kind"]] = counts.get(f["kind"], 0) + 1
    add(report.get("findings"))
    for u in report.get("users", []):
        add(u.get("findings"))
        for f in u.get("folders", []):
            add(f.get("findings"))
            if isinstance(f.get("messages"), list):  # scan: a count
                for m in f["messages"]:
                    add(m.get("findings"))
    return counts


ACCOUNTING_KEYS = {
    "cyrconv-audit": ["written", "repaired", "quarantined", "missing", "orphans_recovered", "not_converted"],
    "cyrconv-convert": ["written", "repaired", "quarantined", "missing", "orphans_recovered", "not_converted", "earlier"],
    "cyrconv-verify": ["verified", "quarantined", "listed_missing", "skipped_deleted", "not_converted", "mismatched", "lost"],
}


def user_messages(report, u):
    if report["schema"] == "cyrconv-scan":
        return sum(f["messages"] for f in u["folders"])
    return sum((f.get("accounting") or f.get("count"))["messages"] for f in u["folders"])


def check_page(driver, name, html, report_file, shots=None, expect_names=(), full=True):
    """full: also sort, filter and expand (every page but the damaged spools', which differ
    from the fixture's in their fault classes only)."""
    with open(report_file, "rb") as f:
        report = json.loads(f.read().decode("utf-8", errors="replace"))
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get("file://" + os.path.abspath(html))
    ready = driver.execute_script("return document.body.getAttribute('data-rendered')")
    if ready != "true":
        fail(f"{name}: the page did not finish rendering")
        for e in driver.get_log("browser"):
            print("   console:", e["message"][:300])
        return
    ms = driver.execute_script(
        "var m = performance.getEntriesByName('cyrconv-rendered')[0]; var n = performance.getEntriesByType('navigation')[0];"
        "return Math.max(m.startTime, n.loadEventEnd || 0);")
    print(f"  {name}: loaded and drawn in {ms:.0f} ms ({os.path.getsize(html) >> 10} KiB)")
    if ms >= LOAD_LIMIT_MS:
        fail(f"{name}: loading took {ms:.0f} ms, over {LOAD_LIMIT_MS} ms")
    totals = report["totals"]
    dom = driver.execute_script("""
      function map(sel, key) { var o = {}; document.querySelectorAll(sel).forEach(function (e) {
        o[e.getAttribute(key)] = parseInt(e.getAttribute('data-value'), 10); }); return o; }
      return {legend: map('#accounting-legend li', 'data-acc'), bars: map('#faults-by-count g[data-fault]', 'data-fault'),
              messages: parseInt(document.getElementById('accounting').getAttribute('data-messages'), 10),
              rows: document.querySelectorAll('#users-table tbody tr.user-row').length,
              explained: Array.prototype.map.call(document.querySelectorAll('#fault-explanations tbody tr'), function (r) {
                return r.id; }),
              body: document.body.innerText,
              alerts: window.__alerts,
              extra: [document.images.length, document.scripts.length,
                      document.querySelectorAll('iframe,object,embed').length]};""")

    # Names are text; nothing from them ran or was added.
    for n in expect_names:
        if n not in dom["body"]:
            fail(f"{name}: the name {n!r} does not show as text in {dom['body'][:1500]!r}")
    if dom["alerts"] or dom["extra"] != [0, 4, 0]:
        fail(f"{name}: script from the data ran or added elements: alerts {dom['alerts']}, "
             f"[img, script, frames] {dom['extra']}")

    # Accounting: every legend figure is the report's.
    legend = dom["legend"]
    for key in ACCOUNTING_KEYS.get(report["schema"], []):
        want = totals.get(key, 0)
        if want and legend.get(key) != want:
            fail(f"{name}: accounting {key} shows {legend.get(key)}, the report says {want}")
    if report["schema"] == "cyrconv-scan":
        if legend.get("missing", 0) != totals["missing_files"] or \
                legend.get("present") != totals["messages"] - totals["missing_files"]:
            fail(f"{name}: scan accounting {legend} differs from the totals")
    shown = dom["messages"]
    if shown != totals["messages"]:
        fail(f"{name}: total messages shown {shown}, the report says {totals['messages']}")

    # Fault classes: a bar per class with the report's count, and its explanation row.
    want = fault_counts(report)
    if dom["bars"] != want:
        fail(f"{name}: fault bars {dom['bars']} != the report's {want}")
    if sorted(dom["explained"]) != sorted("fault-" + k for k in want):
        fail(f"{name}: explanation rows {dom['explained']} for classes {sorted(want)}")

    # Users: one row each (up to a page); sorting reorders; entries page by page.
    users = report["users"]
    if dom["rows"] != min(len(users), 200):
        fail(f"{name}: {dom['rows']} user rows for {len(users)} users")
    if full and len(users) > 1:
        header = driver.find_element(By.CSS_SELECTOR, "#users-table th[data-key=messages]")
        header.click()  # messages, largest first
        got = [r.get_attribute("data-user") for r in driver.find_elements(By.CSS_SELECTOR, "#users-table tr.user-row")]
        order = sorted(users, key=lambda u: (-user_messages(report, u), [-ord(c) for c in u["user"]]))
        counts = {u["user"]: user_messages(report, u) for u in users}
        if [counts[g] for g in got] != sorted((counts[g] for g in got), reverse=True) or len(got) != min(len(order), 200):
            fail(f"{name}: sorting by messages (descending) gave {got[:10]}")
        header.click()  # and smallest first
        got2 = [r.get_attribute("data-user") for r in driver.find_elements(By.CSS_SELECTOR, "#users-table tr.user-row")]
        if [counts[g] for g in got2] != sorted(counts[g] for g in got2) or got2 == got:
            fail(f"{name}: sorting by messages (ascending) gave {got2[:10]}")
        driver.find_element(By.CSS_SELECTOR, "#users-table th[data-key=bytes]").click()

    # Expanding: the first user with findings, its first folder with entries, a page of them.
    entries_folder = None
    for u in users:
        for f in u["folders"]:
            if f.get("messages") and isinstance(f["messages"], list) and f["messages"]:
                entries_folder = (u, f)
                break
        if entries_folder:
            break
    if full and entries_folder:
        u, f = entries_folder
        driver.execute_script("document.getElementById('user-filter').value = arguments[0];"
                              "document.getElementById('user-filter').dispatchEvent(new Event('input'));", u["user"])
        row = [r for r in driver.find_elements(By.CSS_SELECTOR, "#users-table tr.user-row")
               if r.get_attribute("data-user") == u["user"]]
        if not row:
            fail(f"{name}: filtering for user {u['user']!r} lost its row")
        else:
            row[0].find_element(By.CSS_SELECTOR, "button.expand").click()
            folders = driver.find_elements(By.CSS_SELECTOR, "tr.detail table.folders tr.folder-row")
            target = [r for r in folders if r.find_element(By.CSS_SELECTOR, "td.name .name").text.startswith(f["name"])]
            if not target:
                fail(f"{name}: folder {f['name']!r} not listed under its user")
            else:
                target[0].find_element(By.CSS_SELECTOR, "button.expand").click()
                info = driver.find_element(By.CSS_SELECTOR, "table.entries").find_element(By.XPATH, "../..").text
                n = len(f["messages"])
                if f"of {n:,}" not in info:
                    fail(f"{name}: entries pager does not say 'of {n:,}'")
                shown_rows = driver.find_elements(By.CSS_SELECTOR, "table.entries tbody tr")
                if len(shown_rows) != min(n, 50):
                    fail(f"{name}: {len(shown_rows)} entry rows shown, expected {min(n, 50)}")
                first_uid = shown_rows[0].find_element(By.CSS_SELECTOR, "td").text
                if first_uid != str(f["messages"][0]["uid"]):
                    fail(f"{name}: first entry shows UID {first_uid}, the report {f['messages'][0]['uid']}")

    if full and driver.execute_script("return [window.__alerts.length, document.images.length]") != [0, 0]:
        fail(f"{name}: after sorting and expanding, an alert ran or an image appeared")
    for e in driver.get_log("browser"):
        if e["level"] in ("SEVERE", "ERROR"):
            fail(f"{name}: console error: {e['message'][:300]}")

    if shots:
        driver.execute_script("document.getElementById('user-filter').value = '';"
                              "document.getElementById('user-filter').dispatchEvent(new Event('input'));")
        for label, width in (("desktop", 1280), ("narrow", 420)):
            if label == "narrow":  # opened in a narrow window, as a phone would
                driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # left by the capture
                driver.set_window_size(width, 900)
                driver.get("file://" + os.path.abspath(html))
            if label == "narrow":
                sw = driver.execute_script("return document.documentElement.scrollWidth")
                if sw > width:
                    wide = driver.execute_script(
                        "var o = []; document.querySelectorAll('body *').forEach(function (e) {"
                        " if (e.getBoundingClientRect().right > innerWidth && !e.closest('.scroll'))"
                        " o.push(e.tagName + '.' + e.getAttribute('class')); }); return [innerWidth, o.slice(0, 8)];")
                    fail(f"{name}: the narrow page is {sw} px wide in a {width} px window: {wide}")
            height = driver.execute_script("return Math.min(document.documentElement.scrollHeight, 6000)")
            png = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                         "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
            import base64
            with open(os.path.join(shots, f"{name}-{label}.png"), "wb") as out:
                out.write(base64.b64decode(png["data"]))
        driver.set_window_size(1280, 900)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cyrconv", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--out-dir", required=True, help="screenshots and pages are kept here")
    args = ap.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    started = time.monotonic()
    try:
        driver = start_browser()
    except WebDriverException as e:
        print(f"SKIP: Chromium cannot be started: {str(e)[:300]}")
        return 77
    pages = []  # (name, html, report json, screenshots?, names expected as text)
    cy = args.cyrconv
    fx = os.path.join(args.source, "fixtures", "cyrus36-default")
    spool, config = os.path.join(fx, "spool"), os.path.join(fx, "config")
    with tempfile.TemporaryDirectory(prefix="cyrconv-html-") as work:
        w = lambda n: os.path.join(work, n)  # noqa: E731
        # Every report kind of the fixture; audit, convert and verify write their page themselves.
        p = run([cy, "scan", "--spool", spool, "--config", config, "--json-file", w("scan.json")])
        run([cy, "report", "html", w("scan.json"), "-o", w("scan.html")], ok=(0,))
        pages.append(("scan", w("scan.html"), w("scan.json"), False, ()))
        run([cy, "audit", "--spool", spool, "--config", config, "--report", w("audit.json"), "--html", w("audit.html")])
        pages.append(("audit", w("audit.html"), w("audit.json"), True, ()))
        run([cy, "audit", "--spool", spool, "--config", config, "--html", w("audit-direct.html")])
        if not os.path.exists(w("audit-direct.html")):
            fail("audit --html without --report wrote no page")
        run([cy, "convert", "--spool", spool, "--config", config, "--format", "maildir", "--out", w("out"), "--quiet",
             "--report", w("convert.json"), "--html", w("convert.html")])
        pages.append(("convert", w("convert.html"), w("convert.json"), False, ()))
        run([cy, "verify", "--spool", spool, "--config", config, "--out", w("out"), "--report", w("verify.json"),
             "--html", w("verify.html")])
        pages.append(("verify", w("verify.html"), w("verify.json"), False, ()))
        # A merged report of two shards.
        run([cy, "plan", "--spool", spool, "--config", config, "--shards", "2", "--out", w("plan.json")], ok=(0,))
        for k in (0, 1):
            run([cy, "convert", "--spool", spool, "--config", config, "--format", "mbox", "--out", w("sh"), "--quiet",
                 "--plan", w("plan.json"), "--shard", str(k), "--report", w(f"shard-{k}.json")])
        run([cy, "report", "merge", "--plan", w("plan.json"), "--out", w("merged.json"), w("shard-0.json"),
             w("shard-1.json")])
        run([cy, "report", "html", w("merged.json")], ok=(0,))
        pages.append(("merged", w("merged.html"), w("merged.json"), False, ()))
        # The other clean fixtures.
        for other in ("cyrus36-legacy", "cyrus36-oldindex", "cyrus36-extras"):
            root = os.path.join(args.source, "fixtures", other)
            if not os.path.isdir(os.path.join(root, "spool")):
                continue
            cmd = [cy, "audit", "--spool", os.path.join(root, "spool"), "--report", w(f"{other}.json"),
                   "--html", w(f"{other}.html")]
            if os.path.isdir(os.path.join(root, "config")):
                cmd[4:4] = ["--config", os.path.join(root, "config")]
            run(cmd)
            pages.append((other, w(f"{other}.html"), w(f"{other}.json"), False, ()))
        # Each damaged spool.
        subprocess.run([sys.executable, os.path.join(args.source, "tools", "damage"), w("damage")],
                       check=True, stdout=subprocess.DEVNULL)
        with open(w("damage/manifest.json")) as f:
            cases = json.load(f)
        names = sorted(c["class"] for c in cases["cases"])
        for c in names:
            run([cy, "audit", "--spool", w(f"damage/{c}/spool"), "--config", w(f"damage/{c}/config"),
                 "--report", w(f"damage-{c}.json")])
            run([cy, "report", "html", w(f"damage-{c}.json"), "-o", w(f"damage-{c}.html")], ok=(0,))
            pages.append((f"damage-{c}", w(f"damage-{c}.html"), w(f"damage-{c}.json"), False, ()))
        # Hostile names, and bytes that are not UTF-8 in a folder name.
        data.write_big_audit(w("hostile.json"), 40, users=6, hostile=True)
        with open(w("hostile.json"), "rb") as f:
            raw = f.read().replace(b'"user": "u05"', b'"user": "caf\xe9 \xff\xfe"', 1)
        with open(w("hostile.json"), "wb") as f:
            f.write(raw)
        run([cy, "report", "html", w("hostile.json")], ok=(0,))
        pages.append(("hostile", w("hostile.html"), w("hostile.json"), False,
                      tuple(data.HOSTILE_NAMES)
                      + ("caf\ufffd \ufffd\ufffd",)))
        # 100,000 entries.
        data.write_big_audit(w("big.json"), 100000)
        run([cy, "report", "html", w("big.json")], ok=(0,))
        pages.append(("entries-100000", w("big.html"), w("big.json"), True, ()))
        # Not a report: refused, nothing written.
        with open(w("other.json"), "w") as f:
            f.write('{"schema": "something-else", "users": []}')
        p = run([cy, "report", "html", w("other.json")], ok=(3,))
        if os.path.exists(w("other.html")) or b"not a cyrconv report" not in p.stderr:
            fail("a JSON document that is no cyrconv report was not refused cleanly")

        print(f"reports and pages written in {time.monotonic() - started:.1f} s")
        try:
            for name, html, report, shots, expect in pages:
                check_page(driver, name, html, report, args.out_dir if shots else None, expect,
                           full=not name.startswith("damage-"))
        finally:
            driver.quit()
    print(f"{len(pages)} pages checked in {time.monotonic() - started:.1f} s; screenshots in {args.out_dir}")
    if problems:
        print(f"FAILED: {len(problems)} mismatch(es)")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
