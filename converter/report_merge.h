#pragma once
// `cyrconv report merge`: the convert reports of one plan's shards joined into the report a
// single convert of the whole store writes (users in sorted order, totals added up, findings
// kept, store-level findings once), and their rename maps into one rename-map.tsv. Refuses
// reports of another plan, other inputs or options, a shard given twice, a missing shard, and a
// user two shards claim. Works on the JSON documents: it reads what writers/convert_report.cpp
// wrote and never the store.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "converter/shard_plan.h"

namespace cyrconv {

// What a shard's convert report carries besides the convert report (key "shard").
struct ShardStamp {
  std::string plan_id;
  std::size_t shard = 0, shards = 0;
  std::vector<std::string> users;
  std::string rename_map;  // absolute path of the shard's rename map
};
// `report_json` (convert_report_json's output) with the stamp added as its last key.
std::string stamp_shard_report(std::string_view report_json, const ShardStamp& stamp);

struct ShardReportText {
  std::string file;  // for messages
  std::string text;
};

struct MergedReport {
  std::string error;  // non-empty: refused, nothing else is set
  std::string json;   // the merged report
  std::vector<std::string> rename_maps;  // per shard, from its stamp
  std::uint64_t users = 0, folders = 0, messages = 0, errors = 0, warnings = 0;
  bool problems = false;  // what convert's exit status 1 means, for the whole run
};
MergedReport merge_shard_reports(const ShardPlan& plan, const std::vector<ShardReportText>& reports);

// The shards' rename maps (index = shard) into one, user blocks in the order a single convert
// writes them. Refuses a line for a user the plan gives to another shard.
struct MergedRenameMap {
  std::string error;
  std::string text;
};
MergedRenameMap merge_rename_maps(const ShardPlan& plan, const std::vector<ShardReportText>& maps);

}  // namespace cyrconv
