// `cyrconv verify`, the passes in order: the source as convert planned it (discover, inventory,
// names), the output format, one job per folder, the folders checked in parallel (largest
// first; verify_maildir.cpp, verify_mbox.cpp), verify's own census of the source, and the
// report assembled per user.
#include "converter/verify/verify.h"

#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <set>

#include "converter/plan/display_name.h"
#include "converter/source/live_records.h"
#include "converter/cli/progress.h"
#include "converter/follow/follow_source.h"
#include "converter/plan/output_layout.h"
#include "converter/plan/run_prep.h"
#include "converter/source/mailbox_error.h"
#include "converter/verify/verify_folder.h"
#include "converter/source/live_records.h"

namespace cyrconv {

namespace {

using namespace verify;

// The source as convert prepared it (converter/plan/run_prep.h): discovery, the users' folders,
// their states and inventories (mail folders keep only their summary until they are verified),
// and the names.
using SourceSide = RunPreparation;

VerifyReport fatal(VerifyReport& report, const VerifyOptions& opt, std::string kind, std::string detail) {
  report.findings.push_back(Finding{Finding::Severity::error, std::move(kind), opt.out.string(), 0, 0, std::move(detail)});
  report.fatal = true;
  report.errors = report.findings.size();
  return report;
}

VerifyReport start_report(const SourceInputs& inputs, const VerifyOptions& opt) {
  VerifyReport report;
  report.out = opt.out.string();
  report.profile = to_string(opt.profile);
  report.eol = opt.crlf ? "crlf" : "lf";
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());
  return report;
}

// Output format: given, or whichever tree the users' output roots hold. Empty: `why` says.
std::optional<OutputFormat> output_format(const VerifyOptions& opt, const NamePlan& plan, std::string& kind,
                                          std::string& why) {
  if (opt.format) return *opt.format;
  bool maildir = false, mbox = false;
  std::error_code ec;
  for (const auto& u : plan.users) {
    maildir = maildir || fs::is_directory(opt.out / u.root_rel / "Maildir", ec);
    mbox = mbox || fs::is_directory(opt.out / u.root_rel / "mail", ec);
  }
  if (maildir && mbox) {
    kind = "format_ambiguous";
    why = "both Maildir/ and mail/ trees are there: give --format";
    return std::nullopt;
  }
  if (!maildir && !mbox) {
    kind = "output_not_found";
    why = "no user has a Maildir/ or mail/ tree under " + opt.out.string();
    return std::nullopt;
  }
  return mbox ? OutputFormat::mbox : OutputFormat::maildir;
}

// One job per mail folder (and one per recovery folder of orphan files); what is not a mail
// folder, or has no planned name, is a finding of its user.
std::vector<Job> make_jobs(const SourceSide& s, const NamePlan& plan, const VerifyOptions& opt,
                           std::vector<std::vector<Finding>>& user_findings) {
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < s.selected.size(); ++i) {
    const std::size_t u = plan.user_of[i];
    const std::string internal = s.selected[i]->name.internal();
    bool valid = true;
    const std::string display = display_folder_name(s.selected[i]->name, valid, s.disc.caret);
    auto add_job = [&](const FolderNameResult* name, bool recovery) {
      Job job;
      job.folder = i;
      job.recovery = recovery;
      job.name = name;
      job.bytes = recovery ? 0 : s.inv[i].bytes;
      job.out.name = display;
      job.out.name_raw = internal;
      job.out.recovery = recovery;
      job.out.target = name ? name->path : "";
      job.out.uidvalidity = s.inv[i].header.uidvalidity;
      job.out.uidnext = recovery ? static_cast<std::uint32_t>(plan.orphans[i].size() + 1) : s.inv[i].header.last_uid + 1;
      jobs.push_back(std::move(job));
    };
    const FolderNameResult* name = plan.name_of(u, internal);
    if (!name) {
      user_findings[u].push_back(error("naming_missing", s.selected[i]->dir, 0, internal + ": no target name planned"));
      continue;
    }
    if (name->action != FolderAction::mail_folder) {
      if (s.inv[i].live_count)
        user_findings[u].push_back(info("not_verified", s.selected[i]->dir, 0,
                                        display + ": " + to_string(name->action) + " is not verified (not a mail folder)"));
      continue;
    }
    add_job(name, false);
    if (!plan.orphans[i].empty()) add_job(plan.recovery_name_of(u, internal), true);
  }
  for (std::size_t u = 0; u < plan.users.size(); ++u) {
    std::error_code ec;
    if (!fs::is_directory(opt.out / plan.users[u].root_rel / "manifests", ec))
      user_findings[u].push_back(error("user_output_missing", opt.out / plan.users[u].root_rel, 0,
                                       "no manifests/ for this user: was it converted into this --out?"));
  }
  return jobs;
}

// Where convert put the folder: its planned target, or the UIDVALIDITY sibling when the journal
// there records another UIDVALIDITY (README "Re-runs").
void find_target(Job& job, const fs::path& user_root) {
  std::string jerr;
  job.done = read_folder_done(user_root, side_file_name(*job.name), jerr);
  if (job.done && job.done->uidvalidity != job.out.uidvalidity) {
    job.sibling = uidvalidity_sibling(*job.name, job.out.uidvalidity);
    job.name = &job.sibling;
    job.done = read_folder_done(user_root, side_file_name(*job.name), jerr);
    job.out.findings.push_back(info("uidvalidity_changed", user_root / "journal", 0,
                                    "verified in the sibling folder " + job.sibling.path));
  }
}

struct RunShared {
  const VerifyOptions& opt;
  const SourceSide& source;
  const NamePlan& plan;
  OutputFormat format;
  IoThreads* io;
};

// One folder: its records read again, then the format's checks.
void verify_job(const RunShared& r, Job& job, Worker& w) {
  if (!job.name) {
    job.out.findings.push_back(error("naming_missing", "", 0, "no recovery folder name planned"));
    return;
  }
  const std::size_t i = job.folder;
  const MailboxRef& mb = *r.source.selected[i];
  const PlannedUser& user = r.plan.users[r.plan.user_of[i]];
  // The records are read again as they are checked, a window at a time; held whole only for a
  // damaged index out of UID order (the checks go in UID order).
  const SeenState seen = r.source.states.seen_for(mb);
  const MailboxInventory& planned = r.source.inv[i];
  MailboxInventory unordered;
  const MailboxInventory* folder_inv = &planned;
  if (planned.live.size() != planned.live_count) {
    std::string why;
    if (planned.uid_ascending) {
      why = LiveRecordReader(mb, seen, planned).error();
    } else {
      unordered = planned;
      LiveRecords again = reload_live_records(mb, seen, planned);
      why = again.error;
      unordered.live = std::move(again.live);
      folder_inv = &unordered;
    }
    if (!why.empty()) {
      job.out.findings.push_back(error("source_changed", mb.dir, 0, why + ": not verified"));
      return;
    }
  }
  FolderContext c{r.opt, mb, *folder_inv, user, r.plan.orphans[i], r.opt.out / user.root_rel, job, w, r.io, r.opt.io_depth};
  c.seen = &seen;
  find_target(job, c.user_root);
  try {
    prepare_source(c);
    if (r.format == OutputFormat::maildir)
      verify_maildir_folder(c);
    else
      verify_mbox_folder(c);
    finish_findings(c);
  } catch (const std::exception&) {
    rethrow_naming_mailbox(&mb);
  }
}

// Largest folders first, in parallel; each output and source file read once.
void verify_jobs(const RunShared& r, std::vector<Job>& jobs) {
  std::vector<std::size_t> order(jobs.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return jobs[a].bytes > jobs[b].bytes; });
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& job : jobs) {
    total_bytes += job.bytes;
    if (!job.recovery) total_messages += r.source.inv[job.folder].live_count;
  }
  Progress progress("verify", total_bytes, total_messages, r.opt.quiet);
  tbb::enumerable_thread_specific<Worker> workers;
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, order.size(), 1),
      [&](const tbb::blocked_range<std::size_t>& range) {
        for (std::size_t k = range.begin(); k != range.end(); ++k) {
          Job& job = jobs[order[k]];
          verify_job(r, job, workers.local());
          progress.add(job.bytes, job.recovery ? 0 : job.out.count.messages);
        }
      },
      tbb::simple_partitioner());
}

void add_counts(VerifyCounts& t, const VerifyCounts& c) {
  t.messages += c.messages;
  t.verified += c.verified;
  t.quarantined += c.quarantined;
  t.listed_missing += c.listed_missing;
  t.skipped_deleted += c.skipped_deleted;
  t.not_converted += c.not_converted;
  t.mismatched += c.mismatched;
  t.lost += c.lost;
  t.extra += c.extra;
}

// verify's own walk of the source, each file matched with what the checks above accounted for.
VerifyCensus census_of_run(const SourceInputs& inputs, const SourceSide& s, std::vector<Job>& jobs,
                           std::vector<Finding>& findings) {
  CensusAccounts a;
  for (auto& job : jobs) {
    const MailboxRef& mb = *s.selected[job.folder];
    for (const auto& m : job.marks) a.mark(m.archived ? mb.archive_dir : mb.dir, m.uid, m.mark);
    job.marks = {};
  }
  std::set<const MailboxRef*> chosen(s.selected.begin(), s.selected.end());
  for (std::size_t i = 0; i < s.selected.size(); ++i) {
    const MailboxRef& mb = *s.selected[i];
    for (std::uint32_t uid : s.inv[i].expunged_files) a.mark(mb.dir, uid, CensusMark::expunged);
    if (mb.kind != MailboxKind::email) {
      a.not_verified_dirs.insert(mb.dir.string());
      if (!mb.archive_dir.empty()) a.not_verified_dirs.insert(mb.archive_dir.string());
    }
  }
  for (const auto& mb : s.disc.mailboxes) {
    if (!mb.on_disk || chosen.count(&mb)) continue;
    a.left_out_dirs.emplace(mb.dir.string(), mb.name.internal());
    if (!mb.archive_dir.empty()) a.left_out_dirs.emplace(mb.archive_dir.string(), mb.name.internal());
  }
  return account_census(take_census(inputs), std::move(a), findings);
}

// Per user: what --follow-source moved out of view is accounted for in the holding area
// (converter/follow/follow_source.h).
void add_holding_findings(const VerifyOptions& opt, VerifyUser& user) {
  const HoldingCensus held = census_holding_area(opt.out / user.output);
  for (const auto& m : held.missing) user.findings.push_back(error("holding_message_missing", opt.out / user.output, 0, m));
  if (held.messages)
    user.findings.push_back(info("held_by_follow_source", opt.out / user.output / holding_dir_name, 0,
                                 std::to_string(held.present) + " of " + std::to_string(held.messages) +
                                     " message(s) moved out of view by --follow-source are in the holding area"));
}

void tally(VerifyReport& report, const std::vector<Finding>& fs) {
  for (const auto& f : fs) {
    if (f.severity == Finding::Severity::error) ++report.errors;
    if (f.severity == Finding::Severity::warning) ++report.warnings;
    if (f.severity == Finding::Severity::info) ++report.infos;
  }
}

// Assemble per user in plan order; folders by Cyrus name; totals.
void assemble(VerifyReport& report, const VerifyOptions& opt, const NamePlan& plan, std::vector<Job>& jobs,
              std::vector<std::vector<Finding>>& user_findings) {
  std::vector<VerifyUser> users(plan.users.size());
  for (std::size_t u = 0; u < plan.users.size(); ++u) {
    users[u].user = plan.users[u].owner;
    users[u].output = plan.users[u].root_rel;
    users[u].findings = std::move(user_findings[u]);
    add_holding_findings(opt, users[u]);
  }
  for (auto& job : jobs) {
    std::stable_sort(job.out.findings.begin(), job.out.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.uid < b.uid; });
    users[plan.user_of[job.folder]].folders.push_back(std::move(job.out));
  }
  std::sort(users.begin(), users.end(), [](const VerifyUser& a, const VerifyUser& b) { return a.user < b.user; });
  tally(report, report.findings);
  for (auto& u : users) {
    std::stable_sort(u.folders.begin(), u.folders.end(), [](const VerifyFolder& a, const VerifyFolder& b) {
      return a.name_raw != b.name_raw ? a.name_raw < b.name_raw : !a.recovery;
    });
    tally(report, u.findings);
    for (const auto& f : u.folders) {
      ++report.folders;
      tally(report, f.findings);
      add_counts(report.totals, f.count);
      report.bytes_read += f.bytes_read;
    }
    report.users.push_back(std::move(u));
  }
}

}  // namespace

VerifyReport run_verify(const SourceInputs& inputs, const VerifyOptions& opt) {
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  VerifyReport report = start_report(inputs, opt);

  // Source side, as convert planned it: discover, inventory, names.
  const SourceSide source = prepare_run(inputs, RunPrepOptions{.users = opt.users,
                                                                .profile = opt.profile,
                                                                .rename_map = &opt.rename_map,
                                                                .io_depth = opt.io_depth});
  if (source.selected.empty()) return fatal(report, opt, "no_source_folders", "no folder to verify was found in the source");
  const NamePlan& plan = source.plan;
  for (const auto& e : plan.rename_map_errors) report.findings.push_back(error("rename_map_refused", "", 0, e));
  for (const auto& e : plan.naming_errors) report.findings.push_back(error("naming_refused", "", 0, e));
  if (plan.refused()) return fatal(report, opt, "naming_refused", "target names cannot be recomputed; nothing verified");

  std::string kind, why;
  const std::optional<OutputFormat> format = output_format(opt, plan, kind, why);
  if (!format) return fatal(report, opt, kind, why);
  report.format = *format == OutputFormat::mbox ? "mbox" : "maildir";

  std::vector<std::vector<Finding>> user_findings(plan.users.size());
  std::vector<Job> jobs = make_jobs(source, plan, opt, user_findings);

  const auto t0 = std::chrono::steady_clock::now();
  std::optional<IoThreads> io;
  if (opt.io_depth > 1) io.emplace(io_width(opt.io_depth));
  verify_jobs(RunShared{opt, source, plan, *format, io ? &*io : nullptr}, jobs);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.census = census_of_run(inputs, source, jobs, report.findings);

  assemble(report, opt, plan, jobs, user_findings);
  return report;
}

}  // namespace cyrconv
