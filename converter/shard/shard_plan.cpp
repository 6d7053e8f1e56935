// Shard plans (shard_plan.h; README "Many machines: shard plans").
#include "converter/shard/shard_plan.h"

#include "parsers/hex.h"
#include "parsers/sha1.h"
#include "parsers/utf8.h"

#include <tbb/global_control.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <stdexcept>

#include "converter/source/inventory.h"
#include "converter/source/io_fanout.h"
#include "converter/plan/plan_names.h"

namespace cyrconv {

namespace {

using nlohmann::ordered_json;

ordered_json dirs_json(const std::vector<std::pair<std::string, std::string>>& dirs) {
  ordered_json a = ordered_json::array();
  for (const auto& [name, dir] : dirs) a.push_back(ordered_json{{"name", name}, {"dir", dir}});
  return a;
}

ordered_json inputs_json(const ShardPlan& p) {
  return ordered_json{{"partitions", dirs_json(p.partitions)},
                      {"archive_partitions", dirs_json(p.archive_partitions)},
                      {"config", p.config_dir.empty() ? ordered_json(nullptr) : ordered_json(p.config_dir)}};
}

ordered_json unit_json(const PlanUnit& u, std::size_t shard) {
  if (u.is_range())
    return ordered_json{{"user", u.user},         {"folder", u.folder},       {"range", u.range},
                        {"ranges", u.ranges},     {"first_uid", u.first_uid}, {"last_uid", u.last_uid},
                        {"bytes", u.bytes},       {"messages", u.messages},   {"shard", shard}};
  return ordered_json{{"user", u.user}, {"shard", shard}, {"bytes", u.bytes}, {"messages", u.messages},
                      {"folders", u.folders}};
}

constexpr int plan_schema_version = 2;

// What the id covers: everything the shards depend on. The per-shard summary is derived from it.
std::string id_content(const ShardPlan& p) {
  ordered_json j{{"tool_version", p.tool_version},
                 {"inputs", inputs_json(p)},
                 {"store", ordered_json{{"mailboxes", p.mailboxes}, {"fingerprint", p.store_fingerprint}}},
                 {"shards", p.shards.size()}};
  ordered_json units = ordered_json::array();
  for (std::size_t i = 0; i < p.units.size(); ++i) units.push_back(unit_json(p.units[i], p.shard_of[i]));
  j["units"] = std::move(units);
  return j.dump();
}

std::vector<std::pair<std::string, std::string>> dir_strings(
    const std::vector<std::pair<std::string, std::filesystem::path>>& dirs) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [name, dir] : dirs) out.emplace_back(name, dir.string());
  std::sort(out.begin(), out.end());  // the order options were given in does not matter
  return out;
}

std::string describe_dirs(const std::vector<std::pair<std::string, std::string>>& dirs) {
  if (dirs.empty()) return "none";
  std::string s;
  for (const auto& [name, dir] : dirs) s += (s.empty() ? "" : ", ") + name + "=" + dir;
  return s;
}

// Strict: digits only, no sign or blanks, small enough to be an index.
std::optional<std::size_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  std::size_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  return v;
}

}  // namespace

std::vector<std::size_t> balance_units(const std::vector<PlanUnit>& units, std::size_t shards) {
  std::vector<std::size_t> order(units.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (units[a].bytes != units[b].bytes) return units[a].bytes > units[b].bytes;
    if (units[a].user != units[b].user) return units[a].user < units[b].user;
    if (units[a].folder != units[b].folder) return units[a].folder < units[b].folder;
    return units[a].range < units[b].range;
  });
  std::vector<std::uint64_t> load(std::max<std::size_t>(shards, 1), 0);
  std::vector<std::size_t> shard_of(units.size(), 0);
  for (std::size_t i : order) {
    // min_element returns the first minimum: equal loads go to the lowest shard number.
    const auto least = std::min_element(load.begin(), load.end());
    shard_of[i] = static_cast<std::size_t>(least - load.begin());
    *least += units[i].bytes;
  }
  return shard_of;
}

std::uint64_t ShardPlan::total_bytes() const {
  std::uint64_t t = 0;
  for (const auto& s : shards) t += s.bytes;
  return t;
}

double ShardPlan::imbalance() const {
  const std::uint64_t total = total_bytes();
  if (shards.empty() || total == 0) return 1.0;
  std::uint64_t largest = 0;
  for (const auto& s : shards) largest = std::max(largest, s.bytes);
  return static_cast<double>(largest) * static_cast<double>(shards.size()) / static_cast<double>(total);
}

ShardPlan assemble_shard_plan(const SourceInputs& inputs, std::string tool_version, std::string fingerprint,
                              std::uint64_t mailboxes, std::vector<PlanUnit> units, std::size_t shards,
                              std::vector<std::size_t> shard_of) {
  ShardPlan p;
  p.tool_version = std::move(tool_version);
  p.partitions = dir_strings(inputs.partitions);
  p.archive_partitions = dir_strings(inputs.archive_partitions);
  if (inputs.config_dir) p.config_dir = inputs.config_dir->string();
  p.store_fingerprint = std::move(fingerprint);
  p.mailboxes = mailboxes;
  p.shard_of = shard_of.empty() ? balance_units(units, shards) : std::move(shard_of);
  p.units = std::move(units);
  p.shards.resize(std::max<std::size_t>(shards, 1));
  for (std::size_t i = 0; i < p.units.size(); ++i) {
    PlanShard& s = p.shards.at(p.shard_of[i]);
    if (p.units[i].is_range())
      s.ranges.push_back(i);
    else
      s.users.push_back(p.units[i].user);
    s.bytes += p.units[i].bytes;
    s.messages += p.units[i].messages;
    s.folders += p.units[i].folders;
  }
  for (auto& s : p.shards) std::sort(s.users.begin(), s.users.end());
  p.id = to_hex(sha1(id_content(p)));
  return p;
}

std::string store_fingerprint(const Discovery& d) {
  std::vector<std::string> lines;
  for (const auto& mb : d.mailboxes)
    lines.push_back(mb.name.internal() + '\t' + std::to_string(static_cast<int>(mb.kind)) + '\t' + mb.partition +
                    '\t' + mb.dir.string() + '\t' + mb.unique_id + '\t' + (mb.deleted ? "D" : "-") +
                    (mb.on_disk ? "F" : "-") + '\n');
  std::sort(lines.begin(), lines.end());  // a name found twice may come in either order
  std::string all;
  for (const auto& l : lines) all += l;
  return to_hex(sha1(all));
}

std::vector<UidRangeCut> cut_uid_ranges(const std::vector<std::pair<std::uint32_t, std::uint64_t>>& uid_size,
                                        std::uint64_t split_bytes, std::uint64_t split_messages) {
  // converter/convert/convert.cpp convert_folder's `cuts`, over UIDs instead of item indices.
  std::vector<UidRangeCut> out(1);
  std::uint64_t bytes = 0, count = 0;
  for (std::size_t i = 0; i < uid_size.size(); ++i) {
    const bool full = (split_bytes && bytes >= split_bytes) || (split_messages && count >= split_messages);
    if (full && count > 0 && uid_size[i].first != uid_size[i - 1].first) {
      out.back().last_uid = uid_size[i].first - 1;
      out.push_back(UidRangeCut{uid_size[i].first, 0xFFFFFFFFu, 0, 0});
      bytes = count = 0;
    }
    bytes += uid_size[i].second;
    ++count;
    out.back().bytes += uid_size[i].second;
    ++out.back().messages;
  }
  return out;
}

StoreUnits read_store_units(const SourceInputs& inputs, int threads, std::uint64_t split_bytes,
                            std::uint64_t split_messages, int io_depth) {
  std::optional<tbb::global_control> limit;
  if (threads > 0) limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  StoreUnits s;
  const Discovery disc = discover(inputs, io_depth);
  s.fingerprint = store_fingerprint(disc);
  s.mailboxes = disc.mailboxes.size();
  s.findings = disc.findings;

  // Exactly the folders a convert of everyone writes, in its order (plan_names.h).
  std::vector<const MailboxRef*> selected;
  bool any_deleted = false;
  for (const auto& mb : disc.mailboxes) {
    any_deleted = any_deleted || mb.deleted;
    if (selected_for_conversion(mb, {})) selected.push_back(&mb);
  }
  // Counts only: the records themselves are dropped at once, so memory stays flat.
  std::vector<std::uint64_t> bytes(selected.size()), messages(selected.size());
  std::vector<std::vector<UidRangeCut>> cuts(selected.size());
  const bool may_split = split_bytes || split_messages;
  for_each_io(io_depth, selected.size(), [&](std::size_t i) {
    // Mail folders with a name a JSON plan carries unchanged may be split (DAV collections are
    // exported whole, and the engine splits mail folders only).
    const bool split = may_split && selected[i]->kind == MailboxKind::email && valid_utf8(selected[i]->name.internal());
    std::vector<std::pair<std::uint32_t, std::uint64_t>> uid_size;  // 16 bytes a message, only to split
    InventoryOptions walk;
    walk.keep_records = false;
    if (split) walk.each_live = [&](const IndexRecord& r) { uid_size.emplace_back(r.uid, r.size); };
    const MailboxInventory inv = inventory_mailbox(*selected[i], SeenState{}, walk);
    bytes[i] = inv.bytes;
    messages[i] = inv.live_count;
    if (!split) return;
    std::stable_sort(uid_size.begin(), uid_size.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    if (auto c = cut_uid_ranges(uid_size, split_bytes, split_messages); c.size() > 1) cuts[i] = std::move(c);
  });
  std::vector<std::vector<PlanUnit>> ranges_of;  // per user unit
  std::map<std::string, std::size_t> unit_of;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::string owner = selected[i]->name.owner();
    auto [it, fresh] = unit_of.emplace(owner, s.units.size());
    if (fresh) {
      s.units.push_back(PlanUnit{owner, 0, 0, 0});
      ranges_of.emplace_back();
    }
    PlanUnit& u = s.units[it->second];
    ++u.folders;  // a split folder's entry (extras, special-use) stays with its owner
    if (cuts[i].empty()) {
      u.bytes += bytes[i];
      u.messages += messages[i];
      continue;
    }
    for (std::size_t r = 0; r < cuts[i].size(); ++r) {
      PlanUnit ru{owner, cuts[i][r].bytes, cuts[i][r].messages, 0};
      ru.folder = selected[i]->name.internal();
      ru.range = r;
      ru.ranges = cuts[i].size();
      ru.first_uid = cuts[i][r].first_uid;
      ru.last_uid = cuts[i][r].last_uid;
      ranges_of[it->second].push_back(std::move(ru));
    }
  }
  // Each user's range units right after its own unit.
  std::vector<PlanUnit> all;
  for (std::size_t k = 0; k < s.units.size(); ++k) {
    all.push_back(std::move(s.units[k]));
    for (auto& ru : ranges_of[k]) all.push_back(std::move(ru));
  }
  s.units = std::move(all);
  // DELETED folders are listed (not converted) under "" by a single convert: one unit holds them.
  if (any_deleted && !unit_of.count("")) s.units.push_back(PlanUnit{"", 0, 0, 0});
  for (const auto& u : s.units)
    if (!valid_utf8(u.user)) s.unplannable_users.push_back(u.user);
  return s;
}

std::string shard_plan_json(const ShardPlan& p) {
  ordered_json j;
  j["schema"] = "cyrconv-shard-plan";
  j["schema_version"] = plan_schema_version;
  j["plan_id"] = p.id;
  j["tool_version"] = p.tool_version;
  j["inputs"] = inputs_json(p);
  j["store"] = ordered_json{{"mailboxes", p.mailboxes}, {"fingerprint", p.store_fingerprint}};
  std::uint64_t messages = 0, folders = 0;
  for (const auto& u : p.units) {
    messages += u.messages;
    folders += u.folders;
  }
  j["totals"] = ordered_json{{"units", p.units.size()}, {"bytes", p.total_bytes()}, {"messages", messages},
                             {"folders", folders}};
  j["imbalance"] = p.imbalance();
  ordered_json shards = ordered_json::array();
  for (std::size_t k = 0; k < p.shards.size(); ++k) {
    const PlanShard& s = p.shards[k];
    ordered_json ranges = ordered_json::array();
    for (std::size_t i : s.ranges)
      ranges.push_back(ordered_json{{"user", p.units[i].user}, {"folder", p.units[i].folder}, {"range", p.units[i].range}});
    shards.push_back(ordered_json{{"shard", k}, {"bytes", s.bytes}, {"messages", s.messages}, {"folders", s.folders},
                                  {"users", s.users}, {"ranges", std::move(ranges)}});
  }
  j["shards"] = std::move(shards);
  ordered_json units = ordered_json::array();
  for (std::size_t i = 0; i < p.units.size(); ++i) units.push_back(unit_json(p.units[i], p.shard_of[i]));
  j["units"] = std::move(units);
  return j.dump(2) + "\n";
}

Result<ShardPlan> parse_shard_plan(std::string_view text, std::string_view file) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return parse_error(file, 0, "not JSON: not a cyrconv shard plan");
  try {
    if (j.value("schema", "") != "cyrconv-shard-plan")
      return parse_error(file, 0, "not a cyrconv shard plan (no \"schema\": \"cyrconv-shard-plan\")");
    if (j.at("schema_version") != plan_schema_version)
      return parse_error(file, 0, "shard plan schema version " + j.at("schema_version").dump() + "; this cyrconv reads version " +
                                      std::to_string(plan_schema_version) +
                                      " (UID ranges of split folders): make the plan again with this cyrconv");
    SourceInputs inputs;
    for (const auto& d : j.at("inputs").at("partitions"))
      inputs.partitions.emplace_back(d.at("name").get<std::string>(), d.at("dir").get<std::string>());
    for (const auto& d : j.at("inputs").at("archive_partitions"))
      inputs.archive_partitions.emplace_back(d.at("name").get<std::string>(), d.at("dir").get<std::string>());
    if (!j.at("inputs").at("config").is_null()) inputs.config_dir = j.at("inputs").at("config").get<std::string>();
    const std::size_t shards = j.at("shards").size();
    if (shards == 0) return parse_error(file, 0, "the plan has no shards");
    std::vector<PlanUnit> units;
    std::vector<std::size_t> shard_of;
    std::map<std::string, int> seen;
    // Per split folder: its ranges in order, which must cover every UID exactly once.
    std::map<std::pair<std::string, std::string>, std::vector<const PlanUnit*>> folders;
    for (const auto& u : j.at("units")) {
      PlanUnit pu{u.at("user").get<std::string>(), u.at("bytes").get<std::uint64_t>(),
                  u.at("messages").get<std::uint64_t>(), 0};
      std::string key = pu.user;
      if (u.contains("range")) {
        pu.folder = u.at("folder").get<std::string>();
        pu.range = u.at("range").get<std::size_t>();
        pu.ranges = u.at("ranges").get<std::size_t>();
        pu.first_uid = u.at("first_uid").get<std::uint32_t>();
        pu.last_uid = u.at("last_uid").get<std::uint32_t>();
        if (pu.ranges < 2 || pu.range >= pu.ranges)
          return parse_error(file, 0, "folder \"" + pu.folder + "\": range " + std::to_string(pu.range) + " of " +
                                          std::to_string(pu.ranges));
        key += '\0' + pu.folder + '\0' + std::to_string(pu.range);
      } else {
        pu.folders = u.at("folders").get<std::uint64_t>();
      }
      const auto k = u.at("shard").get<std::size_t>();
      if (k >= shards)
        return parse_error(file, 0, "unit \"" + pu.user + "\" names shard " + std::to_string(k) + " of " +
                                        std::to_string(shards));
      if (seen[key]++)
        return parse_error(file, 0, "user \"" + pu.user + "\"" + (pu.is_range() ? " folder \"" + pu.folder + "\" range " + std::to_string(pu.range) : std::string()) +
                                        " is listed twice");
      units.push_back(std::move(pu));
      shard_of.push_back(k);
    }
    for (const auto& u : units)
      if (u.is_range()) folders[{u.user, u.folder}].push_back(&u);
    for (auto& [key, list] : folders) {
      std::sort(list.begin(), list.end(), [](const PlanUnit* a, const PlanUnit* b) { return a->range < b->range; });
      bool whole = !seen.count(key.first) ? false : list.size() == list.front()->ranges;
      for (std::size_t r = 0; whole && r < list.size(); ++r)
        whole = list[r]->range == r && list[r]->ranges == list.size() &&
                list[r]->first_uid == (r == 0 ? 1u : list[r - 1]->last_uid + 1) && list[r]->first_uid <= list[r]->last_uid;
      if (!whole || list.back()->last_uid != 0xFFFFFFFFu)
        return parse_error(file, 0, "folder \"" + key.second + "\" of user \"" + key.first +
                                        "\": its UID ranges do not cover every UID once, or its user has no unit");
    }
    ShardPlan p = assemble_shard_plan(inputs, j.at("tool_version").get<std::string>(),
                                      j.at("store").at("fingerprint").get<std::string>(),
                                      j.at("store").at("mailboxes").get<std::uint64_t>(), std::move(units), shards,
                                      std::move(shard_of));
    // The id covers the content, and the summary follows from it: any edit shows.
    if (nlohmann::json::parse(shard_plan_json(p)) != j)
      return parse_error(file, 0, "the plan's content does not match its plan_id (edited or damaged): "
                                  "make a new one with cyrconv plan");
    return p;
  } catch (const nlohmann::json::exception& e) {
    return parse_error(file, 0, std::string("not a valid cyrconv shard plan: ") + e.what());
  }
}

std::string plan_input_mismatch(const ShardPlan& plan, const SourceInputs& inputs) {
  const auto parts = dir_strings(inputs.partitions);
  const auto archives = dir_strings(inputs.archive_partitions);
  const std::string config = inputs.config_dir ? inputs.config_dir->string() : std::string();
  std::string why;
  if (parts != plan.partitions)
    why = "partitions " + describe_dirs(parts) + ", the plan's " + describe_dirs(plan.partitions);
  else if (archives != plan.archive_partitions)
    why = "archive partitions " + describe_dirs(archives) + ", the plan's " + describe_dirs(plan.archive_partitions);
  else if (config != plan.config_dir)
    why = "--config " + (config.empty() ? "none" : config) + ", the plan's " +
          (plan.config_dir.empty() ? "none" : plan.config_dir);
  if (why.empty()) return {};
  return "the plan was made for other inputs (this run: " + why +
         "): give every shard the --spool, --partition, --archive-partition and --config the plan was made with, "
         "at the same paths";
}

std::string plan_store_mismatch(const ShardPlan& plan, const Discovery& discovery) {
  if (store_fingerprint(discovery) == plan.store_fingerprint) return {};
  return "the store is not the one the plan was made from (" + std::to_string(plan.mailboxes) +
         " mailboxes then, " + std::to_string(discovery.mailboxes.size()) +
         " now, or mailboxes added, removed or moved): make a new plan for this snapshot";
}

ShardChoice choose_shard(const std::optional<std::string>& given, const char* slurm, const char* k8s,
                         std::size_t shards) {
  ShardChoice c;
  std::string text;
  if (given) {
    c.source = "--shard";
    text = *given;
  } else if (slurm) {
    c.source = "SLURM_ARRAY_TASK_ID";
    text = slurm;
  } else if (k8s) {
    c.source = "JOB_COMPLETION_INDEX";
    text = k8s;
  } else {
    c.error = "no shard given: use --shard K, or run as a Slurm array task (SLURM_ARRAY_TASK_ID) or a Kubernetes "
              "indexed Job (JOB_COMPLETION_INDEX)";
    return c;
  }
  const auto k = parse_index(text);
  if (!k) {
    c.error = c.source + " is \"" + text + "\", not a shard number (0, 1, 2, ...)";
    return c;
  }
  c.index = *k;
  if (*k >= shards)
    c.error = "shard " + std::to_string(*k) + " (from " + c.source + ") is out of range: the plan has " +
              std::to_string(shards) + " shard(s), numbered 0 to " + std::to_string(shards - 1) +
              " (a Slurm array must be 0-based: --array=0-" + std::to_string(shards - 1) + ")";
  return c;
}

std::string shard_rename_map_name(std::size_t shard) { return "rename-map.shard-" + std::to_string(shard) + ".tsv"; }

}  // namespace cyrconv
