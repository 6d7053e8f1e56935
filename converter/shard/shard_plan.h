#pragma once
// `cyrconv plan` and `convert --plan FILE --shard K`: one store cut into N shards of whole users,
// balanced by bytes, so that the schedulers sites already run (Slurm arrays, Kubernetes indexed
// Jobs, GNU parallel) can spread a conversion over machines. cyrconv runs no cluster of its own.
//
// A user's folders are named together (README "Folder names") by the shard that holds the user.
// A mail folder above --split-bytes / --split-messages is cut into UID ranges by the rule the
// engine uses on one machine, and each range is a unit of its own: the shard holding it names
// the owner's folders again (read-only, deterministic) and writes the range as part files that
// `report merge` joins (README "Many machines"). The plan file names its inputs and a
// fingerprint of the store's mailbox list; a shard run on anything else is refused.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "converter/source/discover.h"
#include "parsers/parse_result.h"

namespace cyrconv {

// One unit of work: one user's folders, or (user "") the shared folders together with the
// DELETED hierarchy, which a single convert also reports under "".
// A range unit (ranges > 0) is UID range `range` of `ranges` of one folder (internal name);
// its bounds cover every UID (the first starts at 1, the last ends at 4294967295), so a
// message of a newer snapshot falls in one of them too.
struct PlanUnit {
  PlanUnit(std::string u = {}, std::uint64_t b = 0, std::uint64_t m = 0, std::uint64_t f = 0)
      : user(std::move(u)), bytes(b), messages(m), folders(f) {}
  std::string user;
  std::uint64_t bytes = 0, messages = 0, folders = 0;
  std::string folder;
  std::size_t range = 0, ranges = 0;
  std::uint32_t first_uid = 0, last_uid = 0;
  bool is_range() const { return ranges > 0; }
};

// One folder's records (UID, size) in UID order cut into ranges exactly as convert cuts a big
// folder: records accumulate, and a new range starts at a record when the current one already
// holds `split_bytes` bytes or `split_messages` records (0: no limit) and the record's UID
// differs from the previous one (a duplicate record stays with its predecessor). One range
// when nothing is cut.
struct UidRangeCut {
  std::uint32_t first_uid = 1, last_uid = 0xFFFFFFFFu;
  std::uint64_t bytes = 0, messages = 0;
};
std::vector<UidRangeCut> cut_uid_ranges(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& uid_size,
                                        std::uint64_t split_bytes, std::uint64_t split_messages);

// Greedy longest-processing-time first: units by bytes, largest first (equal bytes: by user
// name, folder, range), each to the least-loaded shard so far (equal loads: the lowest shard number). The
// result depends on nothing but its arguments. Returns the shard of every unit, parallel to
// `units`; `shards` must be at least 1.
std::vector<std::size_t> balance_units(const std::vector<PlanUnit>& units, std::size_t shards);

struct PlanShard {
  std::vector<std::string> users;  // byte-wise sorted: the users whose user unit this shard holds
  std::vector<std::size_t> ranges; // indices of the range units it holds, in unit order
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
// and directory listings only; no message file is read). Units in single-convert order, each
// split folder's range units right after its owner's unit. `split_bytes`/`split_messages`:
// convert's --split-bytes/--split-messages (0 and 0: no folder is split).
struct StoreUnits {
  std::vector<PlanUnit> units;
  std::string fingerprint;
  std::uint64_t mailboxes = 0;
  std::vector<Finding> findings;  // discovery findings, for the admin's attention
  // Owners whose names are not UTF-8: a JSON plan cannot carry them unchanged, so no plan is made.
  std::vector<std::string> unplannable_users;
};
// `io_depth`: --io-depth, as for scan (converter/source/io_fanout.h); the result does not depend on it.
StoreUnits read_store_units(const SourceInputs& inputs, int threads, std::uint64_t split_bytes = 0,
                            std::uint64_t split_messages = 0, int io_depth = 1);

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
