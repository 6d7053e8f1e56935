// One user's archive: its folders in archive order into one tar stream, then the import script,
// the expected counts, the record of runs and the journal entry.
#include <sys/stat.h>

#include <algorithm>

#include "converter/convert/journal.h"
#include "converter/convert/output_owner.h"
#include "converter/plan/output_layout.h"
#include "converter/source/inventory.h"
#include "converter/source/mailbox_error.h"
#include "converter/zimbra/zimbra_folder_flags.h"
#include "converter/zimbra/zimbra_part_tasks.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view script_name = "zimbra-import.sh";
constexpr std::string_view expected_name = "zimbra-expected.tsv";

// The import script and the expected counts, cyrconv's own: an incremental run replaces them
// (they list every archive and the counts after all of them).
WriteStatus write_zimbra_side_file(const fs::path& root, std::string_view name, const std::string& text, bool sync,
                                   mode_t mode) {
  OutputFile f;
  WriteStatus st = f.open(root, name);
  if (st) st = f.write(text);
  if (st) st = f.commit(root / name, -1, sync, OutputFile::OnExisting::replace);
  if (st && ::chmod((root / name).c_str(), mode) != 0) st = write_error(root / name, "chmod");
  return st;
}

void count_not_converted(ConvertFolder& out, std::uint64_t n) { out.count.not_converted += n; }

void fail_user(ZimbraUser& user, const WriteStatus& st) {
  user.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", user.root.string(), 0, st.message));
}

// Tags first: every keyword the user's folders use, and the draft tag (decide() listed them).
void create_tags(UserRun& run) {
  for (const auto& t : run.user.tags) run.zmm_line(zmm_create_tag(t));
}

// Each folder by its kind; a folder's report entries leave for the log once it is done.
void convert_folders(UserRun& run, std::vector<ZimbraJob>& jobs, const std::vector<MailboxInventory>& inv,
                     const NamePlan& plan, MessageLog* log) {
  for (std::size_t j : run.user.jobs) {
    ZimbraJob& job = jobs[j];
    const MailboxInventory& mi = inv[job.inventory];
    if (!job.name) {
      job.out.findings.push_back(
          zimbra_finding(Finding::Severity::error, "naming_missing", "", 0, "no target name was planned for this folder"));
      job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
      job.out.count.not_converted = job.out.count.messages;
      continue;
    }
    try {
      switch (job.name->action) {
        case FolderAction::mail_folder:
          convert_zimbra_mail_folder(run, job, mi, plan.orphans[job.inventory]);
          break;
        case FolderAction::export_calendar:
        case FolderAction::export_addressbook:
          convert_zimbra_dav_folder(run, job, mi);
          break;
        case FolderAction::skip:
          run.progress.add(mi.bytes, mi.live_count);
          job.out.count.messages = mi.live_count;
          job.out.count.not_converted = mi.live_count;
          if (mi.live_count)
            job.out.findings.push_back(zimbra_finding(Finding::Severity::warning, "collection_not_converted",
                                                      job.mailbox->dir.string(), 0,
                                                      "DAV collection of a kind that is not exported"));
          break;
      }
    } catch (const std::exception&) {
      rethrow_naming_mailbox(job.mailbox ? job.mailbox : job.orphans_of);
    }
    if (log) log->spill(job.out.messages, job.out.spilled);  // on failure they stay in memory
  }
}

// The import script: folders the archive does not create (empty ones, calendars and address
// books, which need their view before their post), the archive, the collections, the flags.
ZimbraImportPlan import_plan(const UserRun& run, const std::vector<ZimbraJob>& jobs, std::vector<ZimbraRun>& runs) {
  const ZimbraUser& user = run.user;
  ZimbraImportPlan import;
  import.account = user.owner;
  for (const auto& [path, view] : run.empty_folders) {
    const auto child = run.filled_folders.lower_bound(path + "/");
    const bool parent_of_filled = child != run.filled_folders.end() && child->rfind(path + "/", 0) == 0;
    if (!parent_of_filled || view != "message") import.folders.emplace_back(path, view);
  }
  std::sort(import.folders.begin(), import.folders.end());
  // Every archive, earlier ones first (the script's markers skip those already posted); an
  // archive without entries has nothing to post.
  runs = user.runs;
  runs.push_back(ZimbraRun{user.run, user.archive_file(), user.flags_file(), 0, user.fingerprint, run.archive.parts()});
  for (std::size_t j : user.jobs)
    if (jobs[j].name && jobs[j].name->action == FolderAction::mail_folder)
      runs.back().entries += jobs[j].out.count.written + jobs[j].out.count.repaired +
                             (jobs[j].orphans_of ? jobs[j].out.count.orphans_recovered : 0);
  for (const auto& r : runs) {
    if (r.entries > 0 || (r.number == 1 && user.runs.empty() && !run.filled_folders.empty()))
      for (const auto& a : zimbra_run_archives(r)) import.archives.push_back(a);
    import.flags_files.emplace_back(r.flags, zimbra_flag_check_name(r.number));
  }
  import.collections = run.collections;
  return import;
}

// The archive's end, then every file under its final name, never over existing ones; the
// journal entry last (the archive is complete, and from this snapshot).
void commit_archive(UserRun& run, const ZimbraImportPlan& import, const std::vector<ZimbraRun>& runs) {
  ZimbraUser& user = run.user;
  if (run.stream_status) {
    if (auto c = run.archive.commit(run.sync()); !c) run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = run.zmm.commit(user.root / user.flags_file(), -1, run.sync(), OutputFile::OnExisting::keep_identical); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = run.check.commit(user.root / user.check_file(), -1, run.sync(), OutputFile::OnExisting::keep_identical); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = write_zimbra_side_file(user.root, script_name, zimbra_import_script(import), run.sync(), 0600); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = write_zimbra_side_file(user.root, expected_name, zimbra_expected_tsv(run.expected), run.sync(), 0600); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    // The archive is there: record it, so the next run's manifests count its messages as earlier.
    if (auto c = write_small_file(user.root / zimbra_runs_file, zimbra_runs_text(runs), run.sync()); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    // Last: the archive is complete, and from this snapshot.
    WriteStatus j = make_directories(journal_dir(user.root));
    if (j) j = write_small_file(journal_dir(user.root) / "zimbra.done", user.fingerprint + "\n", run.sync());
    if (!j) user.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", j.message, 0, j.message));
  }
}

}  // namespace

void convert_zimbra_user(const ConvertOptions& opt, ZimbraUser& user, std::vector<ZimbraJob>& jobs,
                         const std::vector<MailboxInventory>& inv, const NamePlan& plan, Progress& progress,
                         IoThreads* io, MessageLog* log, ZimbraPartPool* part_pool) {
  ZimbraPartTasks part_tasks(part_pool);  // before the archive: it outlives the archive's compressions
  UserRun run(opt, user, progress);
  run.io = io;
  run.log = log;
  WriteStatus st = make_directories(user.root);
  if (st) st = run.raw.open(user.root);
  if (st) st = run.repaired.open(user.root);
  if (st) st = run.flag_needs.open(user.root);
  const unsigned number = user.run;
  if (st)
    st = run.archive.open(user.root, [number](unsigned part) { return zimbra_part_name(number, part); },
                          opt.zimbra_part_size,
                          zimbra_part_staging(part_tasks, part_pool, zimbra_tar_estimate(user, jobs, inv), opt.zimbra_part_size));
  if (st) st = run.zmm.open(user.root, user.flags_file());
  if (st) st = run.check.open(user.root, user.check_file());
  if (!st) {
    fail_user(user, st);
    run.stream_status = st;
  }
  if (run.stream_status) create_tags(run);
  convert_folders(run, jobs, inv, plan, log);
  std::vector<ZimbraRun> runs;
  const ZimbraImportPlan import = import_plan(run, jobs, runs);
  commit_archive(run, import, runs);
  if (!run.stream_status) {
    run.archive.abort();
    run.zmm.abort();
    run.check.abort();
    if (st && !run.source_changed) fail_user(user, run.stream_status);
    // Nothing of this user's archive exists: what was counted as written was not.
    for (std::size_t j : user.jobs) {
      ConvertFolder& f = jobs[j].out;
      if (jobs[j].orphans_of) {
        f.count.orphans_quarantined += f.count.orphans_recovered;
        f.count.orphans_recovered = 0;
      }
      count_not_converted(f, f.count.written + f.count.repaired);
      f.count.written = f.count.repaired = 0;
      f.bytes_written = 0;
    }
  } else if (run.sync()) {
    if (auto s = sync_directory(user.root); !s) fail_user(user, s);
  }
  // Files output_owner does not know by name: incremental runs' archives and flag files, every
  // run's further parts and flag checks.
  std::vector<std::string> run_files;
  for (const auto& r : runs) {
    const auto parts = zimbra_run_archives(r);
    run_files.insert(run_files.end(), parts.begin() + (r.number == 1 ? 1 : 0), parts.end());
    if (r.number > 1) run_files.push_back(r.flags);
    run_files.push_back(zimbra_flag_check_name(r.number));
  }
  apply_output_owner(opt.owner, user.owner, user.root, user.findings, run_files);  // --owner (converter/convert/output_owner.h)
}

}  // namespace cyrconv
