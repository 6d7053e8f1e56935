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
#include "converter/source/live_records.h"
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

// One message file to read: a live record (a copy of it) or an orphan. Memory holds one
// window of them, not a folder's.
struct Job {
  std::uint32_t folder = 0;
  std::uint32_t uid = 0;
  bool orphan = false;
  bool duplicate = false;  // same UID as an earlier record: not read again
  IndexRecord record;      // a live record's; unused for an orphan
};

// The folder whose jobs are being listed: its live records in UID order, then its orphans. The
// records come from the index a window at a time when Cyrus wrote them in UID order (the usual
// case), else (a damaged index's disorder, a mailbox recovered from its files) held whole and
// sorted.
struct Lister {
  std::optional<LiveRecordReader> reader;
  std::vector<IndexRecord> records;  // the reader's window, or the folder's held records
  std::size_t at = 0;                // next in `records`
  bool records_done = false;
  std::size_t listed = 0;            // live records listed
  std::uint32_t previous_uid = 0;
  std::size_t orphan_at = 0;

  void reset() {  // (a reader is not assignable: it refers to its folder's inventory)
    reader.reset();
    std::vector<IndexRecord>().swap(records);
    at = 0;
    records_done = false;
    listed = 0;
    previous_uid = 0;
    orphan_at = 0;
  }
};

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
  const SeenState no_seen{};  // audit needs no seen state (the inventory is taken without it)
  std::vector<AuditFolder> folders;
  tbb::enumerable_thread_specific<Worker> workers;
  std::optional<IoThreads> io;
  double seconds = 0;
  std::optional<Progress> progress;
  // The batch in progress: the folder being listed (folders before it are listed whole), the
  // window's jobs and their check results, why a folder's records could not be read again (the
  // index changed during the run; by folder - first), the assembled folder's missing findings.
  std::size_t listing = 0;
  Lister lister;
  std::vector<Job> jobs;
  std::vector<JobResult> results;
  std::vector<std::string> changed;
  std::vector<std::size_t> records_listed;
  std::map<std::uint32_t, Finding> missing_findings;

  AuditRun(const SourceInputs& in, const AuditOptions& o)
      : inputs(in), options(o), workers(MessageCheckOptions{o.mime}) {}

  void open_log();
  void open_lister(std::size_t f, std::size_t first);
  bool next_record(IndexRecord& r);
  bool next_job(std::size_t f, Job& job);
  void list_jobs(std::size_t first, std::size_t last, std::size_t window);
  bool to_read(const Job& job) const;
  fs::path file_of(const Job& job) const;
  void read_window(std::size_t w0, std::size_t w1);
  void read_range(std::size_t w0, const tbb::blocked_range<std::size_t>& range);
  void begin_folder(std::size_t f);
  void assemble_job(std::size_t f, const Job& job, JobResult& res);
  void finish_folder(std::size_t f, std::size_t first);
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

// Where folder f's live records come from (see Lister). A reader or a reload that finds the
// index changed since the inventory leaves its reason in `changed`, reported with the folder.
void AuditRun::open_lister(std::size_t f, std::size_t first) {
  lister.reset();
  MailboxInventory& mi = inv[f];
  const MailboxRef& mb = disc.mailboxes[f];
  if (mi.recovered) {
    lister.records = std::move(mi.live);  // rebuilt from the files: held by the inventory anyway
  } else if (!mi.index_read) {
    lister.records_done = true;  // no index, no records
  } else if (mi.uid_ascending) {
    lister.reader.emplace(mb, no_seen, mi);
  } else {
    LiveRecords again = reload_live_records(mb, no_seen, mi);
    changed[f - first] = std::move(again.error);
    lister.records = std::move(again.live);
  }
  // The report's order, which is also convert's: UID order (index order within a UID).
  if (!lister.reader)
    std::stable_sort(lister.records.begin(), lister.records.end(),
                     [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; });
}

bool AuditRun::next_record(IndexRecord& r) {
  if (lister.records_done) return false;
  if (lister.at == lister.records.size()) {
    if (!lister.reader || !lister.reader->next(lister.records)) {
      lister.records_done = true;
      return false;
    }
    lister.at = 0;
  }
  r = lister.records[lister.at++];
  return true;
}

// Folder f's next job: its live records, then its orphans (UID order each).
bool AuditRun::next_job(std::size_t f, Job& job) {
  job.folder = static_cast<std::uint32_t>(f);
  if (next_record(job.record)) {
    job.uid = job.record.uid;
    job.orphan = false;
    // A record whose UID the one before it has (sorted: an earlier record in the index).
    job.duplicate = lister.listed > 0 && job.uid == lister.previous_uid;
    lister.previous_uid = job.uid;
    ++lister.listed;
    return true;
  }
  const std::vector<std::uint32_t>& orphans = inv[f].orphan_uids;
  if (lister.orphan_at == orphans.size()) return false;
  job.uid = orphans[lister.orphan_at++];
  job.orphan = true;
  job.duplicate = false;
  return true;
}

// The next window of message files to read, in folder and UID order, from where the last
// window ended; folders before `listing` are listed whole.
void AuditRun::list_jobs(std::size_t first, std::size_t last, std::size_t window) {
  jobs.clear();
  Job job;
  while (jobs.size() < window && listing < last) {
    if (next_job(listing, job)) {
      jobs.push_back(job);
      continue;
    }
    if (lister.reader && !lister.reader->error().empty()) changed[listing - first] = lister.reader->error();
    records_listed[listing - first] = lister.listed;
    if (++listing < last) open_lister(listing, first);
  }
  if (listing == last) lister.reset();
}

// Duplicates and missing files are not read.
bool AuditRun::to_read(const Job& job) const {
  return !job.duplicate && !(!job.orphan && inv[job.folder].missing(job.uid));
}

// ARCHIVED records live on the archive partition when one was given.
fs::path AuditRun::file_of(const Job& job) const {
  const MailboxRef& mb = disc.mailboxes[job.folder];
  return !job.orphan ? message_file_path(mb, job.record) : mb.dir / (std::to_string(job.uid) + ".");
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
// report's log and its inventory is dropped.
void AuditRun::begin_folder(std::size_t f) {
  const MailboxRef& mb = disc.mailboxes[f];
  AuditFolder& out = folders[f];
  bool valid = true;
  out.name = display_folder_name(mb.name, valid, disc.caret);
  out.name_raw = mb.name.internal();
  out.directory = mb.dir.string();
  out.deleted = mb.deleted;
  out.index_version = inv[f].index_read ? inv[f].header.minor_version : 0;
  missing_findings.clear();  // few: one per missing file
  for (auto& fd : inv[f].findings)
    if (fd.kind == "message_file_missing")
      missing_findings.emplace(fd.uid, std::move(fd));
    else if (!is_message_file_kind(fd.kind))
      out.findings.push_back(std::move(fd));
  out.count.messages = inv[f].live_count;
  count_folder_files(out.count, inv[f]);
}

void AuditRun::assemble_job(std::size_t f, const Job& job, JobResult& res) {
  const MailboxRef& mb = disc.mailboxes[f];
  AuditFolder& out = folders[f];
  const IndexRecord* record = job.orphan ? nullptr : &job.record;
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
    if (auto it = missing_findings.find(job.uid); it != missing_findings.end()) in.missing_finding = &it->second;
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

// An index that changed during the run (read again, it no longer matches the inventory) is
// reported as convert and verify report it: an error, the folder failed, the live records not
// listed again counted as not converted (the counts still add up).
void AuditRun::finish_folder(std::size_t f, std::size_t first) {
  AuditFolder& out = folders[f];
  if (const std::string& why = changed[f - first]; !why.empty()) {
    out.findings.push_back(Finding{Finding::Severity::error, "source_changed", out.directory, 0, 0,
                                   why + ": audited " + std::to_string(records_listed[f - first]) + " of its " +
                                       std::to_string(inv[f].live_count) + " live records"});
    if (!out.failed) {
      out.failed = true;
      out.fail_reason = why;
    }
    for (std::size_t r = records_listed[f - first]; r < inv[f].live_count; ++r)
      account_message(out.count, MessageDisposition::not_converted, false);
  }
  progress->add(out.bytes_read, out.count.messages + out.count.orphans);
  progress->add_folders(1);
  log->spill(out.messages, out.spilled);  // on failure they stay in memory, nothing is lost
  inv[f] = MailboxInventory{};  // what the report needs is in `out` now
  missing_findings.clear();
}

// Inventory (index, directory listing) in parallel, io_depth per worker at a time (seen state
// is not needed here, nor the records: they are read again a window at a time); list, read and
// check the batch's message files a window at a time; assemble.
void AuditRun::run_batch(std::size_t first, std::size_t last) {
  InventoryOptions walk;
  walk.keep_records = false;
  for_each_io(options.io_depth, last - first,
              [&](std::size_t k) { inv[first + k] = inventory_mailbox(disc.mailboxes[first + k], no_seen, walk); });
  if (options.after_inventory) options.after_inventory();
  changed.assign(last - first, std::string());
  records_listed.assign(last - first, 0);
  listing = first;
  open_lister(first, first);
  const std::size_t window = std::max<std::size_t>(options.window_messages, 1);
  std::size_t next_folder = first;  // the first folder not finished
  bool begun = false;
  do {
    list_jobs(first, last, window);
    if (!jobs.empty()) read_window(0, jobs.size());
    std::size_t j = 0;  // the next job to assemble
    while (next_folder < last) {
      const std::size_t f = next_folder;
      if (!begun) begin_folder(f);
      begun = true;
      for (; j < jobs.size() && jobs[j].folder == f; ++j) assemble_job(f, jobs[j], results[j]);
      if (f >= listing) {  // f has more jobs for the next window
        log->spill(folders[f].messages, folders[f].spilled);
        break;
      }
      finish_folder(f, first);
      ++next_folder;
      begun = false;
    }
  } while (next_folder < last);
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
