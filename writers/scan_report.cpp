#include "writers/scan_report.h"

#include "parsers/utf8.h"
#include "writers/report_json.h"

#include <nlohmann/json.hpp>

#include <iomanip>

namespace cyrconv {

using nlohmann::ordered_json;

namespace {

std::string human_bytes(std::uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  std::ostringstream s;
  s << std::fixed << std::setprecision(u == 0 ? 0 : 1) << v << ' ' << units[u];
  return s.str();
}

// Pads to a width in characters, not bytes: folder names are UTF-8.
std::string pad_right(const std::string& s, std::size_t width) {
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xC0) != 0x80;
  return chars >= width ? s : s + std::string(width - chars, ' ');
}

void write_findings(const std::vector<Finding>& fs, std::ostream& out, const char* indent) {
  for (const auto& f : fs) {
    out << indent << to_string(f.severity) << ": " << f.kind << ": " << f.file;
    if (f.offset) out << " offset " << f.offset;
    if (f.uid) out << " uid " << f.uid;
    out << ": " << f.detail << '\n';
  }
}

}  // namespace

void write_scan_text(const ScanReport& r, std::ostream& out) {
  out << "cyrconv scan\n";
  for (const auto& in : r.inputs) out << "  input: " << in << '\n';
  out << "  mailboxes.db: " << (r.mailboxes_db.empty() ? "(none: mailboxes found by walking the spool)" : r.mailboxes_db);
  if (!r.mailboxes_db_format.empty()) out << " (" << r.mailboxes_db_format << ")";
  out << "\n";
  write_findings(r.findings, out, "  ");
  for (const auto& u : r.users) {
    std::uint64_t msgs = 0, bytes = 0;
    for (const auto& f : u.folders) {
      msgs += f.messages;
      bytes += f.bytes;
    }
    out << '\n' << (u.user.empty() ? std::string("shared and deleted folders") : "user " + u.user) << ": "
        << u.folders.size() << " folders, " << msgs << " messages, " << human_bytes(bytes) << '\n';
    if (!u.user.empty()) {
      out << "  seen db: " << (u.seen_db.empty() ? "(none)" : u.seen_db) << '\n';
      out << "  subscriptions: "
          << (u.subscriptions_found ? std::to_string(u.subscriptions.size()) : std::string("(no subscription db)")) << '\n';
    }
    write_findings(u.findings, out, "  ");
    for (const auto& f : u.folders) {
      out << "  " << pad_right(f.name, 28) << " " << std::setw(6) << f.messages << " msgs "
          << std::setw(10) << human_bytes(f.bytes) << "  v" << f.index_version << "  seen:" << f.seen_messages << " ("
          << f.seen_source << ")";
      if (f.kind != "email") out << "  [" << f.kind << "]";
      if (f.deleted) out << "  [deleted]";
      if (f.expunged_present) out << "  expunged-on-disk:" << f.expunged_present;
      if (f.missing_files) out << "  missing:" << f.missing_files;
      if (f.orphan_files) out << "  orphans:" << f.orphan_files;
      out << '\n';
      write_findings(f.findings, out, "      ");
    }
  }
  const ScanTotals& t = r.totals;
  out << "\ntotals: " << t.users << " users, " << t.folders << " folders, " << t.messages << " messages, "
      << human_bytes(t.bytes) << " (" << t.bytes << " bytes)\n";
  out << "  index versions:";
  for (const auto& [v, n] : r.index_versions) out << " v" << v << " x" << n;
  out << "\n  expunged but on disk: " << t.expunged_present << ", missing message files: " << t.missing_files
      << ", orphan files: " << t.orphan_files << "\n  errors: " << t.errors << ", warnings: " << t.warnings << '\n';
}

std::string scan_report_json(const ScanReport& r) {
  ordered_json j;
  j["schema"] = "cyrconv-scan";
  j["schema_version"] = scan_report_schema_version;
  j["tool_version"] = r.tool_version;
  j["inputs"] = r.inputs;
  j["mailboxes_db"] = r.mailboxes_db;
  j["mailboxes_db_format"] = r.mailboxes_db_format;
  j["findings"] = findings_json(r.findings);
  ordered_json users = ordered_json::array();
  for (const auto& u : r.users) {
    ordered_json ju;
    ju["user"] = u.user;
    ju["seen_db"] = u.seen_db;
    ju["subscriptions_found"] = u.subscriptions_found;
    ju["subscriptions"] = u.subscriptions;
    ju["findings"] = findings_json(u.findings);
    ordered_json folders = ordered_json::array();
    for (const auto& f : u.folders) {
      ordered_json jf;
      add_name_json(jf, f.name, f.name_raw);
      jf["name_valid"] = f.name_valid;
      jf["kind"] = f.kind;
      jf["deleted"] = f.deleted;
      jf["directory"] = escape_invalid_utf8(f.directory);
      jf["unique_id"] = f.unique_id;
      jf["in_mailboxes_db"] = f.in_mailboxes_db;
      jf["on_disk"] = f.on_disk;
      jf["index_version"] = f.index_version;
      jf["uidvalidity"] = f.uidvalidity;
      jf["uidnext"] = f.uidnext;
      jf["messages"] = f.messages;
      jf["bytes"] = f.bytes;
      jf["seen_messages"] = f.seen_messages;
      jf["seen_source"] = f.seen_source;
      jf["expunged_present"] = f.expunged_present;
      jf["missing_files"] = f.missing_files;
      jf["orphan_files"] = f.orphan_files;
      jf["keywords"] = f.keywords;
      jf["findings"] = findings_json(f.findings);
      folders.push_back(std::move(jf));
    }
    ju["folders"] = std::move(folders);
    users.push_back(std::move(ju));
  }
  j["users"] = std::move(users);
  ordered_json versions = ordered_json::object();
  for (const auto& [v, n] : r.index_versions) versions[std::to_string(v)] = n;
  const ScanTotals& t = r.totals;
  j["totals"] = {{"users", t.users},
                 {"folders", t.folders},
                 {"messages", t.messages},
                 {"bytes", t.bytes},
                 {"expunged_present", t.expunged_present},
                 {"missing_files", t.missing_files},
                 {"orphan_files", t.orphan_files},
                 {"errors", t.errors},
                 {"warnings", t.warnings},
                 {"index_versions", versions}};
  std::size_t used = r.message_sizes.size();
  while (used > 0 && r.message_sizes[used - 1] == 0) --used;
  j["totals"]["message_sizes"]["log2_counts"] =
      std::vector<std::uint64_t>(r.message_sizes.begin(), r.message_sizes.begin() + static_cast<std::ptrdiff_t>(used));
  // Invalid UTF-8 (raw folder names) is replaced rather than aborting the report.
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace cyrconv
