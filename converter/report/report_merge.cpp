// Joining shard reports and rename maps (report_merge.h; README "Many machines: shard plans").
#include "converter/report/report_merge.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "converter/plan/rename_map.h"

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

std::string short_id(const std::string& id) { return id.substr(0, 12); }

void count_severities(const ordered_json& findings, std::uint64_t& errors, std::uint64_t& warnings) {
  for (const auto& f : findings) {
    const std::string sev = f.value("severity", "");
    if (sev == "error") ++errors;
    if (sev == "warning") ++warnings;
  }
}

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
// (UID) order, a stop reported once, extras from the owner's entry.
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
    for (const auto& m : e->at("messages")) messages.push_back(m);
    for (int k = 0; k < 4; ++k) sums[k] += number(*e, summed[k]);
  }
  // One shard may hold ranges 0 and 3, another 1 and 2: messages back in UID order (a stable
  // sort keeps a duplicate record after its predecessor).
  std::stable_sort(messages.begin(), messages.end(), [](const ordered_json& a, const ordered_json& b) {
    return a.value("uid", std::uint64_t{0}) < b.value("uid", std::uint64_t{0});
  });
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

}  // namespace

namespace {
ordered_json shard_stamp_json(const ShardStamp& s) {
  return ordered_json{{"plan_id", s.plan_id},
                      {"shard", s.shard},
                      {"shards", s.shards},
                      {"users", s.users},
                      {"rename_map", s.rename_map}};
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

MergedReport merge_shard_reports(const ShardPlan& plan, const std::vector<ShardReportText>& reports) {
  if (reports.empty()) return refused("no shard reports given");
  const std::size_t n = plan.shards.size();
  std::vector<ordered_json> docs(n);
  std::vector<const ShardReportText*> file_of(n, nullptr);
  try {
    const ShardReportText* first = nullptr;
    const ordered_json* first_doc = nullptr;
    for (const auto& r : reports) {
      ordered_json j = ordered_json::parse(r.text, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return refused(r.file + ": not JSON");
      if (j.value("schema", "") != "cyrconv-convert") return refused(r.file + ": not a cyrconv convert report");
      if (!j.contains("shard") || !j["shard"].is_object())
        return refused(r.file + ": not a shard's report (convert --plan FILE --shard K writes those)");
      const ordered_json& st = j["shard"];
      const std::string id = st.at("plan_id").get<std::string>();
      if (id != plan.id)
        return refused(r.file + ": made from plan " + short_id(id) + ", not from the given plan " + short_id(plan.id));
      const auto k = st.at("shard").get<std::size_t>();
      if (k >= n || st.at("shards").get<std::size_t>() != n)
        return refused(r.file + ": shard " + std::to_string(k) + " does not fit the plan's " + std::to_string(n) +
                       " shards");
      if (file_of[k]) return refused(r.file + " and " + file_of[k]->file + " are both shard " + std::to_string(k));
      if (first_doc) {
        // Same inputs, output root, format, profile, policy and cyrconv version in every shard.
        std::set<std::string> keys;
        for (const auto& [key, v] : first_doc->items()) keys.insert(key);
        for (const auto& [key, v] : j.items()) keys.insert(key);
        for (const auto& key : keys) {
          if (per_shard_key(key)) continue;
          const ordered_json a = first_doc->contains(key) ? (*first_doc)[key] : ordered_json();
          const ordered_json b = j.contains(key) ? j[key] : ordered_json();
          if (a != b)
            return refused(r.file + " and " + first->file + " differ in \"" + key + "\" (" + b.dump() + " vs " +
                           a.dump() + "): the shards of one run need the same inputs and options and one --out");
        }
      }
      docs[k] = std::move(j);
      file_of[k] = &r;
      if (!first) {
        first = &r;
        first_doc = &docs[k];
      }
    }
    // A shard the plan gives no user writes no report (there are more shards than users).
    std::string missing;
    std::vector<std::size_t> present;
    for (std::size_t k = 0; k < n; ++k) {
      if (file_of[k])
        present.push_back(k);
      else if (!plan.shards[k].users.empty() || !plan.shards[k].ranges.empty())
        missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    }
    if (!missing.empty())
      return refused("no report for shard(s) " + missing + " of the plan's " + std::to_string(n) +
                     ": every shard's report is needed (run the missing shards, or name their reports)");

    // Users: each exactly once, from the shard the plan gives it to; sorted as convert sorts them.
    const auto index = unit_index(plan);
    std::map<std::string, std::size_t> claimed;  // user -> shard
    std::vector<ordered_json> users;
    // Entries of plan-split folders in the reports of shards that hold only their ranges.
    std::map<std::pair<std::string, std::string>, std::vector<const ordered_json*>> range_entries;
    std::uint64_t raw_folders = 0;
    for (std::size_t k : present) {
      for (const auto& u : docs[k].at("users")) {
        const std::string name = u.at("user").get<std::string>();
        raw_folders += u.at("folders").size();
        const auto owner_unit = index.find(name);
        if (owner_unit != index.end() && plan.shard_of[owner_unit->second] != k) {
          bool only_ranges = !u.at("folders").empty();
          for (const auto& f : u.at("folders")) only_ranges = only_ranges && f.contains("plan_ranges");
          if (only_ranges) {
            for (const auto& f : u.at("folders"))
              if (!f.at("plan_ranges").empty()) range_entries[{name, f.at("name_raw").get<std::string>()}].push_back(&f);
            continue;
          }
        }
        if (auto c = claimed.find(name); c != claimed.end())
          return refused("user " + user_label(name) + " is in two shard reports: " + file_of[c->second]->file +
                         " and " + file_of[k]->file);
        claimed.emplace(name, k);
        users.push_back(u);
      }
    }
    for (const auto& [name, k] : claimed) {
      const auto it = index.find(name);
      if (it == index.end()) return refused(file_of[k]->file + ": user " + user_label(name) + " is not in the plan");
      if (plan.shard_of[it->second] != k)
        return refused(file_of[k]->file + " (shard " + std::to_string(k) + ") holds user " + user_label(name) +
                       ", whom the plan gives to shard " + std::to_string(plan.shard_of[it->second]));
    }
    for (std::size_t i = 0; i < plan.units.size(); ++i)
      if (!plan.units[i].is_range() && !claimed.count(plan.units[i].user))
        return refused("user " + user_label(plan.units[i].user) + " of shard " + std::to_string(plan.shard_of[i]) +
                       " is not in " + file_of[plan.shard_of[i]]->file + ": that shard did not convert it");
    std::sort(users.begin(), users.end(), [](const ordered_json& a, const ordered_json& b) {
      return a.at("user").get<std::string>() < b.at("user").get<std::string>();
    });

    // Split folders: every range reported once, by the shard the plan gives it to.
    std::map<std::pair<std::string, std::string>, std::vector<std::size_t>> shard_of_range;
    for (std::size_t i = 0; i < plan.units.size(); ++i) {
      const PlanUnit& pu = plan.units[i];
      if (!pu.is_range()) continue;
      auto& v = shard_of_range[{pu.user, pu.folder}];
      v.resize(pu.ranges);
      v[pu.range] = plan.shard_of[i];
    }
    MergedReport m;
    m.out = first_doc->value("out", "");
    for (auto& u : users) {
      const std::string name = u.at("user").get<std::string>();
      for (auto& f : u.at("folders")) {
        if (!f.contains("plan_ranges")) continue;
        const std::string folder = f.at("name_raw").get<std::string>();
        const auto ranges = shard_of_range.find({name, folder});
        if (ranges == shard_of_range.end())
          return refused("folder \"" + folder + "\" of user " + user_label(name) + " is reported as split, but the plan does not split it");
        std::vector<const ordered_json*> parts = range_entries[{name, folder}];
        if (!f.at("plan_ranges").empty()) parts.push_back(&f);
        std::vector<int> seen(ranges->second.size(), 0);
        std::string parts_dir;
        for (const ordered_json* e : parts) {
          if (!e->value("parts", "").empty()) parts_dir = e->value("parts", "");
          for (const auto& r : e->at("plan_ranges")) {
            const auto ri = r.get<std::size_t>();
            if (ri >= seen.size() || seen[ri]++)
              return refused("folder \"" + folder + "\" of user " + user_label(name) + ": range " + std::to_string(ri) +
                             " is reported twice or is not in the plan");
          }
        }
        for (std::size_t ri = 0; ri < seen.size(); ++ri)
          if (!seen[ri])
            return refused("folder \"" + folder + "\" of user " + user_label(name) + ": range " + std::to_string(ri) +
                           " is in no report: shard " + std::to_string(ranges->second[ri]) +
                           " did not convert it (run it, or name its report)");
        m.split_folders.push_back(SplitFolderParts{name, folder, parts_dir, ranges->second});
        ordered_json combined = combine_split_entries(f, parts);
        range_entries.erase({name, folder});
        f = std::move(combined);
      }
    }
    if (!range_entries.empty())
      return refused("folder \"" + range_entries.begin()->first.second + "\" of user " +
                     user_label(range_entries.begin()->first.first) + " has UID ranges in the reports, but no entry of its owner's shard");

    // Store-level findings (discovery) are the same in every shard: kept once, in shard order.
    ordered_json findings = ordered_json::array();
    std::set<std::string> have;
    for (std::size_t k : present)
      for (const auto& f : docs[k].at("findings"))
        if (have.insert(f.dump()).second) findings.push_back(f);

    // Totals: recounted from the folders exactly as convert counts them, and checked against the
    // sum of the shards' totals (a report edited or cut short does not add up).
    std::map<std::string, std::uint64_t> count_sums;
    std::uint64_t folders = 0, bytes_written = 0;
    count_severities(findings, m.errors, m.warnings);
    for (const auto& u : users) {
      count_severities(u.at("findings"), m.errors, m.warnings);
      for (const auto& f : u.at("folders")) {
        ++folders;
        bytes_written += f.value("bytes_written", std::uint64_t{0});
        for (const auto& [key, v] : f.at("count").items())
          if (v.is_number_unsigned()) count_sums[key] += v.get<std::uint64_t>();
        count_severities(f.at("findings"), m.errors, m.warnings);
        for (const auto& msg : f.at("messages")) count_severities(msg.at("findings"), m.errors, m.warnings);
      }
    }
    ordered_json totals = ordered_json::object();
    for (const auto& [key, v] : first_doc->at("totals").items()) {
      std::uint64_t shard_sum = 0;
      for (std::size_t k : present)
        if (docs[k].at("totals").contains(key) && docs[k]["totals"][key].is_number_unsigned())
          shard_sum += docs[k]["totals"][key].get<std::uint64_t>();
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
      if (key != "errors" && key != "warnings" && (key == "folders" ? raw_folders : value) != shard_sum)
        return refused("the shard reports' totals of \"" + key + "\" (" + std::to_string(shard_sum) +
                       ") do not add up to their folders (" + std::to_string(value) +
                       "): a report was edited or cut short");
      totals[key] = value;
    }

    ordered_json out = ordered_json::object();
    double seconds = 0;
    ordered_json shard_list = ordered_json::array();
    m.rename_maps.resize(n);
    for (std::size_t k : present) {
      const double s = docs[k].value("seconds", 0.0);
      seconds = std::max(seconds, s);
      shard_list.push_back(ordered_json{{"shard", k}, {"file", file_of[k]->file}, {"seconds", s}});
      m.rename_maps[k] = docs[k]["shard"].value("rename_map", "");
    }
    for (const auto& [key, v] : first_doc->items()) {
      if (key == "findings")
        out[key] = findings;
      else if (key == "users")
        out[key] = ordered_json(users);
      else if (key == "totals")
        out[key] = totals;
      else if (key == "seconds")
        out[key] = seconds;  // the slowest shard: the wall time when all ran at once
      else if (key != "shard")
        out[key] = v;
    }
    out["shards"] = ordered_json{{"plan_id", plan.id}, {"count", n}, {"reports", shard_list}};
    m.json = dump(out);
    m.users = users.size();
    m.folders = folders;
    m.messages = count_sums["messages"];
    // As convert's exit status (README "Exit statuses"): repaired messages are in the mailbox.
    m.problems = m.errors || count_sums["quarantined"] || count_sums["missing"] || count_sums["not_converted"] ||
                 count_sums["earlier_quarantined"] || count_sums["orphans_quarantined"];
    return m;
  } catch (const nlohmann::json::exception& e) {
    return refused(std::string("a shard report is not a complete convert report: ") + e.what());
  }
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
