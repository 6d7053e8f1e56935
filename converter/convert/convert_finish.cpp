// The finish pass of convert: per user the files besides folders (a Maildir root's uidlist,
// subscriptions, keyword commands, extras, owner), the rename map, then the report.
#include <tbb/parallel_for.h>

#include <algorithm>
#include <map>

#include "converter/cli/interrupt.h"
#include "converter/convert/convert_run.h"
#include "converter/convert/keyword_commands.h"
#include "converter/convert/output_owner.h"
#include "converter/convert/prior_output.h"
#include "converter/plan/output_layout.h"
#include "writers/maildir.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// A folder's files are counted once: a folder a shard plan splits, only in the report of the
// shard that holds its first range (report merge sums the shards' counts).
bool owns_folder_files(const ConvertFolder& f) {
  return !f.plan_split || std::find(f.plan_ranges.begin(), f.plan_ranges.end(), std::size_t{0}) != f.plan_ranges.end();
}

// A Maildir root without an INBOX (the shared tree) still gets a uidlist, or Dovecot would
// invent an INBOX with a UIDVALIDITY of its own.
void write_root_uidlists(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& user_refused = r.user_refused;
  for (std::size_t u = 0; u < users.size(); ++u) {
    bool has_inbox = false;
    std::uint32_t uidvalidity = 0;
    for (const auto& job : jobs) {
      if (job.user != u || !job.name || job.name->action != FolderAction::mail_folder) continue;
      has_inbox = has_inbox || job.name->maildirpp.empty();
      if (job.out.uidvalidity && (!uidvalidity || job.out.uidvalidity < uidvalidity)) uidvalidity = job.out.uidvalidity;
    }
    if (has_inbox || user_refused[u] || r.guest(u)) continue;
    const fs::path root = users[u].root / "Maildir";
    std::error_code ec;
    if (fs::exists(root / "dovecot-uidlist", ec)) continue;  // an earlier run's, or Dovecot's own
    WriteStatus st = prepare_maildir(root, true);
    if (st) st = write_small_file(root / "dovecot-uidlist", dovecot_uidlist(uidvalidity ? uidvalidity : 1, 1, {}),
                                  opt.sync != SyncPolicy::none);
    if (!st) users[u].findings.push_back(make_finding(Finding::Severity::error, "output_failed", root.string(), 0, st.message));
  }
}

// Subscriptions per user, in Dovecot's storage names.
void write_subscriptions(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  auto& users = r.users;
  const auto& user_refused = r.user_refused;
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    UserPlan& u = users[ui];
    if (u.owner.empty() || user_refused[ui] || r.control.stopped() || r.guest(ui)) continue;
    const bool maildir = opt.format == OutputFormat::maildir;
    std::vector<std::string> names;
    for (const auto& sub : u.state->subscriptions) {
      const FolderNameResult* n = nullptr;
      for (const auto& f : u.naming.folders)
        if (f.internal_name == sub.internal()) n = &f;
      if (!n || n->action != FolderAction::mail_folder) continue;
      // Dovecot's subscription files hold storage names: '.'-separated for Maildir++, the
      // file path below the mail root for mbox.
      if (maildir)
        names.push_back(n->maildirpp.empty() ? "INBOX" : n->maildirpp.substr(1));
      else
        names.push_back(n->mbox_path.empty() ? "INBOX" : n->mbox_path);
    }
    const fs::path file = maildir ? u.root / "Maildir" / "subscriptions" : u.root / "mail" / ".subscriptions";
    // A re-run adds to the subscriptions there (an earlier run's, or the user's since): never drops one.
    std::string error;
    auto earlier = read_output_text(file, error);
    if (earlier && earlier->rfind("V\t", 0) == 0) continue;  // Dovecot rewrote it in its own format: the user's now
    if (earlier) {
      std::size_t pos = 0;
      while (pos < earlier->size()) {
        std::size_t eol = earlier->find('\n', pos);
        if (eol == std::string::npos) eol = earlier->size();
        if (eol > pos) names.push_back(earlier->substr(pos, eol - pos));
        pos = eol + 1;
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (auto st = make_directories(file.parent_path()); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
    if (auto st = write_small_file(file, maildir_subscriptions(names), opt.sync != SyncPolicy::none); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
  }
}

// Keywords beyond a folder's 26 Maildir letters: doveadm commands that put them into Dovecot's
// index (converter/convert/keyword_commands.h). Shared folders live in another Dovecot namespace: not here.
void write_keyword_commands(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& user_refused = r.user_refused;
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    UserPlan& u = users[ui];
    if (u.owner.empty() || user_refused[ui] || r.guest(ui)) continue;
    std::vector<KeywordFolder> folders;
    for (const auto& job : jobs) {
      if (job.user != ui || !job.name || job.name->action != FolderAction::mail_folder || job.out.output.empty())
        continue;
      FolderNameResult target;
      target.path = job.out.target;
      folders.push_back({job.out.target.empty() ? std::string("INBOX") : job.out.target, opt.out / job.out.output,
                         folder_manifest_path(u.root, side_file_name(target))});
    }
    std::uint64_t extra = 0;
    for (auto& e : write_apply_keywords(u.root, u.owner, folders, opt.sync != SyncPolicy::none, extra))
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, e));
    if (extra)
      u.findings.push_back(make_finding(Finding::Severity::info, keywords_need_doveadm_kind,
                                        (u.root / "apply-keywords.sh").string(), 0, keywords_need_doveadm_detail(extra)));
  }
}

}  // namespace

// An interrupt stops the run after the conversion pass, or skips what is left of the finish.
void note_interrupt(ConvertRun& r) {
  ConvertReport& report = r.report;
  RunControl& run = r.control;
  if (!run.stopped() || !run.interrupted || report.interrupted_by) return;
  report.stopped = true;
  report.interrupted_by = interrupt_signal();
  report.stop_reason = "interrupted by a signal: what was committed stays; run the same command again to resume";
  report.findings.push_back(make_finding(Finding::Severity::warning, "interrupted", r.opt.out.string(), 0, report.stop_reason));
}

void note_stop(ConvertRun& r) {
  ConvertReport& report = r.report;
  RunControl& run = r.control;
  if (run.stopped() && run.interrupted) {
    note_interrupt(r);
  } else if (run.stopped()) {
    report.stopped = true;
    report.stop_reason = "the output file system is full (" + run.reason +
                         "): what was committed stays; free space and run the same command again to resume";
    report.findings.push_back(make_finding(Finding::Severity::error, "disk_full", r.opt.out.string(), 0, report.stop_reason));
  }
}

// Not after a stop (the full disk would refuse it, the resuming run does it), but --owner.
void write_user_files(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& user_refused = r.user_refused;
  if (opt.format == OutputFormat::maildir && !r.control.stopped()) write_root_uidlists(r);
  write_subscriptions(r);
  if (opt.format == OutputFormat::maildir && !r.control.stopped()) write_keyword_commands(r);
  // Besides messages: special-use, Sieve scripts, ACLs, quota (README "What is carried").
  for (std::size_t u = 0; u < users.size(); ++u) {
    if (user_refused[u] || r.control.stopped() || r.guest(u)) continue;
    ExtrasUser eu{users[u].owner, users[u].root, users[u].root_rel, {}, &users[u].findings, &users[u].extras};
    for (auto& job : jobs)
      if (job.user == u && job.mailbox) eu.folders.push_back({job.mailbox, job.name, &r.prep.inv[job.inventory], &job.out});
    carry_extras({opt.format == OutputFormat::maildir, opt.sync != SyncPolicy::none, r.inputs.config_dir, r.prep.disc.caret}, eu);
  }
  // --owner: each user's finished tree gets its owner in one walk (converter/convert/output_owner.h).
  if (opt.owner.enabled())
    tbb::parallel_for(std::size_t{0}, users.size(), [&](std::size_t u) {
      if (!user_refused[u] && !r.guest(u)) apply_output_owner(opt.owner, users[u].owner, users[u].root, users[u].findings);
    });
}

// Every rename, for the administrator and for --rename-map on the next run.
void write_rename_map(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  if (r.control.stopped()) return;
  std::string map = format_rename_map_header();
  for (std::size_t u = 0; u < r.users.size(); ++u)
    if (!r.guest(u)) map += format_rename_map_lines(r.users[u].owner, opt.profile, r.users[u].naming);
  if (auto st = write_small_file(opt.out / opt.rename_map_file, map, opt.sync != SyncPolicy::none); !st)
    r.report.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
}

ConvertReport dry_run_report(ConvertRun& r, bool space_short) {
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& inv = r.prep.inv;
  const auto& orphans = r.prep.plan.orphans;
  ConvertReport& report = r.report;
  std::map<std::string, ConvertUser> by_user;
  for (auto& job : jobs) {
    ConvertFolder& f = job.out;
    const MailboxInventory& mi = inv[job.inventory];
    f.count.messages = job.orphans_of ? 0 : mi.live_count;
    if (job.orphans_of) f.count.orphans = orphans[job.inventory].size();
    f.planned_bytes = job.orphans_of ? 0 : job.bytes;
    std::string error;
    if (job.name && read_folder_done(users[job.user].root, side_file_name(*job.name), error)) f.run = "incremental";
    ConvertUser& cu = by_user[users[job.user].owner];
    cu.user = users[job.user].owner;
    cu.output = users[job.user].root_rel;
    cu.folders.push_back(std::move(f));
  }
  for (std::size_t u = 0; u < users.size(); ++u) {
    ConvertUser& cu = by_user[users[u].owner];
    cu.user = users[u].owner;
    cu.output = users[u].root_rel;
    cu.findings = std::move(users[u].findings);
  }
  if (!r.prep.not_converted.empty())
    for (auto& f : r.prep.not_converted) by_user[""].folders.push_back(std::move(f));
  add_users_and_totals(report, std::move(by_user));
  report.dry_run = true;
  report.fatal = space_short;
  return std::move(report);
}

ConvertReport final_report(ConvertRun& r) {
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& inv = r.prep.inv;
  ConvertReport& report = r.report;
  std::map<std::string, ConvertUser> by_user;
  for (auto& job : jobs) {
    if (job.mailbox && !job.orphans_of && owns_folder_files(job.out)) count_folder_files(job.out.count, inv[job.inventory]);
    ConvertUser& cu = by_user[users[job.user].owner];
    cu.user = users[job.user].owner;
    cu.output = users[job.user].root_rel;
    cu.folders.push_back(std::move(job.out));
  }
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    auto& u = users[ui];
    ConvertUser& cu = by_user[u.owner];
    cu.user = u.owner;
    cu.output = u.root_rel;
    if (r.guest(ui)) continue;  // its owner shard reports the user; this one only the ranges
    cu.findings = std::move(u.findings);
    cu.extras = std::move(u.extras);
    for (const auto& f : u.state->findings) cu.findings.push_back(f);
  }
  if (!r.prep.not_converted.empty()) {
    ConvertUser& cu = by_user[""];
    for (auto& f : r.prep.not_converted) cu.folders.push_back(std::move(f));
  }
  add_users_and_totals(report, std::move(by_user));
  return std::move(report);
}

}  // namespace cyrconv
