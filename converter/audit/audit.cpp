#include "converter/audit/audit.h"

#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <set>

#include "converter/source/census.h"
#include "converter/source/inventory.h"
#include "converter/cli/progress.h"
#include "converter/source/io_fanout.h"
#include "converter/source/prefetch.h"
#include "converter/plan/display_name.h"
#include "converter/source/source_io.h"
#include "converter/convert/message_pass.h"
#include "writers/message_log.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// One message file to read: a live record or an orphan. 16 bytes: a folder of a million
// messages holds a million of them.
struct Job {
  std::uint32_t folder = 0;
  std::uint32_t uid = 0;
  std::uint32_t record = 0;  // index into the folder's live records; no_record for orphans
  bool duplicate = false;    // same UID as an earlier record: not read again
};
constexpr std::uint32_t no_record = static_cast<std::uint32_t>(-1);

struct JobResult {
  bool read = false;
  bool missing = false;
  bool read_failed = false;
  std::string read_error;
  MessageCheckResult check;
};

bool is_message_file_kind(const std::string& kind) {
  return kind == "message_file_missing" || kind == "orphan_message_file";
}

void count_findings(AuditReport& r, const std::vector<Finding>& fs) {
  for (const auto& f : fs) {
    if (f.severity == Finding::Severity::error) ++r.errors;
    if (f.severity == Finding::Severity::warning) ++r.warnings;
    ++r.fault_counts[f.kind];
  }
}

// What the passes of one audit share. Folders are taken in batches (in discovery order), each
// batch's records and check results dropped once its folders are assembled: memory holds one
// batch, not the store.
struct AuditRun {
  const SourceInputs& inputs;
  const AuditOptions& options;
  AuditReport report;
  Discovery disc;
  std::shared_ptr<MessageLog> log = std::make_shared<MessageLog>();
  std::vector<MailboxInventory> inv;
  std::vector<std::vector<std::uint32_t>> missing, orphans;
  std::vector<std::map<std::uint32_t, Finding>> missing_findings;
  std::vector<AuditFolder> folders;
  tbb::enumerable_thread_specific<Worker> workers;
  std::optional<IoThreads> io;
  double seconds = 0;
  std::optional<Progress> progress;
  // The batch in progress: its jobs, and the check results of the window being read.
  std::vector<Job> jobs;
  std::vector<JobResult> results;

  AuditRun(const SourceInputs& in, const AuditOptions& o)
      : inputs(in), options(o), workers(MessageCheckOptions{o.mime}) {}

  void open_log();
  void list_jobs(std::size_t first, std::size_t last);
  bool to_read(const Job& job) const;
  fs::path file_of(const Job& job) const;
  void read_window(std::size_t w0, std::size_t w1);
  void read_range(std::size_t w0, const tbb::blocked_range<std::size_t>& range);
  void begin_folder(std::size_t f);
  void assemble_job(std::size_t f, const Job& job, JobResult& res);
  void finish_folder(std::size_t f);
  void run_batch(std::size_t first, std::size_t last);
  void total_by_user();
  void check_census();
};

// Each assembled folder's message entries move to the log: a store's findings grow with it.
void AuditRun::open_log() {
  std::error_code ec;
  const fs::path dir = !options.scratch_dir.empty() ? options.scratch_dir : fs::temp_directory_path(ec);
  const std::string why = ec ? "no temporary directory: " + ec.message() : log->open(dir);
  if (!why.empty())
    report.findings.push_back(Finding{Finding::Severity::warning, "report_in_memory", dir.string(), 0, 0,
                                      why + "; the report keeps every message entry in memory instead"});
  report.message_log = log;
}

// The message files to read, in folder and UID order; duplicates and missing files are not read.
void AuditRun::list_jobs(std::size_t first, std::size_t last) {
  jobs.clear();
  for (std::size_t f = first; f < last; ++f) {
    for (const auto& fd : inv[f].findings) {
      if (fd.kind == "message_file_missing") {
        missing[f].push_back(fd.uid);
        missing_findings[f].emplace(fd.uid, fd);
      }
      if (fd.kind == "orphan_message_file") orphans[f].push_back(fd.uid);
    }
    std::sort(missing[f].begin(), missing[f].end());
    const std::size_t folder_start = jobs.size();
    const auto folder = static_cast<std::uint32_t>(f);
    for (std::size_t r = 0; r < inv[f].live.size(); ++r)
      jobs.push_back(Job{folder, inv[f].live[r].uid, static_cast<std::uint32_t>(r), false});
    for (std::uint32_t uid : orphans[f]) jobs.push_back(Job{folder, uid, no_record, false});
    // The report's order, which is also convert's (UID order, a damaged index's disorder
    // aside; then the orphans): entries leave for the log as they come, never to be sorted.
    std::stable_sort(jobs.begin() + static_cast<std::ptrdiff_t>(folder_start), jobs.end(),
                     [](const Job& a, const Job& b) {
                       const bool ao = a.record == no_record, bo = b.record == no_record;
                       return ao != bo ? !ao : a.uid < b.uid;
                     });
    // A record whose UID an earlier record has (the sort is stable: index order within a UID).
    for (std::size_t j = folder_start + 1; j < jobs.size(); ++j)
      jobs[j].duplicate =
          jobs[j].record != no_record && jobs[j - 1].record != no_record && jobs[j].uid == jobs[j - 1].uid;
  }
}

bool AuditRun::to_read(const Job& job) const {
  return !job.duplicate && !(job.record != no_record && std::binary_search(missing[job.folder].begin(),
                                                                           missing[job.folder].end(), job.uid));
}

// ARCHIVED records live on the archive partition when one was given.
fs::path AuditRun::file_of(const Job& job) const {
  const MailboxRef& mb = disc.mailboxes[job.folder];
  return job.record != no_record ? message_file_path(mb, inv[job.folder].live[job.record])
                                 : mb.dir / (std::to_string(job.uid) + ".");
}

// Read each message file once and check it, in parallel, a window of jobs at a time (memory
// holds one window's check results, not a batch's: one folder may hold most of it).
void AuditRun::read_window(std::size_t w0, std::size_t w1) {
  const auto t0 = std::chrono::steady_clock::now();
  results.assign(w1 - w0, JobResult{});
  // Ranges of jobs: with --io-depth each worker reads its range's next files ahead.
  const std::size_t grain = io ? 256 : 1;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(w0, w1, grain),
                    [&](const tbb::blocked_range<std::size_t>& range) { read_range(w0, range); });
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void AuditRun::read_range(std::size_t w0, const tbb::blocked_range<std::size_t>& range) {
  Worker& w = workers.local();
  PrefetchScope prefetch_scope{w.prefetch};
  if (io) {
    std::vector<fs::path> ahead;
    for (std::size_t j = range.begin(); j != range.end(); ++j)
      if (to_read(jobs[j])) ahead.push_back(file_of(jobs[j]));
    w.prefetch.start(&*io, static_cast<std::size_t>(options.io_depth), read_buffer_size, std::move(ahead));
  }
  for (std::size_t j = range.begin(); j != range.end(); ++j) {
    const Job& job = jobs[j];
    JobResult& res = results[j - w0];
    if (!to_read(job)) continue;
    PassResult pr;
    NullSink sink;
    read_message(w, nullptr, file_of(job), sink, pr);
    res.check = std::move(pr.check);
    res.read = true;
    if (pr.read.status == SourceOpen::Status::missing) {
      res.missing = true;
    } else if (pr.read.status != SourceOpen::Status::ok) {
      res.read_failed = true;
      res.read_error = std::move(pr.read.message);
    }
  }
}

// Assemble per folder, in the fixed order of the discovery: a folder begins at its first job
// (or at once when it has none) and finishes after its last, when its entries move to the
// report's log and its records are dropped.
void AuditRun::begin_folder(std::size_t f) {
  const MailboxRef& mb = disc.mailboxes[f];
  AuditFolder& out = folders[f];
  bool valid = true;
  out.name = display_folder_name(mb.name, valid, disc.caret);
  out.name_raw = mb.name.internal();
  out.directory = mb.dir.string();
  out.deleted = mb.deleted;
  out.index_version = inv[f].index_read ? inv[f].header.minor_version : 0;
  for (auto& fd : inv[f].findings)
    if (!is_message_file_kind(fd.kind)) out.findings.push_back(std::move(fd));
  out.count.messages = inv[f].live.size();
  count_folder_files(out.count, inv[f]);
}

void AuditRun::assemble_job(std::size_t f, const Job& job, JobResult& res) {
  const MailboxRef& mb = disc.mailboxes[f];
  AuditFolder& out = folders[f];
  const IndexRecord* record = job.record == no_record ? nullptr : &inv[f].live[job.record];
  const fs::path file = record ? message_file_path(mb, *record) : mb.dir / (std::to_string(job.uid) + ".");
  PassInput in;
  in.record = record;
  in.uid = job.uid;
  in.path = &file;
  in.index_version = out.index_version;
  in.duplicate = job.duplicate;
  in.missing = record && !job.duplicate && (!res.read || res.missing);
  in.on_corrupt = options.on_corrupt;
  in.folder_name = &out.name;
  if (in.missing)
    if (auto it = missing_findings[f].find(job.uid); it != missing_findings[f].end()) in.missing_finding = &it->second;
  // The same decision as convert's, from the check made when the window was read.
  PassResult pr;
  pr.streamed = res.read;
  pr.check = std::move(res.check);
  pr.read.status = res.read_failed ? SourceOpen::Status::error : SourceOpen::Status::ok;
  pr.read.message = res.read_error;
  decide_passed_message(in, pr);
  AuditMessage& m = pr.m;
  if (!in.missing) {
    if (mb.kind == MailboxKind::sieve && m.action == MessageAction::repair) {  // convert exports the script, not the message
      m.action = MessageAction::write;
      m.changes.clear();
    }
    if (m.orphan)
      m.findings.insert(m.findings.begin(),
                        Finding{Finding::Severity::warning, "orphan_message_file", in.path->string(), 0, job.uid,
                                "message file with no record in cyrus.index or cyrus.expunge; recovered into " +
                                    orphan_folder_name(out.name)});
  }
  m.size = res.read && !res.missing ? pr.check.size : (record ? record->size : 0);
  out.bytes_read += res.read ? pr.check.size : 0;
  if (res.read && !res.missing && !job.duplicate) out.sizes.add(pr.check.size);

  // Accounting as convert's; with --on-corrupt=fail the folder stops at its first failing message.
  AuditAccounting& c = out.count;
  if (m.orphan) {
    ++c.orphans;
    count_orphan(c, disposition_for(m.action));
  } else if (out.failed) {
    account_message(c, MessageDisposition::not_converted, false);
  } else {
    if (m.action == MessageAction::fail) {
      out.failed = true;
      out.fail_reason = "UID " + std::to_string(m.uid) + ": " + m.reason;
    }
    account_message(c, disposition_for(m.action), false);
  }
  if (!m.findings.empty()) out.messages.push_back(std::move(m));
}

void AuditRun::finish_folder(std::size_t f) {
  AuditFolder& out = folders[f];
  progress->add(out.bytes_read, out.count.messages + out.count.orphans);
  progress->add_folders(1);
  log->spill(out.messages, out.spilled);  // on failure they stay in memory, nothing is lost
  inv[f] = MailboxInventory{};  // what the report needs is in `out` now
  std::vector<std::uint32_t>().swap(missing[f]);
  std::vector<std::uint32_t>().swap(orphans[f]);
  missing_findings[f].clear();
}

// Inventory (index, directory listing) in parallel, io_depth per worker at a time (seen state
// is not needed here); read and check the batch's message files a window at a time; assemble.
void AuditRun::run_batch(std::size_t first, std::size_t last) {
  for_each_io(options.io_depth, last - first,
              [&](std::size_t k) { inv[first + k] = inventory_mailbox(disc.mailboxes[first + k], SeenState{}); });
  list_jobs(first, last);
  const std::size_t window = std::max<std::size_t>(options.window_messages, 1);
  std::size_t next_folder = first;  // the first folder not finished
  bool begun = false;
  std::size_t j = 0;                // the next job to assemble
  for (std::size_t w0 = 0;; w0 += window) {
    const std::size_t w1 = std::min(jobs.size(), w0 + window);
    if (w0 < w1) read_window(w0, w1);
    while (next_folder < last) {
      const std::size_t f = next_folder;
      if (!begun) begin_folder(f);
      begun = true;
      for (; j < w1 && jobs[j].folder == f; ++j) assemble_job(f, jobs[j], results[j - w0]);
      if (j < jobs.size() && jobs[j].folder == f) {  // the window ended inside f
        log->spill(folders[f].messages, folders[f].spilled);
        break;
      }
      finish_folder(f);
      ++next_folder;
      begun = false;
    }
    if (w1 == jobs.size()) break;
  }
}

// Group by owner like the scan report, and total.
void AuditRun::total_by_user() {
  const std::size_t nf = disc.mailboxes.size();
  std::map<std::string, AuditUser> by_user;
  for (std::size_t f = 0; f < nf; ++f) {
    const MailboxRef& mb = disc.mailboxes[f];
    const std::string owner = mb.deleted ? std::string() : mb.name.owner();
    AuditUser& u = by_user[owner];
    u.user = owner;
    u.folders.push_back(std::move(folders[f]));
  }
  count_findings(report, report.findings);
  for (auto& [owner, u] : by_user) {
    for (const auto& f : u.folders) {
      ++report.folders;
      report.totals += f.count;
      report.bytes_read += f.bytes_read;
      for (std::size_t b = 0; b < f.sizes.log2.size(); ++b) report.message_sizes[b] += f.sizes.log2[b];
      count_findings(report, f.findings);
      for_each_message(log.get(), f.spilled, f.messages,
                       [&](const AuditMessage& m) { count_findings(report, m.findings); });
    }
    report.users.push_back(std::move(u));
  }
}

// The census verify will take: every message file in the source, walked for itself. Files no
// folder's inventory counted (a directory discovery did not take for a mailbox) are named.
void AuditRun::check_census() {
  const SourceCensus census = take_census(inputs);
  report.census_files = census.files;
  if (report.census_files > report.totals.files) {
    report.findings.push_back(Finding{Finding::Severity::error, "census_unaccounted", "", 0, 0,
                                      std::to_string(report.census_files - report.totals.files) + " of the " +
                                          std::to_string(report.census_files) +
                                          " message files in the source are in no folder found"});
    ++report.errors;
  }
}

}  // namespace

AuditReport run_audit(const SourceInputs& inputs, const AuditOptions& options) {
  std::optional<tbb::global_control> limit;
  if (options.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(options.threads));
  AuditRun a(inputs, options);
  a.report.on_corrupt = to_string(options.on_corrupt);
  a.report.mime_checked = options.mime;
  for (const auto& [name, dir] : inputs.partitions) a.report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) a.report.inputs.push_back("config=" + inputs.config_dir->string());

  // Discover.
  a.disc = discover(inputs, options.io_depth);
  a.report.findings = std::move(a.disc.findings);
  a.open_log();

  // Inventory, read and check every message file once, assemble the folders: batch by batch.
  const std::size_t nf = a.disc.mailboxes.size();
  a.inv.resize(nf);
  a.missing.resize(nf);
  a.orphans.resize(nf);
  a.missing_findings.resize(nf);
  a.folders.resize(nf);
  if (options.io_depth > 1)
    a.io.emplace(static_cast<std::size_t>(options.io_depth) * static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()));
  a.progress.emplace("audit", Progress::ByFolders{nf}, options.quiet);
  const std::size_t batch = std::max<std::size_t>(options.batch_folders, 1);
  for (std::size_t first = 0; first < nf; first += batch) a.run_batch(first, std::min(nf, first + batch));
  a.report.seconds = a.seconds;

  // The report: totals per user, then the census verify will take.
  a.total_by_user();
  a.check_census();
  return std::move(a.report);
}

}  // namespace cyrconv
