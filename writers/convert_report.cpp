#include "writers/convert_report.h"

#include "writers/message_log.h"
#include "parsers/utf8.h"
#include "writers/report_json.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <map>
#include <sstream>
#include <tuple>

namespace cyrconv {

using nlohmann::ordered_json;

namespace {

ordered_json accounting_json(const AuditAccounting& c, std::uint64_t skipped_deleted) {
  ordered_json j{{"messages", c.messages},
                      {"written", c.written},
                      {"repaired", c.repaired},
                      {"quarantined", c.quarantined},
                      {"missing", c.missing},
                      {"not_converted", c.not_converted},
                      {"earlier", c.earlier},
                      {"earlier_quarantined", c.earlier_quarantined},
                      {"skipped_deleted", skipped_deleted},
                      {"orphans", c.orphans},
                      {"orphans_recovered", c.orphans_recovered},
                      {"orphans_quarantined", c.orphans_quarantined}};
  add_files_json(j, c);
  return j;
}

void write_extras_text(const CarriedExtras& x, std::ostream& out) {
  if (!x.special_use_file.empty()) out << "  special-use: " << x.special_use_file << '\n';
  for (const auto& s : x.sieve) {
    out << "  sieve " << s.name << (s.active ? " (active)" : "") << " -> " << s.file
        << (s.rewritten_unsafe ? "  [copied unchanged: not parsed safely]" : "") << '\n';
    for (const auto& w : s.rewrites) out << "      rewritten: " << w << '\n';
  }
  if (!x.sieve_active_link.empty()) out << "  sieve active: " << x.sieve_active_link << '\n';
  for (const auto& q : x.quota) {
    out << "  quota " << q.root << ": storage "
        << (q.storage_limit_kib ? std::to_string(*q.storage_limit_kib) + " KiB" : std::string("unlimited"))
        << ", messages " << (q.message_limit ? std::to_string(*q.message_limit) : std::string("unlimited"));
    if (!q.file.empty()) out << "; usage " << q.used_bytes << " bytes in " << q.used_messages << " messages";
    if (!q.file.empty()) out << " -> " << q.file;
    if (!q.note.empty()) out << " (" << q.note << ")";
    out << '\n';
  }
  if (!x.acl_table.empty()) out << "  acls: " << x.acl_table << '\n';
}

ordered_json extras_json(const CarriedExtras& x) {
  ordered_json j;
  j["special_use_file"] = x.special_use_file;
  ordered_json sieve = ordered_json::array();
  for (const auto& s : x.sieve) {
    ordered_json js;
    js["name"] = s.name;
    js["file"] = s.file;
    js["uid"] = s.uid;
    js["active"] = s.active;
    js["copied_unchanged_unparsed"] = s.rewritten_unsafe;
    js["rewrites"] = s.rewrites;
    sieve.push_back(std::move(js));
  }
  j["sieve"] = std::move(sieve);
  j["sieve_active_link"] = x.sieve_active_link;
  ordered_json quota = ordered_json::array();
  for (const auto& q : x.quota) {
    ordered_json jq;
    jq["root"] = q.root;
    jq["storage_limit_kib"] = q.storage_limit_kib ? ordered_json(*q.storage_limit_kib) : ordered_json(nullptr);
    jq["message_limit"] = q.message_limit ? ordered_json(*q.message_limit) : ordered_json(nullptr);
    jq["used_bytes"] = q.used_bytes;
    jq["used_messages"] = q.used_messages;
    jq["file"] = q.file;
    if (!q.note.empty()) jq["note"] = q.note;
    quota.push_back(std::move(jq));
  }
  j["quota"] = std::move(quota);
  j["acl_table"] = x.acl_table;
  return j;
}

// A message entry of the convert report (audit's also says "orphan" and "recover_folder").
ordered_json message_json(const AuditMessage& m) {
  ordered_json jm;
  jm["uid"] = m.uid;
  jm["file"] = m.file;
  jm["size"] = m.size;
  jm["action"] = to_string(m.action);
  if (!m.changes.empty()) jm["changes"] = m.changes;
  if (!m.reason.empty()) jm["reason"] = m.reason;
  jm["findings"] = findings_json(m.findings);
  return jm;
}

// What a folder's report entries say, read once from wherever they wait.
struct FolderMessages {
  std::map<std::string, std::uint64_t> warnings;  // of messages written unchanged, by kind
  bool changed = false;                           // some message was not written unchanged
  std::string error;                              // the entries could not be read
};

// Whether a folder has anything an administrator must look at (the quiet listing shows these):
// warnings and errors, renames, failures, messages not written unchanged; not notes such as
// a missing Message-ID on messages written as they were (summarised per user).
bool notable(const ConvertFolder& f, const FolderMessages& fm) {
  const auto& c = f.count;
  const bool findings = std::any_of(f.findings.begin(), f.findings.end(),
                                    [](const Finding& fd) { return fd.severity != Finding::Severity::info; });
  return findings || f.renamed || f.failed || fm.changed || !fm.error.empty() || c.repaired || c.quarantined ||
         c.missing || c.not_converted || c.earlier_quarantined || c.orphans || f.flags_not_applied ||
         f.kept_not_in_source || f.skipped_deleted || f.action == "deleted";
}

void write_folder_text(const ConvertReport& r, const ConvertFolder& f, const FolderMessages& fm, bool verbose,
                       std::ostream& out) {
  out << "  " << f.name;
  if (!f.target.empty() && (f.renamed || f.target != f.name)) out << " -> " << f.target;
  out << "  [" << f.action << "]";
  const auto& c = f.count;
  if (f.action == "recover_orphans")
    out << "  orphans " << c.orphans << ": recovered " << c.orphans_recovered << ", quarantined "
        << c.orphans_quarantined;
  else
    out << "  " << c.messages << " msgs: written " << c.written << ", repaired " << c.repaired << ", quarantined "
        << c.quarantined << ", missing " << c.missing;
  if (c.earlier) out << ", earlier run " << c.earlier;
  if (c.earlier_quarantined) out << " (quarantined then " << c.earlier_quarantined << ")";
  if (c.not_converted) out << ", NOT converted " << c.not_converted;
  if (f.skipped_deleted) out << ", skipped \\Deleted " << f.skipped_deleted;
  if (!f.run.empty() && f.run != "new") out << "  (" << f.run << ")";
  out << '\n';
  if (f.flags_updated || f.flags_not_applied)
    out << "      flags updated " << f.flags_updated << ", not applied " << f.flags_not_applied << '\n';
  if (f.kept_not_in_source) out << "      kept, no longer in the source: " << f.kept_not_in_source << '\n';
  if (f.renamed) out << "      renamed: " << f.rename_reason << '\n';
  if (f.failed) out << "      FAILED: " << f.fail_reason << '\n';
  if (!f.special_use.empty()) out << "      special-use " << f.special_use << " (" << f.special_use_source << ")\n";
  if (verbose)
    for (const auto& a : f.acl) {
      out << "      acl " << a.identifier << " " << a.rights << " -> " << (a.dovecot.empty() ? "(none)" : a.dovecot);
      if (!a.unmapped.empty()) out << "  [not carried: " << a.unmapped << "]";
      out << '\n';
    }
  for (const auto& fd : f.findings)
    out << "      " << to_string(fd.severity) << ": " << fd.kind << ": " << fd.file << ": " << fd.detail << '\n';
  if (!fm.warnings.empty()) {
    out << "      written with warnings:";
    for (const auto& [kind, n] : fm.warnings) out << " " << kind << " x" << n;
    out << '\n';
  }
  // The messages not written unchanged, one line each (a second pass over the entries).
  if (fm.changed)
    for_each_message(r.message_log.get(), f.spilled, f.messages, [&](const AuditMessage& m) {
      if (m.action == MessageAction::write) return;
      out << "      uid " << m.uid << ": " << to_string(m.action);
      if (!m.reason.empty()) out << " (" << m.reason << ")";
      for (const auto& c2 : m.changes) out << "; " << c2;
      out << '\n';
    });
  if (!fm.error.empty()) out << "      ERROR: report entries lost: " << fm.error << '\n';
}

// A user's ACL entries once, with the number of folders each is on (quiet listing).
void write_user_acls(const ConvertUser& u, std::ostream& out) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, std::size_t> acls;
  for (const auto& f : u.folders)
    for (const auto& a : f.acl) ++acls[{a.identifier, a.rights, a.dovecot, a.unmapped}];
  for (const auto& [a, n] : acls) {
    const auto& [identifier, rights, dovecot, unmapped] = a;
    out << "  acl " << identifier << " " << rights << " -> " << (dovecot.empty() ? "(none)" : dovecot);
    if (!unmapped.empty()) out << "  [not carried: " << unmapped << "]";
    out << "  (" << n << (n == 1 ? " folder" : " folders") << ")\n";
  }
}

}  // namespace

void add_users_and_totals(ConvertReport& report, std::map<std::string, ConvertUser> by_user) {
  for (auto& [owner, cu] : by_user) {
    std::sort(cu.folders.begin(), cu.folders.end(),
              [](const ConvertFolder& a, const ConvertFolder& b) { return a.name_raw < b.name_raw; });
    report.users.push_back(std::move(cu));
  }
  auto count = [&](const std::vector<Finding>& fs) {
    for (const auto& f : fs) {
      if (f.severity == Finding::Severity::error) ++report.errors;
      if (f.severity == Finding::Severity::warning) ++report.warnings;
    }
  };
  count(report.findings);
  for (const auto& u : report.users) {
    count(u.findings);
    for (const auto& f : u.folders) {
      ++report.folders;
      count(f.findings);
      for_each_message(report.message_log.get(), f.spilled, f.messages,
                       [&](const AuditMessage& m) { count(m.findings); });
      report.totals += f.count;
      report.skipped_deleted += f.skipped_deleted;
      report.bytes_written += f.bytes_written;
    }
  }
}

void write_convert_text(const ConvertReport& r, std::ostream& out, bool verbose) {
  out << "cyrconv convert: " << r.format << " into " << r.out << " (profile " << r.profile << ", on corrupt "
      << r.on_corrupt << ")\n";
  for (const auto& in : r.inputs) out << "  input: " << in << '\n';
  for (const auto& f : r.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
  for (const auto& u : r.users) {
    out << '\n' << (u.user.empty() ? std::string("shared and deleted folders") : "user " + u.user) << " -> "
        << u.output << '\n';
    for (const auto& f : u.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
    write_extras_text(u.extras, out);
    if (!verbose) write_user_acls(u, out);
    std::uint64_t quiet_folders = 0, quiet_messages = 0, quiet_bytes = 0;
    std::map<std::string, std::uint64_t> quiet_warnings;
    for (const auto& f : u.folders) {
      // Messages written unchanged but with notes, by kind; and whether any was not.
      FolderMessages fm;
      fm.error = for_each_message(r.message_log.get(), f.spilled, f.messages, [&](const AuditMessage& m) {
        if (m.action != MessageAction::write) fm.changed = true;
        else
          for (const auto& fd : m.findings) ++fm.warnings[fd.kind];
      });
      if (verbose || notable(f, fm)) {
        write_folder_text(r, f, fm, verbose, out);
        continue;
      }
      ++quiet_folders;
      quiet_messages += f.count.messages + f.count.orphans;
      quiet_bytes += f.bytes_written;
      for (const auto& [kind, n] : fm.warnings) quiet_warnings[kind] += n;
    }
    if (quiet_folders) {
      out << "  " << quiet_folders << (quiet_folders == 1 ? " more folder" : " more folders")
          << " converted in full, nothing to note: " << quiet_messages << " messages, " << quiet_bytes
          << " bytes written (--verbose lists them)\n";
      if (!quiet_warnings.empty()) {
        out << "      written with warnings:";
        for (const auto& [kind, n] : quiet_warnings) out << " " << kind << " x" << n;
        out << '\n';
      }
    }
  }
  const auto& t = r.totals;
  out << "\ntotals: " << r.folders << " folders, " << t.messages << " messages: written " << t.written
      << ", repaired " << t.repaired << ", quarantined " << t.quarantined << ", missing " << t.missing
      << ", not converted " << t.not_converted << ", earlier run " << t.earlier
      << (t.earlier_quarantined ? " (quarantined then " + std::to_string(t.earlier_quarantined) + ")" : std::string())
      << ", skipped \\Deleted " << r.skipped_deleted << "; orphan files "
      << t.orphans << " (recovered " << t.orphans_recovered << ")\n";
  out << "  " << files_line(t) << '\n';
  out << "  " << r.bytes_written << " bytes written in " << std::fixed << std::setprecision(2) << r.seconds
      << " s; errors: " << r.errors << ", warnings: " << r.warnings << '\n';
  if (r.stopped) out << "STOPPED: " << r.stop_reason << '\n';
}

void write_dry_run_text(const ConvertReport& r, std::ostream& out) {
  out << "cyrconv convert --dry-run: " << r.format << " into " << r.out << " (profile " << r.profile
      << "): nothing was written\n";
  for (const auto& in : r.inputs) out << "  input: " << in << '\n';
  for (const auto& f : r.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
  std::uint64_t users = 0, folders = 0, messages = 0, bytes = 0, renames = 0, incremental = 0;
  for (const auto& u : r.users) {
    out << '\n' << (u.user.empty() ? std::string("shared and deleted folders") : "user " + u.user) << " -> "
        << u.output << '\n';
    users += !u.user.empty();
    for (const auto& f : u.findings) out << "  " << to_string(f.severity) << ": " << f.kind << ": " << f.detail << '\n';
    for (const auto& f : u.folders) {
      out << "  " << f.name;
      if (!f.target.empty() && f.target != f.name) out << " -> " << f.target;
      out << "  [" << (f.action.empty() ? "not converted" : f.action) << "]  ";
      if (f.action == "recover_orphans")
        out << f.count.orphans << " orphan files";
      else
        out << f.count.messages << " msgs, " << f.planned_bytes << " bytes";
      if (f.run == "incremental") out << "  (converted before: only new messages would be added)";
      out << '\n';
      if (f.renamed) out << "      renamed: " << f.rename_reason << '\n';
      for (const auto& fd : f.findings)
        if (fd.severity != Finding::Severity::info)
          out << "      " << to_string(fd.severity) << ": " << fd.kind << ": " << fd.detail << '\n';
      if (f.action == "deleted") continue;
      ++folders;
      messages += f.count.messages;
      bytes += f.planned_bytes;
      renames += f.renamed;
      incremental += f.run == "incremental";
    }
  }
  out << "\nwould write: " << users << " users, " << folders << " folders, " << messages << " messages, " << bytes
      << " bytes; " << renames << " folders renamed";
  if (incremental) out << "; " << incremental << " folders converted before (only their new messages)";
  out << '\n';
  if (r.space_needed || r.space_free)
    out << "space: needs about " << r.space_needed << " bytes, " << r.space_free << " free"
        << (r.space_needed > r.space_free ? ": NOT ENOUGH" : "") << '\n';
  out << "errors: " << r.errors << ", warnings: " << r.warnings << '\n';
}

void write_convert_report_json(const ConvertReport& r, std::ostream& out, const ordered_json* trailer) {
  PrettyJsonStream js(out);
  js.begin_object();
  ordered_json head;
  head["schema"] = "cyrconv-convert";
  head["schema_version"] = 1;
  head["tool_version"] = r.tool_version;
  head["inputs"] = r.inputs;
  head["out"] = r.out;
  head["format"] = r.format;
  head["profile"] = r.profile;
  head["on_corrupt"] = r.on_corrupt;
  head["findings"] = findings_json(r.findings);
  js.members(head);
  std::string unread;  // a read failure of the spilled entries, reported instead of hidden
  js.key("users");
  js.begin_array();
  for (const auto& u : r.users) {
    js.begin_object();
    ordered_json ju;
    ju["user"] = u.user;
    ju["output"] = u.output;
    ju["findings"] = findings_json(u.findings);
    ju["extras"] = extras_json(u.extras);
    js.members(ju);
    js.key("folders");
    js.begin_array();
    for (const auto& f : u.folders) {
      ordered_json jf;
      add_name_json(jf, f.name, f.name_raw);
      jf["target"] = f.target;
      jf["output"] = f.output;
      jf["action"] = f.action;
      jf["renamed"] = f.renamed;
      if (f.renamed) jf["rename_reason"] = f.rename_reason;
      jf["uidvalidity"] = f.uidvalidity;
      jf["uidnext"] = f.uidnext;
      jf["count"] = accounting_json(f.count, f.skipped_deleted);
      jf["run"] = f.run;
      jf["flags_updated"] = f.flags_updated;
      jf["flags_not_applied"] = f.flags_not_applied;
      jf["kept_not_in_source"] = f.kept_not_in_source;
      jf["bytes_written"] = f.bytes_written;
      if (f.ranges > 1) jf["ranges"] = f.ranges;
      if (f.plan_split) {
        jf["plan_ranges"] = f.plan_ranges;
        jf["parts"] = f.parts;
      }
      jf["failed"] = f.failed;
      if (f.failed) jf["fail_reason"] = f.fail_reason;
      jf["special_use"] = f.special_use;
      if (!f.special_use.empty()) jf["special_use_source"] = f.special_use_source;
      ordered_json acl = ordered_json::array();
      for (const auto& a : f.acl) {
        ordered_json ja;
        ja["identifier"] = a.identifier;
        ja["rights"] = a.rights;
        ja["dovecot"] = a.dovecot;
        ja["unmapped"] = a.unmapped;
        acl.push_back(std::move(ja));
      }
      jf["acl"] = std::move(acl);
      jf["acl_file"] = f.acl_file;
      jf["findings"] = findings_json(f.findings);
      write_folder_with_entries(js, jf, r.message_log.get(), f.spilled, f.messages, message_json, unread);
    }
    js.end();
    js.end();
  }
  js.end();
  ordered_json tail;
  tail["totals"] = accounting_json(r.totals, r.skipped_deleted);
  tail["totals"]["folders"] = r.folders;
  tail["totals"]["bytes_written"] = r.bytes_written;
  tail["totals"]["errors"] = r.errors;
  tail["totals"]["warnings"] = r.warnings;
  tail["stopped"] = r.stopped;
  if (r.dry_run) tail["dry_run"] = true;
  if (r.stopped) tail["stop_reason"] = r.stop_reason;
  tail["seconds"] = r.seconds;
  if (!unread.empty()) tail["report_incomplete"] = unread;
  js.members(tail);
  if (trailer) js.members(*trailer);
  js.end();
  js.finish();
}

std::string convert_report_json(const ConvertReport& r) {
  std::ostringstream out;
  write_convert_report_json(r, out);
  return std::move(out).str();
}

}  // namespace cyrconv
