// `cyrconv convert`, as its passes in order (each a function; the state they pass on is
// ConvertRun, converter/convert/convert_run.h).
#include "converter/convert/convert.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include "converter/convert/convert_run.h"
#include "converter/convert/dav_export.h"
#include "converter/convert/folder_conversion.h"
#include "converter/source/io_fanout.h"
#include "converter/source/mailbox_error.h"
#include "converter/zimbra/convert_zimbra.h"
#include "writers/message_log.h"

namespace cyrconv {

namespace fs = std::filesystem;

ConvertReport new_convert_report(const SourceInputs& inputs, const ConvertOptions& opt) {
  ConvertReport report;
  report.out = opt.out.string();
  report.format = opt.format == OutputFormat::maildir ? "maildir" : opt.format == OutputFormat::mbox ? "mbox" : "zimbra-tgz";
  report.profile = to_string(opt.profile);
  report.on_corrupt = to_string(opt.on_corrupt);
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());
  return report;
}

const std::vector<PlanFolderRange>* ConvertRun::plan_ranges_of(const FolderJob& job) const {
  if (!job.mailbox || job.orphans_of) return nullptr;
  const auto split = opt.plan_ranges.find({users[job.user].owner, job.mailbox->name.internal()});
  return split == opt.plan_ranges.end() ? nullptr : &split->second;
}

namespace {

ConvertReport refused(ConvertReport& report) {
  report.fatal = true;
  report.errors = report.findings.size();
  return std::move(report);
}

// Users and folder jobs of the plan, largest folders first. A guest of a shard gets only its
// folders with ranges of its own in the plan.
void plan_jobs(ConvertRun& r) {
  for (auto& ru : take_run_users(r.prep, r.opt.out)) {
    UserPlan u;
    static_cast<RunUser&>(u) = std::move(ru);
    r.users.push_back(std::move(u));
  }
  std::vector<const NamingOutcome*> naming;
  for (const auto& u : r.users) naming.push_back(&u.naming);
  auto guest = [&](std::size_t u) { return r.guest(u); };
  auto guest_converts = [&](std::size_t u, std::size_t i) {
    const auto split = r.opt.plan_ranges.find({r.users[u].owner, r.prep.selected[i]->name.internal()});
    return split != r.opt.plan_ranges.end() &&
           std::any_of(split->second.begin(), split->second.end(), [](const PlanFolderRange& p) { return p.mine; });
  };
  r.jobs = plan_folder_jobs(r.prep, naming, guest, guest_converts);
  r.order.resize(r.jobs.size());
  for (std::size_t i = 0; i < r.order.size(); ++i) r.order[i] = i;
  std::stable_sort(r.order.begin(), r.order.end(),
                   [&](std::size_t a, std::size_t b) { return r.jobs[a].bytes > r.jobs[b].bytes; });
}

// Each user's output root, with the options its bytes depend on (journal/options).
void open_user_roots(ConvertRun& r) {
  for (std::size_t u = 0; u < r.users.size(); ++u) {
    if (r.user_refused[u] || r.guest(u)) continue;
    RunUser& user = r.users[u];
    std::string error;
    WriteStatus st = make_directories(user.root);
    if (st && !read_journal_options(user.root, error))
      st = write_journal_options(user.root, r.journal_options, r.opt.sync != SyncPolicy::none);
    if (!st) user.findings.push_back(make_finding(Finding::Severity::error, "output_failed", user.root.string(), 0, st.message));
  }
}

// A job the stop came before: counted, and left for the re-run that resumes.
void mark_not_started(ConvertRun& r, FolderJob& job) {
  job.out.run = "not_started";
  job.out.count.messages = job.orphans_of ? 0 : r.prep.inv[job.inventory].live_count;
  if (const auto* split = r.plan_ranges_of(job)) {
    // A plan-split folder: only this shard's ranges (report merge then names the shards to run).
    job.out.plan_split = true;
    job.out.count.messages = 0;
    for (std::size_t k = 0; k < split->size(); ++k)
      if ((*split)[k].mine) {
        job.out.plan_ranges.push_back(k);
        job.out.count.messages += (*split)[k].messages;
      }
  }
  job.out.count.not_converted = job.out.count.messages;
  job.out.failed = true;
  job.out.fail_reason = "the run stopped (" + r.control.reason + ") before this folder: re-run to resume";
}

void mark_unnamed(ConvertRun& r, FolderJob& job) {
  std::string why = "no target name was planned for this folder";
  for (const auto& [internal, reason] : r.users[job.user].naming.unnamed)
    if (internal == job.out.name_raw) why = reason;
  job.out.findings.push_back(
      make_finding(Finding::Severity::error, "naming_missing", job.mailbox ? job.mailbox->dir.string() : "", 0, why));
  job.out.count.messages = job.orphans_of ? 0 : r.prep.inv[job.inventory].live_count;
  job.out.count.not_converted = job.out.count.messages;
}

// One job: a mail folder converted, a calendar or address book exported, another collection
// counted as not converted.
void convert_job(ConvertRun& r, FolderJob& job, Workers& workers, Progress& progress) {
  const ConvertOptions& opt = r.opt;
  const UserPlan& user = r.users[job.user];
  const MailboxInventory& mi = r.prep.inv[job.inventory];
  switch (job.name->action) {
    case FolderAction::mail_folder:
      throw_test_point(job.mailbox);
      convert_folder(opt, user, job, mi, r.prep.states.seen_for(*r.prep.selected[job.inventory]),
                     r.prep.plan.orphans[job.inventory], workers, progress, r.control);
      break;
    case FolderAction::export_calendar:
    case FolderAction::export_addressbook:
      export_dav_collection(*job.mailbox, mi, user.root / job.name->export_file, job.out, opt.sync != SyncPolicy::none);
      job.out.output = user.root_rel + "/" + job.name->export_file;
      progress.add(job.bytes, mi.live_count);
      break;
    case FolderAction::skip:
      progress.add(job.bytes, mi.live_count);
      if (job.mailbox && job.mailbox->kind == MailboxKind::sieve) break;  // Sieve scripts: carry_extras
      job.out.count.messages = mi.live_count;
      job.out.count.not_converted = mi.live_count;
      if (mi.live_count)
        job.out.findings.push_back(make_finding(Finding::Severity::warning, "collection_not_converted",
                                                job.mailbox->dir.string(), 0, "DAV collection of a kind that is not exported"));
      break;
  }
}

// What the progress line counts: this shard's ranges of a split folder, every message otherwise.
std::pair<std::uint64_t, std::uint64_t> planned_work(const ConvertRun& r) {
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& job : r.jobs) {
    if (r.user_refused[job.user] || job.orphans_of) continue;
    if (const auto* split = r.plan_ranges_of(job)) {
      for (const auto& range : *split)
        if (range.mine) {
          total_bytes += range.bytes;
          total_messages += range.messages;
        }
    } else {
      total_bytes += job.bytes;
      total_messages += r.prep.inv[job.inventory].live_count;
    }
  }
  return {total_bytes, total_messages};
}

// Every job, largest first, in parallel; the UID ranges of big folders inside.
void convert_jobs(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  const auto t0 = std::chrono::steady_clock::now();
  const auto [total_bytes, total_messages] = planned_work(r);
  Progress progress("convert", total_bytes, total_messages, opt.quiet);
  Workers workers(MessageCheckOptions{opt.mime});
  if (opt.sync == SyncPolicy::folder) r.control.start_syncer(opt.out);
  auto log = std::make_shared<MessageLog>();  // report entries: a store's findings grow with it
  if (auto why = log->open(opt.out); !why.empty())
    r.report.findings.push_back(make_finding(Finding::Severity::warning, "report_in_memory", opt.out.string(), 0,
                                             why + "; the report keeps every message entry in memory instead"));
  else
    r.control.log = log.get();
  r.report.message_log = log;
  std::optional<IoThreads> io;
  if (opt.io_depth > 1) {
    io.emplace(static_cast<std::size_t>(opt.io_depth) * static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()));
    r.control.io = &*io;
  }
  // Largest first, really: each worker takes the next folder of `order` (a parallel_for over
  // `order` itself would start the second worker in the middle of the list). A worker that finds
  // the list empty helps with the UID ranges of split folders still running.
  std::atomic<std::size_t> next_job{0};
  const auto workers_count = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, workers_count, 1),
      [&](const tbb::blocked_range<std::size_t>&) {
        for (std::size_t k; (k = next_job.fetch_add(1, std::memory_order_relaxed)) < r.order.size();) {
          FolderJob& job = r.jobs[r.order[k]];
          if (r.user_refused[job.user]) continue;
          if (r.control.stopped() && job.name && job.name->action == FolderAction::mail_folder) {
            mark_not_started(r, job);
            continue;
          }
          if (!job.name) {
            mark_unnamed(r, job);
            continue;
          }
          try {
            convert_job(r, job, workers, progress);
          } catch (const std::exception&) {
            rethrow_naming_mailbox(job.mailbox ? job.mailbox : job.orphans_of);
          }
        }
      },
      tbb::simple_partitioner());
  r.control.finish_syncer();
  r.control.io = nullptr;  // the I/O threads end here
  r.report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

ConvertReport run_convert(const SourceInputs& inputs, const ConvertOptions& opt) {
  // converter/zimbra/convert_zimbra.cpp; --dry-run plans a Zimbra archive here like the other formats.
  if (opt.format == OutputFormat::zimbra_tgz && !opt.dry_run) return run_convert_zimbra(inputs, opt);
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  ConvertRun r(inputs, opt);
  r.journal_options = JournalOptions{r.report.format, opt.crlf ? "crlf" : "lf", r.report.profile, r.report.on_corrupt,
                                     opt.skip_deleted, opt.gzip};

  // Discover, select the users' folders, read their seen state and subscriptions, inventory,
  // and name every folder per user (the plan verify makes): converter/plan/run_prep.h. The space
  // check needs what each folder takes as Maildir files (whole blocks).
  r.space = probe_output_space(opt.out);
  RunPrepOptions prep{opt.users, &opt.guests, opt.profile, &opt.rename_map, opt.io_depth, r.space.block};
  r.prep = prepare_run(inputs, prep);
  r.report.findings = std::move(r.prep.findings);
  if (r.prep.plan.refused()) return refused(r.report);  // a rename map or names refused: nothing written

  // Plan the jobs: every folder (and the recovery folder of its orphan files), largest first.
  plan_jobs(r);

  // Before writing: users whose earlier output was made with other options are left alone; the
  // earlier output follows the source's changes; the output file system must have the space.
  refuse_changed_options(r);
  follow_source_changes(r);
  const bool space_short = check_disk_space(r);
  if (space_short && !opt.dry_run) return refused(r.report);
  if (opt.dry_run) return dry_run_report(r, space_short);  // what would be written; nothing is

  // Convert: every job, largest first, in parallel; each message file read once.
  open_user_roots(r);
  convert_jobs(r);
  note_stop(r);

  // Finish: per user the files besides folders, then the rename map and the report.
  write_user_files(r);
  write_rename_map(r);
  note_interrupt(r);
  return final_report(r);
}

}  // namespace cyrconv
