// Joining shard reports and rename maps (report_merge.h; README "Many machines: shard plans").
#include "converter/report_merge.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "converter/rename_map.h"

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
  for (std::size_t i = 0; i < plan.units.size(); ++i) out.emplace(plan.units[i].user, i);
  return out;
}

std::string user_label(const std::string& user) { return user.empty() ? "\"\" (shared folders)" : "\"" + user + "\""; }

MergedReport refused(std::string why) {
  MergedReport r;
  r.error = std::move(why);
  return r;
}

}  // namespace

std::string stamp_shard_report(std::string_view report_json, const ShardStamp& s) {
  ordered_json j = ordered_json::parse(report_json);  // our own writer's output: valid
  j["shard"] = ordered_json{{"plan_id", s.plan_id},
                            {"shard", s.shard},
                            {"shards", s.shards},
                            {"users", s.users},
                            {"rename_map", s.rename_map}};
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
      else if (!plan.shards[k].users.empty())
        missing += (missing.empty() ? "" : ", ") + std::to_string(k);
    }
    if (!missing.empty())
      return refused("no report for shard(s) " + missing + " of the plan's " + std::to_string(n) +
                     ": every shard's report is needed (run the missing shards, or name their reports)");

    // Users: each exactly once, from the shard the plan gives it to; sorted as convert sorts them.
    const auto index = unit_index(plan);
    std::map<std::string, std::size_t> claimed;  // user -> shard
    std::vector<ordered_json> users;
    for (std::size_t k : present) {
      for (const auto& u : docs[k].at("users")) {
        const std::string name = u.at("user").get<std::string>();
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
      if (!claimed.count(plan.units[i].user))
        return refused("user " + user_label(plan.units[i].user) + " of shard " + std::to_string(plan.shard_of[i]) +
                       " is not in " + file_of[plan.shard_of[i]]->file + ": that shard did not convert it");
    std::sort(users.begin(), users.end(), [](const ordered_json& a, const ordered_json& b) {
      return a.at("user").get<std::string>() < b.at("user").get<std::string>();
    });

    // Store-level findings (discovery) are the same in every shard: kept once, in shard order.
    ordered_json findings = ordered_json::array();
    std::set<std::string> have;
    for (std::size_t k : present)
      for (const auto& f : docs[k].at("findings"))
        if (have.insert(f.dump()).second) findings.push_back(f);

    // Totals: recounted from the folders exactly as convert counts them, and checked against the
    // sum of the shards' totals (a report edited or cut short does not add up).
    MergedReport m;
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
      if (key != "errors" && key != "warnings" && value != shard_sum)
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
    m.problems = m.errors || count_sums["repaired"] || count_sums["quarantined"] || count_sums["missing"] ||
                 count_sums["not_converted"] || count_sums["orphans"];
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
