// Shard plan commands (shard_commands.h; README "Many machines").
#include "converter/shard/shard_commands.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>
#include <set>

#include "converter/convert/carry_extras.h"
#include "converter/cli/cli.h"
#include "converter/convert/keyword_commands.h"
#include "converter/plan/output_layout.h"
#include "converter/convert/range_parts.h"
#include "converter/shard/shard_plan.h"
#include "writers/maildirsize.h"
#include "writers/output_file.h"
#include "writers/report_json.h"

#ifndef CYRCONV_VERSION
#define CYRCONV_VERSION "0.0.0"
#endif

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

int fail_input(const std::string& message) {
  std::cerr << "cyrconv: " << message << "\n";
  return exit_input_unusable;
}

int fail_usage(const std::string& message) {
  std::cerr << "cyrconv: " << message << "\n";
  return exit_usage;
}

std::optional<std::string> read_whole_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return std::nullopt;
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) return std::nullopt;
  return text.str();
}

std::string user_list(const std::vector<std::string>& users, std::size_t at_most) {
  std::string s;
  for (std::size_t i = 0; i < users.size() && i < at_most; ++i)
    s += (i ? ", " : "") + (users[i].empty() ? std::string("(shared folders)") : users[i]);
  if (users.size() > at_most) s += ", ... " + std::to_string(users.size() - at_most) + " more";
  return s;
}

// A single run counts the X-IMAPbase line of a folder's first message as written; a join that
// put it in adds it to the folder and the totals.
void add_bytes_written(nlohmann::ordered_json& j, const std::string& user, const std::string& folder,
                       std::uint64_t bytes) {
  for (auto& u : j.at("users")) {
    if (u.at("user").get<std::string>() != user) continue;
    for (auto& f : u.at("folders"))
      if (f.value("name_raw", "") == folder && f.value("action", "") == "mail_folder")
        f["bytes_written"] = f.value("bytes_written", std::uint64_t{0}) + bytes;
  }
  j["totals"]["bytes_written"] = j["totals"].value("bytes_written", std::uint64_t{0}) + bytes;
}

// A Maildir user with a split folder got its maildirsize (and the report its quota usage) from
// its owner shard, before the other shards' ranges were there: counted again once joined.
void recount_quota_usage(nlohmann::ordered_json& j, const fs::path& out_root, const std::set<std::string>& users,
                         std::vector<std::string>& errors) {
  if (j.value("format", "") != "maildir") return;
  for (auto& u : j.at("users")) {
    if (!users.count(u.at("user").get<std::string>())) continue;
    for (auto& q : u.at("extras").at("quota")) {
      if (q.value("note", "") == "no quota record found for this root") continue;  // usage not counted
      std::uint64_t bytes = 0, count = 0;
      maildir_usage(out_root / u.at("output").get<std::string>() / "Maildir", bytes, count);
      q["used_bytes"] = bytes;
      q["used_messages"] = count;
      const std::string file = q.value("file", "");
      if (file.empty()) continue;
      const auto limit = [&](const char* key, std::uint64_t scale) {
        return q.at(key).is_null() ? std::nullopt : std::optional<std::uint64_t>(q.at(key).get<std::uint64_t>() * scale);
      };
      const std::string output = u.at("output").get<std::string>();
      const std::string rel = file.substr(std::min(file.size(), output.size() + 1));  // below the user root
      if (auto st = replace_owned_extras_file(
              out_root / output, rel,
              maildirsize(limit("storage_limit_kib", 1024), limit("message_limit", 1), bytes, count), true);
          !st)
        errors.push_back(st.message);
    }
  }
}

// A Maildir user with a split folder got its apply-keywords.sh (and its report finding) from its
// owner shard, before the other shards' ranges (and their manifest lines) were there: written
// again once joined, and the finding counts them all.
void refresh_apply_keywords(nlohmann::ordered_json& j, const fs::path& out_root, const std::set<std::string>& users,
                            std::vector<std::string>& errors) {
  if (j.value("format", "") != "maildir") return;
  for (auto& u : j.at("users")) {
    const std::string name = u.at("user").get<std::string>();
    if (name.empty() || !users.count(name)) continue;
    const fs::path root = out_root / u.at("output").get<std::string>();
    std::vector<KeywordFolder> folders;
    for (const auto& f : u.at("folders")) {
      if (f.value("action", "") != "mail_folder" || f.value("output", "").empty()) continue;
      FolderNameResult target;
      target.path = f.value("target", "");
      folders.push_back({target.path.empty() ? std::string("INBOX") : target.path, out_root / f.value("output", ""),
                         root / "manifests" / (side_file_name(target) + ".jsonl")});
    }
    std::uint64_t extra = 0;
    for (auto& e : write_apply_keywords(root, name, folders, true, extra)) errors.push_back(std::move(e));
    auto& findings = u.at("findings");
    bool replaced = false;
    for (auto it = findings.begin(); it != findings.end();) {
      if (it->value("kind", "") != keywords_need_doveadm_kind) {
        ++it;
      } else if (extra && !replaced) {
        (*it)["detail"] = keywords_need_doveadm_detail(extra);
        replaced = true;
        ++it;
      } else {
        it = findings.erase(it);
      }
    }
    if (extra && !replaced)
      findings.push_back(finding_json(Finding{Finding::Severity::info, keywords_need_doveadm_kind,
                                              (root / "apply-keywords.sh").string(), 0, 0,
                                              keywords_need_doveadm_detail(extra)}));
  }
}

}  // namespace

std::optional<int> prepare_shard_run(const SourceInputs& inputs, const ShardRequest& c, ConvertOptions& options,
                                     std::optional<ShardStamp>& stamp) {
  if (c.plan_file.empty()) {
    if (c.shard_given) return fail_usage("--shard needs --plan FILE");
    return std::nullopt;
  }
  if (!options.users.empty()) return fail_usage("--users and --plan exclude each other: the plan chooses the users");
  const auto text = read_whole_file(c.plan_file);
  if (!text) return fail_input("--plan: cannot read " + c.plan_file);
  auto parsed = parse_shard_plan(*text, c.plan_file);
  if (!parsed) return fail_input(parsed.error().to_string());
  const ShardPlan& plan = parsed.value();
  const ShardChoice k = choose_shard(c.shard_given ? std::optional<std::string>(c.shard) : std::nullopt,
                                     std::getenv("SLURM_ARRAY_TASK_ID"), std::getenv("JOB_COMPLETION_INDEX"),
                                     plan.shards.size());
  if (!k.error.empty()) return fail_usage(k.error);
  if (plan.tool_version != CYRCONV_VERSION)
    return fail_input("the plan was made by cyrconv " + plan.tool_version + ", this is " + CYRCONV_VERSION +
                      ": make the plan and run every shard with one cyrconv version");
  if (auto why = plan_input_mismatch(plan, inputs); !why.empty()) return fail_input(why);
  if (auto why = plan_store_mismatch(plan, discover(inputs)); !why.empty()) return fail_input(why);
  const PlanShard& shard = plan.shards[k.index];
  std::cout << "cyrconv convert: shard " << k.index << " of " << plan.shards.size() << " (from " << k.source
            << "; plan " << plan.id.substr(0, 12) << "): " << shard.users.size() << " user(s), " << shard.ranges.size()
            << " UID range(s) of split folders, " << shard.bytes << " bytes, " << shard.messages << " messages expected\n";
  if (shard.users.empty() && shard.ranges.empty()) {
    // More shards than units: nothing to do, nothing written; report merge expects no report.
    std::cout << "cyrconv convert: the plan gives this shard nothing: nothing to do\n";
    return exit_ok;
  }
  bool split = false;
  for (const auto& u : plan.units) split = split || u.is_range();
  if (split && options.format == OutputFormat::zimbra_tgz)
    return fail_usage("this plan splits folders into UID ranges, which --format zimbra-tgz does not join: make the plan "
                      "with --split-bytes 0 --split-messages 0");
  if (split && options.on_corrupt == OnCorrupt::fail)
    return fail_usage("this plan splits folders into UID ranges, and --on-corrupt fail stops a folder at its first bad "
                      "message, in UID order: make the plan with --split-bytes 0 --split-messages 0");
  // Every split folder's ranges, with the ones this shard holds; their owners not held here
  // are guests (named, only these ranges converted).
  std::set<std::string> held(shard.users.begin(), shard.users.end());
  for (std::size_t i = 0; i < plan.units.size(); ++i) {
    const PlanUnit& u = plan.units[i];
    if (!u.is_range()) continue;
    auto& ranges = options.plan_ranges[{u.user, u.folder}];
    if (ranges.size() < u.ranges) ranges.resize(u.ranges);
    ranges[u.range] = PlanFolderRange{u.first_uid, u.last_uid, u.bytes, u.messages, plan.shard_of[i] == k.index};
    if (plan.shard_of[i] == k.index && !held.count(u.user)) options.guests.insert(u.user);
  }
  options.users = shard.users;
  for (const auto& g : options.guests) options.users.push_back(g);
  options.rename_map_file = shard_rename_map_name(k.index);
  stamp = ShardStamp{plan.id, k.index, plan.shards.size(), shard.users, (options.out / options.rename_map_file).string()};
  return std::nullopt;
}

int run_plan_command(const SourceInputs& inputs, const PlanRequest& p, int threads) {
  StoreUnits store = read_store_units(inputs, threads, p.split_bytes, p.split_messages, p.io_depth);
  if (store.units.empty()) {
    std::cerr << "cyrconv: no mailboxes found under the given inputs\n";
    return exit_input_unusable;
  }
  if (!store.unplannable_users.empty())
    return fail_input("user names that are not UTF-8 cannot go into a plan (" + std::to_string(store.unplannable_users.size()) +
                      "): convert this store on one machine");
  const ShardPlan plan =
      assemble_shard_plan(inputs, CYRCONV_VERSION, store.fingerprint, store.mailboxes, store.units, p.shards);
  if (auto st = write_small_file(fs::absolute(p.out), shard_plan_json(plan), true); !st) return fail_input(st.message);
  std::uint64_t messages = 0, folders = 0, range_units = 0, split_folders = 0;
  for (const auto& u : plan.units) {
    messages += u.messages;
    folders += u.folders;
    range_units += u.is_range();
    split_folders += u.is_range() && u.range == 0;
  }
  const double total = static_cast<double>(plan.total_bytes());
  std::cout << "cyrconv plan: " << plan.units.size() << " unit(s) (users, shared folders as one, " << range_units
            << " UID range(s) of " << split_folders << " split folder(s)), " << folders << " folders, " << messages
            << " messages, " << plan.total_bytes() << " bytes, in " << plan.shards.size()
            << " shard(s); balanced by bytes, largest unit first\n";
  for (std::size_t k = 0; k < plan.shards.size(); ++k) {
    const PlanShard& s = plan.shards[k];
    std::cout << "  shard " << k << ": " << s.bytes << " bytes";
    if (total > 0) std::cout << " (" << std::fixed << std::setprecision(1) << 100.0 * static_cast<double>(s.bytes) / total << "%)";
    std::cout << ", " << s.messages << " messages, " << s.users.size() << " user(s)";
    if (!s.users.empty()) std::cout << ": " << user_list(s.users, 5);
    if (!s.ranges.empty()) std::cout << "; " << s.ranges.size() << " UID range(s)";
    std::cout << '\n';
  }
  std::cout << "imbalance (largest shard / mean): " << std::fixed << std::setprecision(2) << plan.imbalance()
            << (range_units ? "\n" : "  (no folder above --split-bytes/--split-messages: whole users only)\n");
  std::size_t errors = 0;
  for (const auto& f : store.findings) errors += f.severity == Finding::Severity::error;
  if (errors) std::cout << "note: discovery found " << errors << " error(s); cyrconv scan lists them\n";
  std::cout << "plan " << plan.id.substr(0, 12) << " written to " << p.out << "\n";
  return exit_ok;
}

int run_report_merge_command(const MergeRequest& o) {
  const auto plan_text = read_whole_file(o.plan_file);
  if (!plan_text) return fail_input("--plan: cannot read " + o.plan_file);
  auto parsed = parse_shard_plan(*plan_text, o.plan_file);
  if (!parsed) return fail_input(parsed.error().to_string());
  const ShardPlan& plan = parsed.value();
  // Each report is read entry by entry; the per-message entries wait in a scratch file beside --out.
  std::vector<std::ifstream> files;
  files.reserve(o.reports.size());
  std::vector<ShardReportInput> reports;
  for (const auto& file : o.reports) {
    files.emplace_back(file, std::ios::binary);
    if (!files.back()) return fail_input("cannot read shard report " + file);
    reports.push_back(ShardReportInput{file, &files.back()});
  }
  auto entries = std::make_shared<ReportEntrySpill>();
  if (auto why = entries->open(fs::absolute(o.out).parent_path()); !why.empty())
    std::cerr << "cyrconv: warning: " << why << "; the merge keeps the report entries in memory\n";
  MergedReport merged = merge_shard_report_streams(plan, reports, entries);
  if (!merged.error.empty()) return fail_input(merged.error);
  for (const auto& f : files)
    if (f.bad()) return fail_input("cannot read the shard reports to their end");
  // Split folders: every range's part must be there before anything is joined.
  const fs::path out_root = merged.out;
  for (const auto& f : merged.split_folders) {
    const SplitJoinOutcome c = check_split_parts(out_root, f);
    if (!c.error.empty()) return fail_input("folder \"" + f.folder + "\" of user \"" + f.user + "\": " + c.error);
    if (!c.missing.empty()) {
      std::string which;
      for (std::size_t r : c.missing)
        which += (which.empty() ? "" : ", ") + std::to_string(r) + " (shard " + std::to_string(f.shard_of_range[r]) + ")";
      return fail_input("folder \"" + f.folder + "\" of user \"" + f.user + "\": no part of UID range(s) " + which +
                        " under " + (out_root / f.parts).string() + ": run those shards into this --out first");
    }
  }
  std::size_t joined = 0, joined_before = 0;
  std::vector<std::string> notes;
  for (const auto& f : merged.split_folders) {
    const SplitJoinOutcome j = join_split_folder(out_root, f);
    if (!j.error.empty())
      return fail_input("joining folder \"" + f.folder + "\" of user \"" + f.user + "\": " + j.error +
                        " (the parts are kept: run report merge again)");
    if (!j.note.empty()) notes.push_back("folder \"" + f.folder + "\" of user \"" + f.user + "\": " + j.note);
    joined += j.joined;
    joined_before += j.joined_before;
    if (j.bytes_added) add_bytes_written(merged.tree, f.user, f.folder, j.bytes_added);
  }
  if (!merged.split_folders.empty()) {
    std::set<std::string> users;
    for (const auto& f : merged.split_folders) users.insert(f.user);
    std::vector<std::string> errors;
    recount_quota_usage(merged.tree, out_root, users, errors);
    if (!errors.empty()) return fail_input("maildirsize: " + errors.front());
    refresh_apply_keywords(merged.tree, out_root, users, errors);
    if (!errors.empty()) return fail_input("apply-keywords.sh: " + errors.front());
  }
  if (!o.rename_map.empty()) {
    std::vector<ShardReportText> maps;
    for (const auto& path : merged.rename_maps) {
      if (path.empty()) {  // a shard without users wrote none
        maps.push_back(ShardReportText{path, ""});
        continue;
      }
      auto text = read_whole_file(path);
      if (!text) return fail_input("cannot read the shard rename map " + path);
      maps.push_back(ShardReportText{path, std::move(*text)});
    }
    const MergedRenameMap map = merge_rename_maps(plan, maps);
    if (!map.error.empty()) return fail_input(map.error);
    if (auto st = write_small_file(fs::absolute(o.rename_map), map.text, true); !st) return fail_input(st.message);
  }
  if (auto why = write_merged_report_file(merged, fs::absolute(o.out)); !why.empty()) return fail_input(why);
  std::cout << "cyrconv report merge: " << reports.size() << " shard report(s) of plan " << plan.id.substr(0, 12)
            << ": " << merged.users << " user(s), " << merged.folders << " folders, " << merged.messages
            << " messages; errors: " << merged.errors << ", warnings: " << merged.warnings << "\n"
            << "  written to " << o.out << (o.rename_map.empty() ? "" : " and " + o.rename_map) << "\n";
  if (!merged.split_folders.empty())
    std::cout << "  " << joined << " of " << merged.split_folders.size()
              << " folder(s) split across shards joined from their UID-range parts"
              << (joined_before ? " (" + std::to_string(joined_before) + " joined by an earlier merge)" : std::string())
              << "\n";
  for (const auto& n : notes) std::cout << "  note: " << n << "\n";
  return merged.problems || !notes.empty() ? exit_problems_found : exit_ok;
}

}  // namespace cyrconv
