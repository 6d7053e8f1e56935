#pragma once
// The state one `cyrconv convert` run passes from pass to pass (convert.cpp lists the passes).
#include <sys/statvfs.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include "converter/convert/convert.h"
#include "converter/convert/folder_output.h"
#include "converter/convert/journal.h"
#include "converter/convert/run_control.h"
#include "converter/plan/run_prep.h"

namespace cyrconv {

// The file system the output goes to, for the disk-space check: the nearest existing ancestor
// of --out, its statvfs, and the block size every file is rounded up to.
struct OutputSpace {
  std::filesystem::path probe;
  struct statvfs vfs {};
  bool known = false;
  std::uint64_t block = 4096;
  std::uint64_t blocks(std::uint64_t bytes) const { return (bytes + block - 1) / block * block; }
};
OutputSpace probe_output_space(const std::filesystem::path& out);

struct ConvertRun {
  ConvertRun(const SourceInputs& i, const ConvertOptions& o) : inputs(i), opt(o), report(new_convert_report(i, o)) {}
  const SourceInputs& inputs;
  const ConvertOptions& opt;
  ConvertReport report;
  OutputSpace space;
  RunPreparation prep;
  std::vector<UserPlan> users;
  std::vector<FolderJob> jobs;
  std::vector<std::size_t> order;            // into jobs: largest first
  std::vector<bool> user_refused;            // an earlier output made with other options
  JournalOptions journal_options;
  RunControl control;

  // A guest of a shard (ConvertOptions::guests) gets only its folders with ranges in the plan.
  bool guest(std::size_t u) const { return opt.guests.count(users[u].owner) > 0; }
  // The shard plan's ranges of a job's folder, or null when the plan does not split it.
  const std::vector<PlanFolderRange>* plan_ranges_of(const FolderJob& job) const;
};

// Passes after the plan (convert_checks.cpp): refuse users whose output was made with other
// options; follow the source's changes in earlier output; check the disk space.
void refuse_changed_options(ConvertRun& r);
void follow_source_changes(ConvertRun& r);
bool check_disk_space(ConvertRun& r);  // false: refused (a finding says why)

// Finish (convert_finish.cpp): root uidlists, subscriptions, keyword commands, extras, owner,
// rename map; then the report.
void write_user_files(ConvertRun& r);
void write_rename_map(ConvertRun& r);
void note_stop(ConvertRun& r);       // after the conversion pass: a full disk or a signal
void note_interrupt(ConvertRun& r);  // a signal (again before the report: one during the finish)
ConvertReport dry_run_report(ConvertRun& r, bool space_short);
ConvertReport final_report(ConvertRun& r);

}  // namespace cyrconv
