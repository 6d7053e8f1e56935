#include "converter/zimbra/convert_zimbra.h"

#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <tuple>

#include "converter/convert/journal.h"
#include "converter/convert/prior_output.h"
#include "converter/plan/output_layout.h"
#include "converter/source/inventory.h"
#include "converter/source/live_records.h"
#include "converter/zimbra/zimbra_folder_flags.h"
#include "converter/zimbra/zimbra_limits.h"
#include "converter/zimbra/zimbra_part_tasks.h"
#include "converter/zimbra/zimbra_user_run.h"
#include "parsers/hex.h"
#include "parsers/sha1.h"
#include "writers/maildir.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

std::function<void(const std::string&, ZimbraUserStage)>& stage_hook() {
  static std::function<void(const std::string&, ZimbraUserStage)> hook;
  return hook;
}

// What the passes of one zimbra-tgz run share.
struct ZimbraConvert {
  const ConvertOptions& opt;
  RunPreparation prep;
  std::vector<ZimbraUser> users;
  std::vector<ZimbraJob> jobs;
};

// What one user's archive is made of: every folder's identity and every live record's UID,
// flags, date and size, plus the options that change the archive's bytes. Equal fingerprints
// give equal archives, so a re-run on the same snapshot has nothing to do. The records are read
// again a window at a time, in index order (a recovery folder's are its folder's again), and
// hashed as they come; the same walk lists the tags the archive's messages need and counts, per
// folder, the messages with flags or tags to set. On an index that changed since the inventory,
// `error` is set and the fingerprint is not complete.
std::string snapshot_fingerprint(ZimbraConvert& z, ZimbraUser& u, std::string& error) {
  const ConvertOptions& opt = z.opt;
  Sha1 sha;
  auto add = [&](std::string_view s) {
    sha.update(s);
    sha.update(std::string_view("\0", 1));
  };
  add(to_string(opt.profile));
  add(to_string(opt.on_corrupt));
  add(opt.skip_deleted ? "skip-deleted" : "");
  add(std::to_string(opt.zimbra_max_line));
  std::string rec;
  for (std::size_t j : u.jobs) {
    ZimbraJob& job = z.jobs[j];
    const MailboxInventory& mi = z.prep.inv[job.inventory];
    add(job.out.name_raw);
    add(job.out.target);
    add(job.orphans_of ? "orphans" : "folder");
    add(std::to_string(mi.header.uidvalidity) + " " + std::to_string(mi.header.last_uid) + " " +
        std::to_string(mi.live_count) + " " + std::to_string(mi.bytes));
    const bool tags = job.name && job.name->action == FolderAction::mail_folder && !job.orphans_of;
    const MailboxRef& mailbox = job.orphans_of ? *job.orphans_of : *job.mailbox;
    job.flagged = 0;
    error = for_each_live_window(mailbox, job.seen, mi, false,
                                 [&](const std::vector<IndexRecord>& window) {
                                   for (const auto& r : window) {
                                     rec.clear();
                                     rec.append(std::to_string(r.uid)).append(" ").append(std::to_string(r.system_flags));
                                     rec.append(" ").append(std::to_string(r.internaldate)).append(" ");
                                     rec.append(std::to_string(r.size)).append(" ");
                                     for (unsigned n = 0; n < 128; ++n) rec += r.user_flag(n) ? '1' : '0';
                                     add(rec);
                                     if (!tags) continue;
                                     const std::uint32_t flags = converted_system_flags(r.system_flags);
                                     if (opt.skip_deleted && (flags & imapflag::deleted)) continue;
                                     FlagNeed need = flag_need(flags, record_keywords(r, mi));
                                     job.flagged += need.any();
                                     for (auto& t : need.tags) u.tags.insert(std::move(t));
                                   }
                                 });
    if (!error.empty()) return {};
  }
  return to_hex(sha.finish());
}

// Users and their folders in archive order: by target path (parents before children), so the
// same snapshot gives the same bytes whatever order discovery found the folders in.
void plan_archives(ZimbraConvert& z) {
  for (auto& ru : take_run_users(z.prep, z.opt.out)) {
    ZimbraUser u;
    static_cast<RunUser&>(u) = std::move(ru);
    z.users.push_back(std::move(u));
  }
  std::vector<const NamingOutcome*> naming;
  for (const auto& u : z.users) naming.push_back(&u.naming);
  for (auto& fj : plan_folder_jobs(z.prep, naming)) {
    ZimbraJob j;
    static_cast<FolderJob&>(j) = std::move(fj);
    j.seen = z.prep.states.seen_for(j.orphans_of ? *j.orphans_of : *j.mailbox);
    z.jobs.push_back(std::move(j));
  }
  auto& jobs = z.jobs;
  for (std::size_t j = 0; j < jobs.size(); ++j) z.users[jobs[j].user].jobs.push_back(j);
  for (auto& u : z.users)
    std::stable_sort(u.jobs.begin(), u.jobs.end(), [&](std::size_t a, std::size_t b) {
      const bool ra = jobs[a].orphans_of != nullptr, rb = jobs[b].orphans_of != nullptr;
      return std::tie(jobs[a].out.target, jobs[a].out.name_raw, ra) < std::tie(jobs[b].out.target, jobs[b].out.name_raw, rb);
    });
}

// Re-runs (README "Re-runs"): a user whose archive was completed from this very snapshot is
// left as it is; an interrupted one is made again (an archive committed before the kill is
// kept when the new bytes equal it); an archive of another snapshot is never replaced, and
// adding to one is not built. Decided per user right before its archive, once its folders'
// records are read again.
void leave_user(ZimbraConvert& z, ZimbraUser& u, const std::string& kind, const std::string& why, bool earlier) {
  std::vector<ZimbraJob>& jobs = z.jobs;
  const std::vector<MailboxInventory>& inv = z.prep.inv;
  u.refused = true;
  if (!kind.empty()) u.findings.push_back(zimbra_finding(Finding::Severity::error, kind, u.root.string(), 0, why));
  for (std::size_t j : u.jobs) {
    ZimbraJob& job = jobs[j];
    job.out.count.messages = job.orphans_of ? 0 : inv[job.inventory].live_count;
    if (earlier) {
      job.out.run = "unchanged";
      job.out.count.earlier = job.out.count.messages;
      // What the archive lacks stays lacking: a no-op re-run exits as the run that made it.
      if (job.name && job.name->action == FolderAction::mail_folder)
        for (const auto& r :
             read_earlier_manifest(folder_manifest_path(u.root, side_file_name(*job.name))).records)
          job.out.count.earlier_quarantined += r.kind == Disposition::quarantined;
    } else {
      job.out.count.not_converted = job.out.count.messages;
    }
    job.name = nullptr;
  }
}

// A newer snapshot of a user whose archive exists: this run's archive holds only what no
// earlier archive holds (converter/zimbra/zimbra_runs.h); earlier archives are never touched.
void start_incremental(ZimbraConvert& z, ZimbraUser& u) {
  std::vector<ZimbraJob>& jobs = z.jobs;
  std::string err;
  u.runs = read_zimbra_runs(u.root, err);
  if (!err.empty() || u.runs.empty()) {
    leave_user(z, u, "output_exists",
               (err.empty() ? "this user's zimbra.tgz was made from another snapshot but is missing" : err) +
                   ": left untouched; no archive of the new messages is made",
               false);
    return;
  }
  u.run = u.runs.back().number + 1;
  if (auto t = read_output_text(u.root / "zimbra-expected.tsv", err))
    if (auto e = parse_zimbra_expected(*t, (u.root / "zimbra-expected.tsv").string())) u.earlier_expected = e.value();
  for (std::size_t j : u.jobs) {
    ZimbraJob& job = jobs[j];
    if (!job.name) continue;
    if (job.name->action == FolderAction::export_calendar || job.name->action == FolderAction::export_addressbook) {
      job.dav_earlier = true;
      continue;
    }
    if (job.name->action != FolderAction::mail_folder) continue;
    auto e = std::make_shared<EarlierZimbraFolder>(
        read_earlier_zimbra_folder(folder_manifest_path(u.root, side_file_name(*job.name)), u.runs));
    if (!e->error.empty()) {
      // Without the manifest nobody knows what the earlier archives hold: nothing is made.
      leave_user(z, u, "output_exists", e->error + ": no archive of the new messages is made", false);
      return;
    }
    job.earlier = std::move(e);
  }
}

// Decided per user right before its archive, once its folders' records are read again.
void decide(ZimbraConvert& z, ZimbraUser& u) {
  std::vector<ZimbraJob>& jobs = z.jobs;
  std::vector<MailboxInventory>& inv = z.prep.inv;
  const ConvertOptions& opt = z.opt;
  std::string changed;
  const std::string fingerprint = snapshot_fingerprint(z, u, changed);
  if (!changed.empty()) {
    // The archive holds all of a user's folders: none is made from a store that moves.
    leave_user(z, u, "source_changed", changed + ": this user's archive is not made", false);
    return;
  }
  std::uint64_t user_bytes = 0;
  for (std::size_t j : u.jobs)
    if (!jobs[j].orphans_of) user_bytes += inv[jobs[j].inventory].bytes;
  if (auto why = zimbra_quota_problem(user_bytes, opt.zimbra_quota)) {
    leave_user(z, u, "zimbra_quota_exceeded", *why, false);
    return;
  }
  std::error_code ec;
  u.fingerprint = fingerprint;
  std::string jerr;
  const auto done = read_output_text(journal_dir(u.root) / "zimbra.done", jerr);
  const bool archive_there = fs::exists(u.root / zimbra_archive_file, ec) || fs::exists(u.root / zimbra_flags_file, ec);
  // The last recorded archive completes this snapshot (a run killed after recording it, before
  // its journal): nothing to do either.
  std::string rerr;
  const auto recorded = read_zimbra_runs(u.root, rerr);
  const bool journal_same = done && *done == u.fingerprint + "\n";
  const bool same = journal_same || (!recorded.empty() && recorded.back().fingerprint == u.fingerprint);
  if (same && !journal_same && archive_there) {
    // Finish what the killed run left: its journal.
    WriteStatus j = make_directories(journal_dir(u.root));
    if (j) j = write_small_file(journal_dir(u.root) / "zimbra.done", u.fingerprint + "\n", opt.sync != SyncPolicy::none);
    if (!j) u.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", j.message, 0, j.message));
  }
  if (archive_there && same)
    leave_user(z, u, "", "", true);  // nothing to do
  else if (archive_there && done)
    start_incremental(z, u);
}

void release(ZimbraConvert& z, const ZimbraUser& u) {
  for (std::size_t j : u.jobs)
    if (z.jobs[j].mailbox && z.jobs[j].mailbox->kind == MailboxKind::email)
      std::vector<IndexRecord>().swap(z.prep.inv[z.jobs[j].inventory].live);
}

// Users in parallel, largest first; one archive stream per user.
void convert_users(ZimbraConvert& z, ConvertReport& report) {
  std::vector<ZimbraUser>& users = z.users;
  std::vector<ZimbraJob>& jobs = z.jobs;
  std::vector<MailboxInventory>& inv = z.prep.inv;
  const ConvertOptions& opt = z.opt;
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& u : users)
    for (std::size_t j : u.jobs)
      if (!jobs[j].orphans_of) {
        total_bytes += inv[jobs[j].inventory].bytes;
        total_messages += inv[jobs[j].inventory].live_count;
      }
  std::vector<std::size_t> order;
  std::vector<std::uint64_t> user_bytes(users.size(), 0);
  for (std::size_t u = 0; u < users.size(); ++u) {
    for (std::size_t j : users[u].jobs) user_bytes[u] += inv[jobs[j].inventory].bytes;
    order.push_back(u);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return user_bytes[a] > user_bytes[b]; });
  const auto t0 = std::chrono::steady_clock::now();
  {
    Progress progress("convert", total_bytes, total_messages, opt.quiet);
    std::optional<IoThreads> io;
    if (opt.io_depth > 1) io.emplace(io_width(opt.io_depth));
    auto log = std::make_shared<MessageLog>();  // report entries: a store's findings grow with it
    if (auto why = log->open(opt.out); !why.empty())
      report.findings.push_back(zimbra_finding(Finding::Severity::warning, "report_in_memory", opt.out.string(), 0,
                                               why + "; the report keeps every message entry in memory instead"));
    report.message_log = log;
    ZimbraPartPool parts;  // a big archive's parts compress on the threads users leave idle
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, order.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          for (std::size_t k = range.begin(); k != range.end(); ++k) {
            ZimbraUser& u = users[order[k]];
            if (stage_hook()) stage_hook()(u.owner, ZimbraUserStage::read_again);
            decide(z, u);
            if (!u.refused && stage_hook()) stage_hook()(u.owner, ZimbraUserStage::archive);
            if (!u.refused)
              tbb::this_task_arena::isolate([&] {  // waiting for its parts, take no other user's tasks
                convert_zimbra_user(opt, u, jobs, inv, z.prep.plan, progress, io ? &*io : nullptr,
                                    log->is_open() ? log.get() : nullptr, &parts);
              });
            else
              for (std::size_t j : u.jobs)
                if (!jobs[j].orphans_of) progress.add(inv[jobs[j].inventory].bytes, inv[jobs[j].inventory].live_count);
            release(z, u);
          }
        },
        tbb::simple_partitioner());
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

void set_zimbra_stage_hook(std::function<void(const std::string&, ZimbraUserStage)> hook) {
  stage_hook() = std::move(hook);
}

ConvertReport run_convert_zimbra(const SourceInputs& inputs, const ConvertOptions& opt) {
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  ConvertReport report = new_convert_report(inputs, opt);

  // Discover, select, read states, inventory and name, as convert does (converter/plan/run_prep.h):
  // mail folders keep only their summary until their user's archive is made (then their records
  // are read again): memory holds the users in progress, not the store.
  ZimbraConvert z{opt, prepare_run(inputs, RunPrepOptions{opt.users, nullptr, opt.profile, &opt.rename_map, opt.io_depth, 0}),
                  {}, {}};
  report.findings = std::move(z.prep.findings);
  if (z.prep.plan.refused()) {
    report.fatal = true;
    report.errors = report.findings.size();
    return report;
  }
  // Plan each user's archive; convert the users in parallel.
  plan_archives(z);
  convert_users(z, report);

  // Every rename, for the administrator and for --rename-map on the next run.
  {
    std::string map = format_rename_map_header();
    for (const auto& u : z.users) map += format_rename_map_lines(u.owner, opt.profile, u.naming);
    if (auto st = write_small_file(opt.out / opt.rename_map_file, map, opt.sync != SyncPolicy::none); !st)
      report.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  }

  // The report.
  std::map<std::string, ConvertUser> by_user;
  for (auto& job : z.jobs) {
    if (job.mailbox && !job.orphans_of) count_folder_files(job.out.count, z.prep.inv[job.inventory]);
    ConvertUser& cu = by_user[z.users[job.user].owner];
    cu.user = z.users[job.user].owner;
    cu.output = z.users[job.user].root_rel;
    cu.folders.push_back(std::move(job.out));
  }
  for (auto& u : z.users) {
    ConvertUser& cu = by_user[u.owner];
    cu.user = u.owner;
    cu.output = u.root_rel;
    cu.findings = std::move(u.findings);
    for (const auto& f : u.state->findings) cu.findings.push_back(f);
  }
  if (!z.prep.not_converted.empty()) {
    ConvertUser& cu = by_user[""];
    for (auto& f : z.prep.not_converted) cu.folders.push_back(std::move(f));
  }
  add_users_and_totals(report, std::move(by_user));
  return report;
}

}  // namespace cyrconv
