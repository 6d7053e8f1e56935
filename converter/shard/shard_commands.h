#pragma once
// The command-line side of shard plans (README "Many machines"): `cyrconv plan`, the shard part
// of `convert --plan FILE --shard K`, and `cyrconv report merge`. cli.cpp parses the options and
// calls these; the logic is in shard_plan.h and report_merge.h. Each returns an exit status
// (cli.h) and prints its own one-line errors.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "converter/convert/convert.h"
#include "converter/source/discover.h"
#include "converter/report/report_merge.h"

namespace cyrconv {

struct PlanRequest {
  std::size_t shards = 0;
  std::string out;  // the plan file
  // convert's --split-bytes / --split-messages: a bigger mail folder is cut into UID ranges,
  // each a unit of its own (0 and 0: folders are never split).
  std::uint64_t split_bytes = 256ull << 20;
  std::uint64_t split_messages = 20000;
  int io_depth = 1;  // --io-depth for the walk and the index reads (NFS)
};
int run_plan_command(const SourceInputs& inputs, const PlanRequest& request, int threads);

struct ShardRequest {
  std::string plan_file;  // --plan; empty: not a shard run
  std::string shard;      // --shard K
  bool shard_given = false;
};
// Restricts `options` to shard K's users (and, as guests, the owners of the UID ranges it holds)
// and its own rename map after checking that the plan fits these inputs, this store and this
// cyrconv; sets `stamp` for the report. Returns an exit status when the run must stop here (a
// refusal, or a shard the plan gives nothing).
std::optional<int> prepare_shard_run(const SourceInputs& inputs, const ShardRequest& request, ConvertOptions& options,
                                     std::optional<ShardStamp>& stamp);

struct MergeRequest {
  std::string plan_file;
  std::string out;         // the merged report
  std::string rename_map;  // "" : do not join the rename maps
  std::vector<std::string> reports;
};
int run_report_merge_command(const MergeRequest& request);

}  // namespace cyrconv
