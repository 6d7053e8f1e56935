// Joining shard reports and rename maps (report_merge.h; README "Many machines: shard plans").
#include "converter/report/report_merge.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "converter/plan/rename_map.h"
#include "converter/report/shard_report_reader.h"

namespace cyrconv {

namespace {

using nlohmann::ordered_json;

std::string dump(const ordered_json& j) {
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Keys that differ from shard to shard; every other key must be equal in all reports.
bool per_shard_key(const std::string& key) {
  return key == "findings" || key == "users" || key == "totals" || key == "seconds" || key == "shard";
}

const std::string not_complete = "a shard report is not a complete convert report: ";

std::string short_id(const std::string& id) { return id.substr(0, 12); }

std::map<std::string, std::size_t> unit_index(const ShardPlan& plan) {
  std::map<std::string, std::size_t> out;
  for (std::size_t i = 0; i < plan.units.size(); ++i)
    if (!plan.units[i].is_range()) out.emplace(plan.units[i].user, i);
  return out;
}

std::string user_label(const std::string& user) { return user.empty() ? "\"\" (shared folders)" : "\"" + user + "\""; }

MergedReport refused(std::string why) {
  MergedReport r;
  r.error = std::move(why);
  return r;
}

std::uint64_t number(const ordered_json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<std::uint64_t>() : 0;
}

// The entries several shards wrote for one plan-split folder (each with "plan_ranges"; the
// owner's may hold none: then only its extras count) as the one entry a single run writes:
// the preparation's values from range 0's entry, counts summed, findings and messages in range
// (UID) order, a stop reported once, extras from the owner's entry. "messages" lists the parts'
// spans in range order; write_merged_report merges their entries by UID.
ordered_json combine_split_entries(const ordered_json& owner, std::vector<const ordered_json*> parts) {
  std::sort(parts.begin(), parts.end(), [](const ordered_json* a, const ordered_json* b) {
    return (*a)["plan_ranges"].front().get<std::size_t>() < (*b)["plan_ranges"].front().get<std::size_t>();
  });
  const ordered_json& lead = *parts.front();
  ordered_json count = lead.at("count");
  for (std::size_t i = 1; i < parts.size(); ++i)
    for (const auto& [key, v] : parts[i]->at("count").items())
      if (v.is_number_unsigned()) count[key] = number(count, key.c_str()) + v.get<std::uint64_t>();
  std::string run = lead.at("run").get<std::string>();
  bool failed = false;
  std::string fail_reason;
  ordered_json findings = ordered_json::array(), messages = ordered_json::array();
  bool stopped = false;
  std::uint64_t sums[4] = {0, 0, 0, 0};
  static const char* summed[4] = {"flags_updated", "flags_not_applied", "kept_not_in_source", "bytes_written"};
  for (const ordered_json* e : parts) {
    if (run == "new" && e->at("run") == "resumed") run = "resumed";
    if (e->at("failed").get<bool>() && !failed) {
      failed = true;
      fail_reason = e->value("fail_reason", "");
    }
    for (const auto& f : e->at("findings")) {
      if (f.value("kind", "") == "stopped") {
        if (stopped) continue;
        stopped = true;
      }
      findings.push_back(f);
    }
    for (const auto& span : e->at("messages")) messages.push_back(span);
    for (int k = 0; k < 4; ++k) sums[k] += number(*e, summed[k]);
  }
  // convert_report.cpp's key order.
  ordered_json out;
  for (const char* key : {"name", "name_raw", "target", "output", "action", "renamed", "rename_reason", "uidvalidity",
                          "uidnext"})
    if (lead.contains(key)) out[key] = lead[key];
  out["count"] = count;
  out["run"] = run;
  for (int k = 0; k < 4; ++k) out[summed[k]] = sums[k];
  if (lead.contains("ranges")) out["ranges"] = lead["ranges"];
  out["failed"] = failed;
  if (failed) out["fail_reason"] = fail_reason;
  for (const char* key : {"special_use", "special_use_source", "acl", "acl_file"})
    if (owner.contains(key)) out[key] = owner[key];
  out["findings"] = findings;
  out["messages"] = messages;
  return out;
}

ordered_json shard_stamp_json(const ShardStamp& s) {
  return ordered_json{{"plan_id", s.plan_id},
                      {"shard", s.shard},
                      {"shards", s.shards},
                      {"users", s.users},
                      {"rename_map", s.rename_map}};
}

// The shards' reports as trees (report_entry_spill.h holds their entries), by shard number.
struct ShardTrees {
  std::vector<ordered_json> docs;
  std::vector<const std::string*> file_of;  // nullptr: no report of that shard
  std::vector<std::size_t> present;
  const ordered_json* first = nullptr;  // the first report given
  const std::string* first_file = nullptr;
};

// A report's own checks: a convert report of a shard of this plan, not given twice, and with the
// same inputs and options as the first report. "" or the refusal.
std::string check_shard_report(const ShardPlan& plan, const ShardTrees& t, const std::string& file,
                               const ordered_json& j, std::size_t& k) {
  if (j.value("schema", "") != "cyrconv-convert") return file + ": not a cyrconv convert report";
  if (!j.contains("shard") || !j["shard"].is_object())
    return file + ": not a shard's report (convert --plan FILE --shard K writes those)";
  const std::size_t n = plan.shards.size();
  const ordered_json& st = j["shard"];
  const std::string id = st.at("plan_id").get<std::string>();
  if (id != plan.id) return file + ": made from plan " + short_id(id) + ", not from the given plan " + short_id(plan.id);
  k = st.at("shard").get<std::size_t>();
  if (k >= n || st.at("shards").get<std::size_t>() != n)
    return file + ": shard " + std::to_string(k) + " does not fit the plan's " + std::to_string(n) + " shards";
  if (t.file_of[k]) return file + " and " + *t.file_of[k] + " are both shard " + std::to_string(k);
  if (!t.first) return {};
  // Same inputs, output root, format, profile, policy and cyrconv version in every shard.
  std::set<std::string> keys;
  for (const auto& [key, v] : t.first->items()) keys.insert(key);
  for (const auto& [key, v] : j.items()) keys.insert(key);
  for (const auto& key : keys) {
    if (per_shard_key(key)) continue;
    const ordered_json a = t.first->contains(key) ? (*t.first)[key] : ordered_json();
    const ordered_json b = j.contains(key) ? j[key] : ordered_json();
    if (a != b)
      return file + " and " + *t.first_file + " differ in \"" + key + "\" (" + b.dump() + " vs " + a.dump() +
             "): the shards of one run need the same inputs and options and one --out";
  }
  return {};
}

// Reads and checks every report; then every shard with work must have one. "" or the refusal.
std::string read_shard_trees(const ShardPlan& plan, const std::vector<ShardReportInput>& reports,
                             ReportEntrySpill& spill, ShardTrees& t) {
  const std::size_t n = plan.shards.size();
  t.docs.resize(n);
  t.file_of.assign(n, nullptr);
  for (const auto& r : reports) {
    ShardReportTree read = read_shard_report(*r.in, spill);
    if (!read.spill_error.empty()) return read.spill_error;
    if (!read.is_json || !read.tree.is_object()) return r.file + ": not JSON";
    std::size_t k = 0;
    if (auto why = check_shard_report(plan, t, r.file, read.tree, k); !why.empty()) return why;
    t.docs[k] = std::move(read.tree);
    t.file_of[k] = &r.file;
    if (!t.first) {
      t.first = &t.docs[k];
      t.first_file = &r.file;
    }
  }
  // A shard the plan gives no user writes no report (there are more shards than users).
  std::string missing;
  for (std::size_t k = 0; k < n; ++k) {
    if (t.file_of[k])
      t.present.push_back(k);
    else if (!plan.shards[k].users.empty() || !plan.shards[k].ranges.empty())
      missing += (missing.empty() ? "" : ", ") + std::to_string(k);
  }
  if (!missing.empty())
    return "no report for shard(s) " + missing + " of the plan's " + std::to_string(n) +
           ": every shard's report is needed (run the missing shards, or name their reports)";
  return {};
}

using FolderKey = std::pair<std::string, std::string>;  // user, internal folder name

// The users of all reports, each exactly once, from the shard the plan gives it to, sorted as
// convert sorts them; entries of plan-split folders in the reports of shards that hold only
// their ranges go to `range_entries`. "" or the refusal.
struct MergedUsers {
  std::vector<ordered_json> users;
  std::map<FolderKey, std::vector<const ordered_json*>> range_entries;
  std::uint64_t raw_folders = 0;
};
std::string collect_users(const ShardPlan& plan, const ShardTrees& t, MergedUsers& mu) {
  const auto index = unit_index(plan);
  std::map<std::string, std::size_t> claimed;  // user -> shard
  for (std::size_t k : t.present) {
    for (const auto& u : t.docs[k].at("users")) {
      const std::string name = u.at("user").get<std::string>();
      mu.raw_folders += u.at("folders").size();
      const auto owner_unit = index.find(name);
      if (owner_unit != index.end() && plan.shard_of[owner_unit->second] != k) {
        bool only_ranges = !u.at("folders").empty();
        for (const auto& f : u.at("folders")) only_ranges = only_ranges && f.contains("plan_ranges");
        if (only_ranges) {
          for (const auto& f : u.at("folders"))
            if (!f.at("plan_ranges").empty())
              mu.range_entries[{name, f.at("name_raw").get<std::string>()}].push_back(&f);
          continue;
        }
      }
      if (auto c = claimed.find(name); c != claimed.end())
        return "user " + user_label(name) + " is in two shard reports: " + *t.file_of[c->second] + " and " +
               *t.file_of[k];
      claimed.emplace(name, k);
      mu.users.push_back(u);
    }
  }
  for (const auto& [name, k] : claimed) {
    const auto it = index.find(name);
    if (it == index.end()) return *t.file_of[k] + ": user " + user_label(name) + " is not in the plan";
    if (plan.shard_of[it->second] != k)
      return *t.file_of[k] + " (shard " + std::to_string(k) + ") holds user " + user_label(name) +
             ", whom the plan gives to shard " + std::to_string(plan.shard_of[it->second]);
  }
  for (std::size_t i = 0; i < plan.units.size(); ++i)
    if (!plan.units[i].is_range() && !claimed.count(plan.units[i].user))
      return "user " + user_label(plan.units[i].user) + " of shard " + std::to_string(plan.shard_of[i]) +
             " is not in " + *t.file_of[plan.shard_of[i]] + ": that shard did not convert it";
  std::sort(mu.users.begin(), mu.users.end(), [](const ordered_json& a, const ordered_json& b) {
    return a.at("user").get<std::string>() < b.at("user").get<std::string>();
  });
  return {};
}

// Split folders: every range reported once, by the shard the plan gives it to; the parts become
// the one entry a single run writes. "" or the refusal.
std::string combine_split_folders(const ShardPlan& plan, MergedUsers& mu, MergedReport& m) {
  std::map<FolderKey, std::vector<std::size_t>> shard_of_range;
  for (std::size_t i = 0; i < plan.units.size(); ++i) {
    const PlanUnit& pu = plan.units[i];
    if (!pu.is_range()) continue;
    auto& v = shard_of_range[{pu.user, pu.folder}];
    v.resize(pu.ranges);
    v[pu.range] = plan.shard_of[i];
  }
  for (auto& u : mu.users) {
    const std::string name = u.at("user").get<std::string>();
    for (auto& f : u.at("folders")) {
      if (!f.contains("plan_ranges")) continue;
      const std::string folder = f.at("name_raw").get<std::string>();
      const std::string where = "folder \"" + folder + "\" of user " + user_label(name);
      const auto ranges = shard_of_range.find({name, folder});
      if (ranges == shard_of_range.end()) return where + " is reported as split, but the plan does not split it";
      std::vector<const ordered_json*> parts = mu.range_entries[{name, folder}];
      if (!f.at("plan_ranges").empty()) parts.push_back(&f);
      std::vector<int> seen(ranges->second.size(), 0);
      std::string parts_dir;
      for (const ordered_json* e : parts) {
        if (!e->value("parts", "").empty()) parts_dir = e->value("parts", "");
        for (const auto& r : e->at("plan_ranges")) {
          const auto ri = r.get<std::size_t>();
          if (ri >= seen.size() || seen[ri]++)
            return where + ": range " + std::to_string(ri) + " is reported twice or is not in the plan";
        }
      }
      for (std::size_t ri = 0; ri < seen.size(); ++ri)
        if (!seen[ri])
          return where + ": range " + std::to_string(ri) + " is in no report: shard " +
                 std::to_string(ranges->second[ri]) + " did not convert it (run it, or name its report)";
      m.split_folders.push_back(SplitFolderParts{name, folder, parts_dir, ranges->second});
      ordered_json combined = combine_split_entries(f, parts);
      mu.range_entries.erase({name, folder});
      f = std::move(combined);
    }
  }
  if (!mu.range_entries.empty())
    return "folder \"" + mu.range_entries.begin()->first.second + "\" of user " +
           user_label(mu.range_entries.begin()->first.first) + " has UID ranges in the reports, but no entry of its owner's shard";
  return {};
}

// Store-level findings (discovery) are the same in every shard: kept once, in shard order.
ordered_json store_findings(const ShardTrees& t) {
  ordered_json findings = ordered_json::array();
  std::set<std::string> have;
  for (std::size_t k : t.present)
    for (const auto& f : t.docs[k].at("findings"))
      if (have.insert(f.dump()).second) findings.push_back(f);
  return findings;
}

// The severities of a folder's per-message entries, from their spans. "" or the refusal (an entry
// that is not a convert report's, as reading the report whole would have said).
std::string count_entry_severities(const ordered_json& spans, const ReportEntrySpill& spill, std::uint64_t& errors,
                                   std::uint64_t& warnings) {
  for (const auto& n : spans) {
    if (!n.is_number_unsigned() || n.get<std::size_t>() >= spill.span_count())
      return std::string(not_complete) + "a folder's \"messages\" is not where report entries are";
    const ReportEntrySpan& s = spill.span(n.get<std::size_t>());
    if (!s.malformed.empty()) return not_complete + s.malformed;
    errors += s.errors;
    warnings += s.warnings;
  }
  return {};
}

// Totals: recounted from the folders exactly as convert counts them, and checked against the
// sum of the shards' totals (a report edited or cut short does not add up). "" or the refusal.
std::string recount_totals(const ShardTrees& t, const MergedUsers& mu, const ordered_json& findings,
                           const ReportEntrySpill& spill, MergedReport& m, ordered_json& totals,
                           std::map<std::string, std::uint64_t>& count_sums) {
  std::uint64_t folders = 0, bytes_written = 0;
  count_severities(findings, m.errors, m.warnings);
  for (const auto& u : mu.users) {
    count_severities(u.at("findings"), m.errors, m.warnings);
    for (const auto& f : u.at("folders")) {
      ++folders;
      bytes_written += f.value("bytes_written", std::uint64_t{0});
      for (const auto& [key, v] : f.at("count").items())
        if (v.is_number_unsigned()) count_sums[key] += v.get<std::uint64_t>();
      count_severities(f.at("findings"), m.errors, m.warnings);
      if (auto why = count_entry_severities(f.at("messages"), spill, m.errors, m.warnings); !why.empty()) return why;
    }
  }
  totals = ordered_json::object();
  for (const auto& [key, v] : t.first->at("totals").items()) {
    std::uint64_t shard_sum = 0;
    for (std::size_t k : t.present)
      if (t.docs[k].at("totals").contains(key) && t.docs[k]["totals"][key].is_number_unsigned())
        shard_sum += t.docs[k]["totals"][key].get<std::uint64_t>();
    if (!v.is_number_unsigned()) {
      totals[key] = v;
      continue;
    }
    std::uint64_t value = shard_sum;
    if (key == "errors")
      value = m.errors;
    else if (key == "warnings")
      value = m.warnings;
    else if (key == "folders")
      value = folders;
    else if (key == "bytes_written")
      value = bytes_written;
    else if (count_sums.count(key))
      value = count_sums[key];
    if (key != "errors" && key != "warnings" && (key == "folders" ? mu.raw_folders : value) != shard_sum)
      return "the shard reports' totals of \"" + key + "\" (" + std::to_string(shard_sum) +
             ") do not add up to their folders (" + std::to_string(value) + "): a report was edited or cut short";
    totals[key] = value;
  }
  m.folders = folders;
  return {};
}

// The merged tree: the first report's keys in its order with the merged values, then "shards".
void assemble_tree(const ShardPlan& plan, const ShardTrees& t, MergedUsers& mu, ordered_json findings,
                   ordered_json totals, MergedReport& m) {
  double seconds = 0;
  ordered_json shard_list = ordered_json::array();
  m.rename_maps.resize(plan.shards.size());
  for (std::size_t k : t.present) {
    const double s = t.docs[k].value("seconds", 0.0);
    seconds = std::max(seconds, s);
    shard_list.push_back(ordered_json{{"shard", k}, {"file", *t.file_of[k]}, {"seconds", s}});
    m.rename_maps[k] = t.docs[k]["shard"].value("rename_map", "");
  }
  m.users = mu.users.size();
  ordered_json out = ordered_json::object();
  for (const auto& [key, v] : t.first->items()) {
    if (key == "findings")
      out[key] = std::move(findings);
    else if (key == "users")
      out[key] = ordered_json(std::move(mu.users));
    else if (key == "totals")
      out[key] = std::move(totals);
    else if (key == "seconds")
      out[key] = seconds;  // the slowest shard: the wall time when all ran at once
    else if (key != "shard")
      out[key] = v;
  }
  out["shards"] = ordered_json{{"plan_id", plan.id}, {"count", plan.shards.size()}, {"reports", shard_list}};
  m.tree = std::move(out);
}

}  // namespace

void write_convert_report_file(const ConvertReport& report, const ShardStamp* stamp, std::ostream& out) {
  if (!stamp) return write_convert_report_json(report, out);
  ordered_json trailer;
  trailer["shard"] = shard_stamp_json(*stamp);
  write_convert_report_json(report, out, &trailer);
}

std::string stamp_shard_report(std::string_view report_json, const ShardStamp& s) {
  ordered_json j = ordered_json::parse(report_json);  // our own writer's output: valid
  j["shard"] = shard_stamp_json(s);
  return dump(j);
}

MergedReport merge_shard_report_streams(const ShardPlan& plan, const std::vector<ShardReportInput>& reports,
                                        std::shared_ptr<ReportEntrySpill> spill) {
  if (reports.empty()) return refused("no shard reports given");
  try {
    ShardTrees t;
    if (auto why = read_shard_trees(plan, reports, *spill, t); !why.empty()) return refused(why);
    MergedUsers mu;
    if (auto why = collect_users(plan, t, mu); !why.empty()) return refused(why);
    MergedReport m;
    m.out = t.first->value("out", "");
    if (auto why = combine_split_folders(plan, mu, m); !why.empty()) return refused(why);
    ordered_json findings = store_findings(t), totals;
    std::map<std::string, std::uint64_t> count_sums;
    if (auto why = recount_totals(t, mu, findings, *spill, m, totals, count_sums); !why.empty()) return refused(why);
    assemble_tree(plan, t, mu, std::move(findings), std::move(totals), m);
    m.messages = count_sums["messages"];
    // As convert's exit status (README "Exit statuses"): repaired messages are in the mailbox.
    m.problems = m.errors || count_sums["quarantined"] || count_sums["missing"] || count_sums["not_converted"] ||
                 count_sums["earlier_quarantined"] || count_sums["orphans_quarantined"];
    if (auto e = spill->flush(); !e.empty()) return refused(e);
    m.entries = std::move(spill);
    return m;
  } catch (const nlohmann::json::exception& e) {
    return refused(not_complete + e.what());
  }
}

MergedReport merge_shard_reports(const ShardPlan& plan, const std::vector<ShardReportText>& reports) {
  std::vector<std::istringstream> streams;
  streams.reserve(reports.size());
  std::vector<ShardReportInput> inputs;
  for (const auto& r : reports) {
    streams.emplace_back(r.text);
    inputs.push_back(ShardReportInput{r.file, &streams.back()});
  }
  MergedReport m = merge_shard_report_streams(plan, inputs, std::make_shared<ReportEntrySpill>());
  if (!m.error.empty()) return m;
  std::ostringstream out;
  if (auto e = write_merged_report(m, out); !e.empty()) return refused(e);
  m.json = std::move(out).str();
  return m;
}

MergedRenameMap merge_rename_maps(const ShardPlan& plan, const std::vector<ShardReportText>& maps) {
  MergedRenameMap out;
  if (maps.size() != plan.shards.size()) {
    out.error = "need one rename map per shard (" + std::to_string(plan.shards.size()) + "), got " +
                std::to_string(maps.size());
    return out;
  }
  const auto index = unit_index(plan);
  std::vector<std::string> lines_of(plan.units.size());
  for (std::size_t k = 0; k < maps.size(); ++k) {
    auto parsed = parse_rename_map(maps[k].text, maps[k].file);
    if (!parsed) {
      out.error = parsed.error().to_string();
      return out;
    }
    std::vector<std::string_view> lines;
    std::string_view text = maps[k].text;
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string_view::npos) end = text.size();
      lines.push_back(text.substr(pos, end - pos));
      pos = end + 1;
    }
    for (const auto& e : parsed.value().entries) {
      const auto it = index.find(e.user);
      const std::string where = maps[k].file + ": line " + std::to_string(e.line) + ": ";
      if (it == index.end()) {
        out.error = where + "user " + user_label(e.user) + " is not in the plan";
        return out;
      }
      if (plan.shard_of[it->second] != k) {
        out.error = where + "user " + user_label(e.user) + " belongs to shard " +
                    std::to_string(plan.shard_of[it->second]) + ", not " + std::to_string(k);
        return out;
      }
      lines_of[it->second] += std::string(lines.at(e.line - 1)) + "\n";
    }
  }
  // A single convert writes user after user in the order it meets them: the plan's unit order.
  out.text = format_rename_map_header();
  for (const auto& l : lines_of) out.text += l;
  return out;
}

}  // namespace cyrconv
