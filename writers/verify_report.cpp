#include "writers/verify_report.h"

#include "parsers/utf8.h"
#include "writers/report_json.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <map>

namespace cyrconv {

using nlohmann::ordered_json;

namespace {

ordered_json counts_json(const VerifyCounts& c) {
  return ordered_json{{"messages", c.messages},
                      {"verified", c.verified},
                      {"quarantined", c.quarantined},
                      {"listed_missing", c.listed_missing},
                      {"skipped_deleted", c.skipped_deleted},
                      {"not_converted", c.not_converted},
                      {"mismatched", c.mismatched},
                      {"lost", c.lost},
                      {"extra", c.extra},
                      {"balanced", c.balanced()}};
}

// Findings in the text summary: each error, infos summarised per kind (extra mail can be a lot).
constexpr std::size_t max_text_findings_per_folder = 50;

}  // namespace

void write_verify_text(const VerifyReport& r, std::ostream& out, bool verbose) {
  out << "cyrconv verify: " << r.format << " in " << r.out << " (profile " << r.profile;
  if (r.format == "maildir") out << ", eol " << r.eol;
  out << ")\n";
  for (const auto& in : r.inputs) out << "  input: " << in << '\n';
  for (const auto& f : r.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
  for (const auto& u : r.users) {
    out << '\n' << (u.user.empty() ? std::string("shared folders") : "user " + u.user) << " -> " << u.output << '\n';
    for (const auto& f : u.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
    std::uint64_t quiet_folders = 0, quiet_messages = 0;
    for (const auto& f : u.folders) {
      const auto& c = f.count;
      const bool problems = c.mismatched || c.lost || !f.findings.empty();
      if (!verbose && !problems && c.verified == c.messages) {
        ++quiet_folders;
        quiet_messages += c.messages;
        continue;
      }
      out << "  " << f.name;
      if (f.recovery) out << " (orphan files)";
      if (!f.target.empty() && f.target != f.name) out << " -> " << f.target;
      out << ": " << c.messages << " msgs, verified " << c.verified;
      if (c.quarantined) out << ", quarantined " << c.quarantined;
      if (c.listed_missing) out << ", missing in source " << c.listed_missing;
      if (c.skipped_deleted) out << ", skipped \\Deleted " << c.skipped_deleted;
      if (c.not_converted) out << ", not converted " << c.not_converted;
      if (c.mismatched) out << ", MISMATCHED " << c.mismatched;
      if (c.lost) out << ", LOST " << c.lost;
      if (c.extra) out << ", extra " << c.extra;
      out << (problems ? "" : "  ok") << '\n';
      std::size_t shown = 0;
      std::map<std::string, std::uint64_t> infos;
      for (const auto& fd : f.findings) {
        if (fd.severity == Finding::Severity::info) {
          ++infos[fd.kind];
          continue;
        }
        if (shown++ == max_text_findings_per_folder) out << "      ... (all of them in --report)\n";
        if (shown > max_text_findings_per_folder) continue;
        out << "      " << to_string(fd.severity) << ": " << fd.kind;
        if (fd.uid) out << ": uid " << fd.uid;
        out << ": " << fd.file << ": " << fd.detail << '\n';
      }
      for (const auto& [kind, n] : infos) out << "      info: " << kind << " x" << n << '\n';
    }
    if (quiet_folders)
      out << "  " << quiet_folders << (quiet_folders == 1 ? " folder" : " folders") << " ok: " << quiet_messages
          << " messages verified (--verbose lists them)\n";
  }
  const auto& t = r.totals;
  out << "\ntotals: " << r.folders << " folders, " << t.messages << " source messages: verified " << t.verified
      << ", quarantined " << t.quarantined << ", missing in source " << t.listed_missing << ", skipped \\Deleted "
      << t.skipped_deleted << ", not converted " << t.not_converted << ", mismatched " << t.mismatched << ", lost "
      << t.lost << "; extra in output " << t.extra << '\n';
  if (r.census.taken) {
    const auto& c = r.census;
    out << "census of the source: " << c.files << " message files: in the output " << c.converted << ", mismatched "
        << c.mismatched << ", expunged "
        << c.expunged << ", left out by request " << c.left_out << ", not verified (calendar, addressbook) "
        << c.not_verified << ", lost " << c.lost << (c.balanced() ? "" : "  ** DOES NOT ADD UP **") << '\n';
  }
  out << "  " << r.bytes_read << " bytes read in " << std::fixed << std::setprecision(2) << r.seconds
      << " s; errors: " << r.errors << ", warnings: " << r.warnings << "\n";
  out << (r.clean() ? "VERIFIED: the output holds every source message as listed\n"
                    : "NOT VERIFIED: see the errors above\n");
}

std::string verify_report_json(const VerifyReport& r) {
  ordered_json j;
  j["schema"] = "cyrconv-verify";
  j["schema_version"] = 1;
  j["tool_version"] = r.tool_version;
  j["inputs"] = r.inputs;
  j["out"] = r.out;
  j["format"] = r.format;
  j["profile"] = r.profile;
  j["eol"] = r.eol;
  j["findings"] = findings_json(r.findings);
  ordered_json users = ordered_json::array();
  for (const auto& u : r.users) {
    ordered_json ju;
    ju["user"] = u.user;
    ju["output"] = u.output;
    ju["findings"] = findings_json(u.findings);
    ordered_json folders = ordered_json::array();
    for (const auto& f : u.folders) {
      ordered_json jf;
      add_name_json(jf, f.name, f.name_raw);
      jf["target"] = f.target;
      jf["output"] = f.output;
      jf["manifest"] = f.manifest;
      jf["recovery"] = f.recovery;
      jf["uidvalidity"] = f.uidvalidity;
      jf["uidnext"] = f.uidnext;
      jf["count"] = counts_json(f.count);
      jf["bytes_read"] = f.bytes_read;
      jf["findings"] = findings_json(f.findings);
      folders.push_back(std::move(jf));
    }
    ju["folders"] = std::move(folders);
    users.push_back(std::move(ju));
  }
  j["users"] = std::move(users);
  j["totals"] = counts_json(r.totals);
  j["totals"]["folders"] = r.folders;
  j["totals"]["errors"] = r.errors;
  j["totals"]["warnings"] = r.warnings;
  j["totals"]["infos"] = r.infos;
  j["totals"]["bytes_read"] = r.bytes_read;
  if (r.census.taken) {
    const auto& c = r.census;
    j["census"] = {{"files", c.files},       {"converted", c.converted},       {"mismatched", c.mismatched},
                   {"expunged", c.expunged},
                   {"left_out", c.left_out}, {"not_verified", c.not_verified}, {"lost", c.lost},
                   {"balanced", c.balanced()}};
  }
  j["seconds"] = r.seconds;
  j["verified"] = r.clean();
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace cyrconv
