#pragma once
// `cyrconv plan` and `convert --plan FILE --shard K`: one store cut into N shards of whole users,
// balanced by bytes, so that the schedulers sites already run (Slurm arrays, Kubernetes indexed
// Jobs, GNU parallel) can spread a conversion over machines. cyrconv runs no cluster of its own.
//
// A user is never split: all of one user's folders are named at once (README "Folder names"),
// and the engine cuts a big mailbox into UID ranges across one machine's cores only (convert's
// --split-bytes), so one huge user bounds the balance (the plan prints the imbalance). The plan file names its
// inputs and a fingerprint of the store's mailbox list; a shard run on anything else is refused.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "converter/discover.h"
#include "parsers/parse_result.h"

namespace cyrconv {

// One unit of work: one user's folders, or (user "") the shared folders together with the
// DELETED hierarchy, which a single convert also reports under "".
struct PlanUnit {
  std::string user;
  std::uint64_t bytes = 0, messages = 0, folders = 0;
};

// Greedy longest-processing-time first: units by bytes, largest first (equal bytes: by user
// name), each to the least-loaded shard so far (equal loads: the lowest shard number). The
// result depends on nothing but its arguments. Returns the shard of every unit, parallel to
// `units`; `shards` must be at least 1.
std::vector<std::size_t> balance_units(const std::vector<PlanUnit>& units, std::size_t shards);

struct PlanShard {
  std::vector<std::string> users;  // byte-wise sorted
  std::uint64_t bytes = 0, messages = 0, folders = 0;
};

struct ShardPlan {
  std::string tool_version;
  std::vector<std::pair<std::string, std::string>> partitions;          // name, absolute dir
  std::vector<std::pair<std::string, std::string>> archive_partitions;  // name, absolute dir
  std::string config_dir;         // "" when none was given
  std::string store_fingerprint;  // store_fingerprint() of the discovery
  std::uint64_t mailboxes = 0;    // discovered, DELETED ones included
  std::vector<PlanUnit> units;    // in the order a single convert meets their users
  std::vector<std::size_t> shard_of;  // per unit
  std::vector<PlanShard> shards;
  std::string id;                 // SHA-1 (hex) of everything above: one plan, one id

  std::uint64_t total_bytes() const;
  double imbalance() const;       // largest shard's bytes / mean shard bytes; 1 without bytes
};

// Builds the plan from its parts; `shard_of` empty: balance_units decides.
ShardPlan assemble_shard_plan(const SourceInputs& inputs, std::string tool_version, std::string fingerprint,
                              std::uint64_t mailboxes, std::vector<PlanUnit> units, std::size_t shards,
                              std::vector<std::size_t> shard_of = {});

// The store side: discover, then inventory every mailbox convert would write (index headers
// and directory listings only; no message file is read). Units in single-convert order.
struct StoreUnits {
  std::vector<PlanUnit> units;
  std::string fingerprint;
  std::uint64_t mailboxes = 0;
  std::vector<Finding> findings;  // discovery findings, for the admin's attention
  // Owners whose names are not UTF-8: a JSON plan cannot carry them unchanged, so no plan is made.
  std::vector<std::string> unplannable_users;
};
StoreUnits read_store_units(const SourceInputs& inputs, int threads);

// SHA-1 over the discovered mailbox list (name, kind, partition, directory, unique id, DELETED,
// on disk; sorted, so the walk's order does not matter): equal for the same snapshot, different
// once a mailbox is added, removed or moved.
std::string store_fingerprint(const Discovery& discovery);

std::string shard_plan_json(const ShardPlan& plan);
// Refuses a plan of another schema version or one whose content no longer matches its id.
Result<ShardPlan> parse_shard_plan(std::string_view text, std::string_view file);

// "" when the plan was made from these inputs; else a sentence saying what differs.
std::string plan_input_mismatch(const ShardPlan& plan, const SourceInputs& inputs);
// "" when `discovery` (of the same inputs) finds the store the plan was made from.
std::string plan_store_mismatch(const ShardPlan& plan, const Discovery& discovery);

// Which shard this process converts: `given` (--shard) when present, else the environment's
// SLURM_ARRAY_TASK_ID, else JOB_COMPLETION_INDEX (pass null for unset variables). Indices are
// 0-based and must be below `shards`.
struct ShardChoice {
  std::size_t index = 0;
  std::string source;  // "--shard", "SLURM_ARRAY_TASK_ID" or "JOB_COMPLETION_INDEX"
  std::string error;   // non-empty: no usable index
};
ShardChoice choose_shard(const std::optional<std::string>& given, const char* slurm_array_task_id,
                         const char* job_completion_index, std::size_t shards);

// The rename map one shard writes into the output root (never the whole run's rename-map.tsv).
std::string shard_rename_map_name(std::size_t shard);

}  // namespace cyrconv
