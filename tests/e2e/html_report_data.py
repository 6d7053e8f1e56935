"""Synthetic cyrconv audit reports for the HTML report tests: many entries, and hostile names.

write_big_audit(path, entries) streams an audit report (schema as README "audit --report schema")
with `entries` per-message entries to `path`, never holding them in memory; returns its totals.
"""
import json

HOSTILE_NAMES = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "x</script><script>alert(3)</script>",
    "a & b <b>bold</b> \u2028line\u2029sep",
]
KINDS = [("missing_date", "warning", "write", "the header has no Date field"),
         ("bare_lf", "warning", "repair", "every line ends in bare LF"),
         ("size_mismatch", "error", "quarantine", "size differs from the index"),
         ("missing_message_id", "warning", "write", "the header has no Message-ID field")]


def _acc(messages, counts):
    a = {"messages": messages, "written": counts["write"], "repaired": counts["repair"],
         "quarantined": counts["quarantine"], "missing": 0, "not_converted": 0, "orphans": 0,
         "orphans_recovered": 0, "orphans_quarantined": 0}
    a["balanced"] = True
    return a


def write_big_audit(path, entries, users=40, hostile=False):
    """Users u00.. with 3 folders each; half of the entries in one big folder of user u00."""
    fault_counts = {}
    totals = {"write": 0, "repair": 0, "quarantine": 0}
    messages_total = 0
    folders_total = 0
    errors = warnings = 0
    bytes_total = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write('{"schema": "cyrconv-audit", "schema_version": 1, "tool_version": "0.1.0", '
                  '"inputs": ["partition default=/srv/spool"], "on_corrupt": "repair", "mime_checked": false, '
                  '"findings": [], "users": [')
        left = entries
        plan = []  # (user index, folder index, entries)
        big = entries // 2
        plan.append((0, 0, big))
        left -= big
        slots = users * 3 - 1
        for s in range(slots):
            n = left // (slots - s)
            plan.append(((s + 1) // 3, (s + 1) % 3, n))
            left -= n
        uid_base = 1
        for ui in range(users):
            name = f"u{ui:02d}" if not (hostile and ui < len(HOSTILE_NAMES)) else HOSTILE_NAMES[ui]
            out.write(("" if ui == 0 else ", ") + '{"user": ' + json.dumps(name) + ', "folders": [')
            for fi in range(3):
                n = next(p[2] for p in plan if p[0] == ui and p[1] == fi)
                fname = ["INBOX", "Sent", "Archive"][fi]
                if hostile and ui < len(HOSTILE_NAMES):
                    fname = HOSTILE_NAMES[(ui + fi) % len(HOSTILE_NAMES)]
                messages = n + 10 + fi
                counts = {"write": 10 + fi, "repair": 0, "quarantine": 0}
                directory = f"/srv/spool/{chr(97 + ui % 26)}/user/u{ui:02d}" + ("" if fi == 0 else f"/{fname}")
                out.write(("" if fi == 0 else ", ") + "{" + f'"name": {json.dumps(fname)}, "name_raw": "user.u{ui:02d}", '
                          f'"directory": {json.dumps(directory)}, "deleted": false, "index_version": {17 - fi}, '
                          '"failed": false, "messages": [')
                for i in range(n):
                    kind, sev, action, detail = KINDS[(uid_base + i) % len(KINDS)]
                    counts[action] += 1
                    fault_counts[kind] = fault_counts.get(kind, 0) + 1
                    if sev == "error":
                        errors += 1
                    else:
                        warnings += 1
                    uid = i + 1
                    size = 1000 + (i * 37) % 90000
                    bytes_total += size
                    entry = {"uid": uid, "file": f"{directory}/{uid}.", "orphan": False, "size": size, "action": action}
                    if action == "repair":
                        entry["changes"] = ["LF line ends made CRLF"]
                    if action == "quarantine":
                        entry["reason"] = detail
                    entry["findings"] = [{"severity": sev, "kind": kind, "file": f"{directory}/{uid}.", "uid": uid,
                                          "detail": detail}]
                    out.write(("" if i == 0 else ",") + json.dumps(entry))
                uid_base += n
                folder_bytes = (n + 10) * 4000
                out.write('], "accounting": ' + json.dumps(_acc(messages, counts)) +
                          f', "bytes_read": {folder_bytes}, "findings": []' + "}")
                for k in totals:
                    totals[k] += counts[k]
                messages_total += messages
                folders_total += 1
            out.write("]}")
        t = _acc(messages_total, totals)
        t.update({"folders": folders_total, "errors": errors, "warnings": warnings, "bytes_read": bytes_total,
                  "seconds": 12.5, "fault_counts": fault_counts,
                  "message_sizes": {"log2_counts": [0] * 10 + [entries // 2, entries // 2]}})
        out.write('], "totals": ' + json.dumps(t) + ', "problems_found": true}\n')
    return t
