#pragma once
// `cyrconv report merge`: the convert reports of one plan's shards joined into the report a
// single convert of the whole store writes (users in sorted order, totals added up, findings
// kept, store-level findings once), and their rename maps into one rename-map.tsv. Refuses
// reports of another plan, other inputs or options, a shard given twice, a missing shard, and a
// user two shards claim (except the owner of a split folder, whose other shards report only the
// folder's UID ranges they converted: those entries become the one entry a single run writes).
// Works on the JSON documents: it reads what writers/convert_report.cpp
// wrote and never the store. Each report is read entry by entry and its per-message entries wait
// in a scratch file (report_entry_spill.h) until the merged report streams out: memory grows with
// users and folders, not with messages.
#include <cstdint>
#include <filesystem>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <ostream>

#include <nlohmann/json.hpp>

#include "converter/report/report_entry_spill.h"

#include "converter/shard/shard_plan.h"
#include "writers/convert_report.h"

namespace cyrconv {

// What a shard's convert report carries besides the convert report (key "shard").
struct ShardStamp {
  std::string plan_id;
  std::size_t shard = 0, shards = 0;
  std::vector<std::string> users;
  std::string rename_map;  // absolute path of the shard's rename map
};
// A convert report's JSON, streamed; a shard's (`stamp` given) ends with its "shard" member.
void write_convert_report_file(const ConvertReport& report, const ShardStamp* stamp, std::ostream& out);
// `report_json` (convert_report_json's output) with the stamp added as its last key.
std::string stamp_shard_report(std::string_view report_json, const ShardStamp& stamp);

struct ShardReportText {
  std::string file;  // for messages
  std::string text;
};

// A folder the plan split into UID ranges across shards: its parts wait under `parts`
// (relative to the output root `out`) for the join (range_parts.h).
struct SplitFolderParts {
  std::string user, folder;  // owner, internal name
  std::string parts;
  std::vector<std::size_t> shard_of_range;
};

struct MergedReport {
  std::string error;  // non-empty: refused, nothing else is set
  std::string out;    // the shards' output root
  std::vector<SplitFolderParts> split_folders;
  // The merged report but for its per-message entries: each folder's "messages" holds the
  // numbers of its spans in `entries` (several, in UID-range order, for a folder split across
  // shards). write_merged_report puts the entries in.
  nlohmann::ordered_json tree;
  std::shared_ptr<ReportEntrySpill> entries;
  std::string json;   // the merged report (merge_shard_reports on texts only)
  std::vector<std::string> rename_maps;  // per shard, from its stamp
  std::uint64_t users = 0, folders = 0, messages = 0, errors = 0, warnings = 0;
  bool problems = false;  // what convert's exit status 1 means, for the whole run
};
// The reports as texts, entries kept in memory; sets `json`.
MergedReport merge_shard_reports(const ShardPlan& plan, const std::vector<ShardReportText>& reports);

struct ShardReportInput {
  std::string file;  // for messages
  std::istream* in = nullptr;
};
// The reports read from streams, their entries spilled into `entries` (opened by the caller, or
// not: then they stay in memory); `json` stays empty: write_merged_report writes the report.
MergedReport merge_shard_report_streams(const ShardPlan& plan, const std::vector<ShardReportInput>& reports,
                                        std::shared_ptr<ReportEntrySpill> entries);
// The merged report, byte for byte as one dump(2) of the whole tree with its entries, streamed:
// a folder split across shards gets its parts' entries merged by UID. "" or what failed.
std::string write_merged_report(const MergedReport& merged, std::ostream& out);
// ... into `path`, replaced atomically once complete (nothing is left there on a failure).
std::string write_merged_report_file(const MergedReport& merged, const std::filesystem::path& path);

// The shards' rename maps (index = shard) into one, user blocks in the order a single convert
// writes them. Refuses a line for a user the plan gives to another shard.
struct MergedRenameMap {
  std::string error;
  std::string text;
};
MergedRenameMap merge_rename_maps(const ShardPlan& plan, const std::vector<ShardReportText>& maps);

}  // namespace cyrconv
