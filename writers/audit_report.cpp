#include "writers/audit_report.h"

#include "writers/message_log.h"
#include "parsers/utf8.h"
#include "writers/report_json.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <map>
#include <sstream>

namespace cyrconv {

using nlohmann::ordered_json;

namespace {

ordered_json accounting_json(const AuditAccounting& c) {
  ordered_json j;
  j["messages"] = c.messages;
  j["written"] = c.written;
  j["repaired"] = c.repaired;
  j["quarantined"] = c.quarantined;
  j["missing"] = c.missing;
  j["not_converted"] = c.not_converted;
  j["orphans"] = c.orphans;
  j["orphans_recovered"] = c.orphans_recovered;
  j["orphans_quarantined"] = c.orphans_quarantined;
  j["balanced"] = c.balanced();
  add_files_json(j, c);
  return j;
}

ordered_json message_json(const AuditMessage& m) {
  ordered_json j;
  j["uid"] = m.uid;
  j["file"] = m.file;
  j["orphan"] = m.orphan;
  j["size"] = m.size;
  j["action"] = to_string(m.action);
  if (!m.changes.empty()) j["changes"] = m.changes;
  if (!m.reason.empty()) j["reason"] = m.reason;
  if (!m.recover_folder.empty()) j["recover_folder"] = m.recover_folder;
  j["findings"] = findings_json(m.findings);
  return j;
}

std::string accounting_line(const AuditAccounting& c) {
  std::string s = std::to_string(c.messages) + " in index = " + std::to_string(c.written) + " written + " +
                  std::to_string(c.repaired) + " repaired + " + std::to_string(c.quarantined) + " quarantined + " +
                  std::to_string(c.missing) + " missing";
  if (c.not_converted) s += " + " + std::to_string(c.not_converted) + " not converted (failed)";
  if (c.orphans)
    s += "; orphans " + std::to_string(c.orphans) + " (" + std::to_string(c.orphans_recovered) + " recovered, " +
         std::to_string(c.orphans_quarantined) + " quarantined)";
  if (!c.balanced()) s += "  ** DOES NOT ADD UP **";
  s += "; " + files_line(c);
  return s;
}

void write_findings(const std::vector<Finding>& fs, std::ostream& out, const char* indent) {
  for (const auto& f : fs) {
    out << indent << to_string(f.severity) << ": " << f.kind;
    if (f.uid) out << " uid " << f.uid;
    if (f.offset) out << " offset " << f.offset;
    out << ": " << f.detail << '\n';
  }
}

}  // namespace

void write_audit_text(const AuditReport& r, std::ostream& out, bool verbose) {
  out << "cyrconv audit (--on-corrupt=" << r.on_corrupt << (r.mime_checked ? ", --deep: MIME checked" : ", MIME not checked: use --deep") << ")\n";
  for (const auto& in : r.inputs) out << "  input: " << in << '\n';
  write_findings(r.findings, out, "  ");
  for (const auto& u : r.users) {
    bool header = false;
    std::uint64_t quiet_folders = 0;
    std::map<std::string, std::uint64_t> quiet_warnings;
    for (const auto& f : u.folders) {
      if (f.findings.empty() && f.messages.empty() && f.spilled.empty() && !f.failed) continue;
      // Messages convert writes unchanged (with notes only), by kind; and whether any other.
      std::map<std::string, std::uint64_t> warnings;
      bool changed = false;
      auto e = for_each_message(r.message_log.get(), f.spilled, f.messages, [&](const AuditMessage& m) {
        if (m.action != MessageAction::write || m.orphan) changed = true;
        else
          for (const auto& fd : m.findings) ++warnings[fd.kind];
      });
      if (!verbose && !changed && e.empty() && f.findings.empty() && !f.failed) {
        ++quiet_folders;
        for (const auto& [kind, n] : warnings) quiet_warnings[kind] += n;
        continue;
      }
      if (!header) out << '\n' << (u.user.empty() ? std::string("shared and deleted folders") : "user " + u.user) << ":\n";
      header = true;
      out << "  " << f.name << (f.deleted ? " [deleted]" : "") << ": " << accounting_line(f.count) << '\n';
      out << "    directory: " << f.directory << '\n';
      if (f.failed) out << "    FAILED (--on-corrupt=fail): " << f.fail_reason << '\n';
      write_findings(f.findings, out, "    ");
      if (!verbose && !warnings.empty()) {
        out << "    written unchanged with warnings:";
        for (const auto& [kind, n] : warnings) out << " " << kind << " x" << n;
        out << '\n';
      }
      for_each_message(r.message_log.get(), f.spilled, f.messages, [&](const AuditMessage& m) {
        if (!verbose && m.action == MessageAction::write && !m.orphan) return;
        out << "    " << (m.orphan ? "orphan " : "uid ") << m.uid << ": " << to_string(m.action);
        if (!m.changes.empty()) {
          out << " (";
          for (std::size_t i = 0; i < m.changes.size(); ++i) out << (i ? "; " : "") << m.changes[i];
          out << ")";
        }
        if (!m.reason.empty()) out << " (" << m.reason << ")";
        if (!m.recover_folder.empty()) out << " into " << m.recover_folder;
        out << '\n';
        write_findings(m.findings, out, "      ");
      });
      if (!e.empty()) out << "    ERROR: report entries lost: " << e << '\n';
    }
    if (quiet_folders) {
      if (!header) out << '\n' << (u.user.empty() ? std::string("shared and deleted folders") : "user " + u.user) << ":\n";
      out << "  " << quiet_folders << (quiet_folders == 1 ? " more folder" : " more folders")
          << " whose messages convert writes unchanged, with warnings:";
      for (const auto& [kind, n] : quiet_warnings) out << " " << kind << " x" << n;
      out << " (--verbose lists them)\n";
    }
  }
  out << "\ntotals: " << r.folders << " folders; " << accounting_line(r.totals) << '\n';
  out << "census: " << r.census_files << " message files in the source (verify accounts for each)\n";
  out << "  errors: " << r.errors << ", warnings: " << r.warnings << '\n';
  if (!r.fault_counts.empty()) {
    out << "  by kind:";
    for (const auto& [k, n] : r.fault_counts) out << ' ' << k << '=' << n;
    out << '\n';
  }
  const double mib = static_cast<double>(r.bytes_read) / (1024.0 * 1024.0);
  out << "  read " << std::fixed << std::setprecision(1) << mib << " MiB in " << std::setprecision(3) << r.seconds
      << " s";
  if (r.seconds > 0) out << " (" << std::setprecision(1) << mib / r.seconds << " MiB/s)";
  out << '\n' << (r.problems() ? "problems found\n" : "no problems found\n");
}

void write_audit_report_json(const AuditReport& r, std::ostream& out) {
  PrettyJsonStream js(out);
  js.begin_object();
  ordered_json head;
  head["schema"] = "cyrconv-audit";
  head["schema_version"] = audit_report_schema_version;
  head["tool_version"] = r.tool_version;
  head["inputs"] = r.inputs;
  head["on_corrupt"] = r.on_corrupt;
  head["mime_checked"] = r.mime_checked;
  head["findings"] = findings_json(r.findings);
  js.members(head);
  std::string unread;  // a read failure of the spilled entries, reported instead of hidden
  js.key("users");
  js.begin_array();
  for (const auto& u : r.users) {
    js.begin_object();
    js.key("user");
    js.value(u.user);
    js.key("folders");
    js.begin_array();
    for (const auto& f : u.folders) {
      ordered_json jf;
      add_name_json(jf, f.name, f.name_raw);
      jf["directory"] = escape_invalid_utf8(f.directory);
      jf["deleted"] = f.deleted;
      jf["index_version"] = f.index_version;
      jf["failed"] = f.failed;
      if (f.failed) jf["fail_reason"] = f.fail_reason;
      jf["accounting"] = accounting_json(f.count);
      jf["bytes_read"] = f.bytes_read;
      jf["findings"] = findings_json(f.findings);
      write_folder_with_entries(js, jf, r.message_log.get(), f.spilled, f.messages, message_json, unread);
    }
    js.end();
    js.end();
  }
  js.end();
  ordered_json t = accounting_json(r.totals);
  t["census_files"] = r.census_files;
  t["folders"] = r.folders;
  t["errors"] = r.errors;
  t["warnings"] = r.warnings;
  t["bytes_read"] = r.bytes_read;
  t["seconds"] = r.seconds;
  t["fault_counts"] = r.fault_counts;
  std::size_t used = r.message_sizes.size();
  while (used > 0 && r.message_sizes[used - 1] == 0) --used;
  t["message_sizes"]["log2_counts"] =
      std::vector<std::uint64_t>(r.message_sizes.begin(), r.message_sizes.begin() + static_cast<std::ptrdiff_t>(used));
  js.key("totals");
  js.value(t);
  js.key("problems_found");
  js.value(r.problems());
  if (!unread.empty()) {
    js.key("report_incomplete");
    js.value(unread);
  }
  js.end();
  js.finish();
}

std::string audit_report_json(const AuditReport& r) {
  std::ostringstream out;
  write_audit_report_json(r, out);
  return std::move(out).str();
}

}  // namespace cyrconv
