// Shard plans: the balancing, the plan file, the choice of shard, and joining shard reports.
// The end-to-end check (shards' union equals a single run) is tests/e2e/shard_check.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "converter/rename_map.h"
#include "converter/report_merge.h"
#include "converter/shard_plan.h"
#include "tests/test_support.h"
#include "writers/convert_report.h"

using namespace cyrconv;

namespace {

std::vector<PlanUnit> units_of(const std::vector<std::pair<std::string, std::uint64_t>>& v) {
  std::vector<PlanUnit> out;
  for (const auto& [user, bytes] : v) out.push_back(PlanUnit{user, bytes, bytes / 10, 1});
  return out;
}

std::map<std::string, std::size_t> by_user(const std::vector<PlanUnit>& units, const std::vector<std::size_t>& shard) {
  std::map<std::string, std::size_t> m;
  for (std::size_t i = 0; i < units.size(); ++i) m[units[i].user] = shard[i];
  return m;
}

SourceInputs some_inputs() {
  SourceInputs in;
  in.partitions.emplace_back("default", "/snap/spool");
  in.partitions.emplace_back("p2", "/snap/p2");
  in.config_dir = "/snap/config";
  return in;
}

}  // namespace

TEST_CASE("shard balance: largest user first, each to the least-loaded shard") {
  const auto units = units_of({{"d", 40}, {"b", 60}, {"a", 100}, {"c", 50}});
  const auto m = by_user(units, balance_units(units, 2));
  // a (100) -> 0; b (60) -> 1; c (50) -> 1, now 110; d (40) -> 0, now 140.
  CHECK(m.at("a") == 0);
  CHECK(m.at("b") == 1);
  CHECK(m.at("c") == 1);
  CHECK(m.at("d") == 0);
  // The largest unit alone bounds the balance: with 3 shards it sits alone.
  const auto three = by_user(units, balance_units(units, 3));
  for (const auto& [user, shard] : three)
    if (user != "a") CHECK(shard != three.at("a"));
}

TEST_CASE("shard balance: ties go by user name, then by lowest shard number") {
  const auto units = units_of({{"d", 10}, {"c", 10}, {"b", 10}, {"a", 10}});
  const auto m = by_user(units, balance_units(units, 2));
  CHECK(m.at("a") == 0);
  CHECK(m.at("b") == 1);
  CHECK(m.at("c") == 0);
  CHECK(m.at("d") == 1);
}

TEST_CASE("shard balance: deterministic whatever the input order") {
  std::vector<std::pair<std::string, std::uint64_t>> v;
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) v.emplace_back("user" + std::to_string(i), rng() % 1000);  // many equal sizes
  const auto units = units_of(v);
  const auto reference = by_user(units, balance_units(units, 7));
  for (int round = 0; round < 5; ++round) {
    auto shuffled = units;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(by_user(shuffled, balance_units(shuffled, 7)) == reference);
  }
  const ShardPlan a = assemble_shard_plan(some_inputs(), "1", "fp", 9, units, 7);
  const ShardPlan b = assemble_shard_plan(some_inputs(), "1", "fp", 9, units, 7);
  CHECK(a.id == b.id);
  CHECK(shard_plan_json(a) == shard_plan_json(b));
  // LPT's bound: no shard exceeds the mean by more than the largest unit.
  std::uint64_t largest = 0;
  for (const auto& u : units) largest = std::max(largest, u.bytes);
  for (const auto& s : a.shards) CHECK(s.bytes <= a.total_bytes() / 7 + largest);
}

TEST_CASE("shard balance: more shards than users leaves shards empty; one shard takes everything") {
  const auto units = units_of({{"x", 5}, {"y", 30}, {"", 20}});
  const ShardPlan p = assemble_shard_plan(some_inputs(), "1", "fp", 3, units, 5);
  REQUIRE(p.shards.size() == 5);
  std::set<std::size_t> used(p.shard_of.begin(), p.shard_of.end());
  CHECK(used.size() == 3);  // one unit per shard
  std::size_t empty = 0;
  for (const auto& s : p.shards) empty += s.users.empty();
  CHECK(empty == 2);
  CHECK(p.shards[0].users == std::vector<std::string>{"y"});  // the largest goes first, to shard 0
  CHECK(p.imbalance() == doctest::Approx(30.0 * 5 / 55));

  const ShardPlan one = assemble_shard_plan(some_inputs(), "1", "fp", 3, units, 1);
  REQUIRE(one.shards.size() == 1);
  CHECK(one.shards[0].users == std::vector<std::string>{"", "x", "y"});
  CHECK(one.shards[0].bytes == 55);
  CHECK(one.imbalance() == doctest::Approx(1.0));
  const ShardPlan none = assemble_shard_plan(some_inputs(), "1", "fp", 3, units_of({{"x", 0}}), 3);
  CHECK(none.imbalance() == doctest::Approx(1.0));
}

TEST_CASE("shard plan file: round trip, and edits or other versions are refused") {
  const ShardPlan p = assemble_shard_plan(some_inputs(), "0.1.0", "abc", 12, units_of({{"a", 9}, {"b", 4}, {"", 3}}), 2);
  const std::string text = shard_plan_json(p);
  auto back = parse_shard_plan(text, "plan.json");
  REQUIRE(back.ok());
  CHECK(back.value().id == p.id);
  CHECK(back.value().shard_of == p.shard_of);
  CHECK(shard_plan_json(back.value()) == text);

  auto j = nlohmann::json::parse(text);
  j["units"][0]["shard"] = 1 - j["units"][0]["shard"].get<int>();  // move a user by hand
  auto edited = parse_shard_plan(j.dump(), "plan.json");
  REQUIRE_FALSE(edited.ok());
  CHECK(edited.error().message.find("does not match its plan_id") != std::string::npos);

  auto v2 = nlohmann::json::parse(text);
  v2["schema_version"] = 2;
  auto other = parse_shard_plan(v2.dump(), "plan.json");
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message.find("version") != std::string::npos);
  CHECK_FALSE(parse_shard_plan("{\"schema\": \"cyrconv-convert\"}", "x").ok());
  CHECK_FALSE(parse_shard_plan("not json", "x").ok());
}

TEST_CASE("shard plan: inputs must be the plan's, in any option order") {
  const ShardPlan p = assemble_shard_plan(some_inputs(), "1", "fp", 1, units_of({{"a", 1}}), 1);
  SourceInputs same;
  same.partitions.emplace_back("p2", "/snap/p2");
  same.partitions.emplace_back("default", "/snap/spool");
  same.config_dir = "/snap/config";
  CHECK(plan_input_mismatch(p, same).empty());
  SourceInputs no_config = same;
  no_config.config_dir.reset();
  CHECK(plan_input_mismatch(p, no_config).find("--config none") != std::string::npos);
  SourceInputs moved = same;
  moved.partitions[1].second = "/mnt/spool";
  CHECK(plan_input_mismatch(p, moved).find("/mnt/spool") != std::string::npos);
}

TEST_CASE("shard choice: --shard, then SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX; 0-based, in range") {
  CHECK(choose_shard(std::string("2"), "1", "0", 4).index == 2);
  CHECK(choose_shard(std::nullopt, "1", "0", 4).index == 1);
  CHECK(choose_shard(std::nullopt, "1", "0", 4).source == "SLURM_ARRAY_TASK_ID");
  CHECK(choose_shard(std::nullopt, nullptr, "3", 4).index == 3);
  CHECK(choose_shard(std::nullopt, nullptr, "3", 4).error.empty());
  CHECK_FALSE(choose_shard(std::nullopt, nullptr, nullptr, 4).error.empty());
  const ShardChoice high = choose_shard(std::nullopt, "4", nullptr, 4);  // --array=1-4 by mistake
  CHECK(high.error.find("out of range") != std::string::npos);
  CHECK(high.error.find("--array=0-3") != std::string::npos);
  for (const char* bad : {"-1", "", "1x", " 1", "+1", "99999999999"})
    CHECK_MESSAGE(!choose_shard(std::string(bad), nullptr, nullptr, 4).error.empty(), bad);
}

TEST_CASE("shard plan: units of a real store are its users plus one unit for shared folders") {
  const auto fx = test::fixtures_dir() / "cyrus36-legacy";
  SourceInputs in;
  in.partitions.emplace_back("default", fx / "spool");
  in.config_dir = fx / "config";
  const StoreUnits su = read_store_units(in, 2);
  // Expected from the oracle: live messages and their sizes per owner; shared folders once.
  std::map<std::pair<std::string, std::string>, nlohmann::json> folders;
  std::istringstream frows(test::read_file(fx / "oracle-folders.jsonl"));
  for (std::string line; std::getline(frows, line);) {
    if (line.empty()) continue;
    auto r = nlohmann::json::parse(line);
    folders[{r["user"].get<std::string>(), r["folder"].get<std::string>()}] = r;
  }
  std::map<std::string, std::uint64_t> messages, bytes;
  std::set<std::pair<std::string, std::uint64_t>> shared_seen;
  std::istringstream rows(test::read_file(fx / "oracle.jsonl"));
  for (std::string line; std::getline(rows, line);) {
    if (line.empty()) continue;
    auto r = nlohmann::json::parse(line);
    const auto& f = folders.at({r["user"].get<std::string>(), r["folder"].get<std::string>()});
    std::string owner = r["user"].get<std::string>();
    if (f["kind"] == "shared") {
      owner = "";
      if (!shared_seen.insert({f["internal_name"].get<std::string>(), r["uid"].get<std::uint64_t>()}).second) continue;
    }
    ++messages[owner];
    bytes[owner] += r["size"].get<std::uint64_t>();
  }
  REQUIRE(su.units.size() == messages.size());
  for (const auto& u : su.units) {
    CHECK_MESSAGE(u.messages == messages.at(u.user), u.user);
    CHECK_MESSAGE(u.bytes == bytes.at(u.user), u.user);
  }
  CHECK(su.mailboxes > su.units.size());
  // The same snapshot gives the same fingerprint; the plan built from it fits it.
  const ShardPlan p = assemble_shard_plan(in, "1", su.fingerprint, su.mailboxes, su.units, 4);
  CHECK(plan_store_mismatch(p, discover(in)).empty());
  SourceInputs other;
  other.partitions.emplace_back("default", test::fixtures_dir() / "cyrus36-default" / "spool");
  CHECK_FALSE(plan_store_mismatch(p, discover(other)).empty());
}

namespace {

ConvertFolder folder(std::string raw, std::uint64_t messages) {
  ConvertFolder f;
  f.name = f.name_raw = std::move(raw);
  f.action = "mail_folder";
  f.count.messages = f.count.written = messages;
  f.bytes_written = messages * 100;
  return f;
}

// A shard's report as convert --plan --shard writes it.
ShardReportText shard_report(const ShardPlan& plan, std::size_t k, const std::string& format = "maildir") {
  ConvertReport r;
  r.tool_version = "1";
  r.inputs = {"partition default=/snap/spool"};
  r.out = "/out";
  r.format = format;
  r.profile = "dovecot";
  r.on_corrupt = "repair";
  r.findings.push_back(Finding{Finding::Severity::warning, "mailboxes_db_missing", "/snap", 0, 0, "store-level"});
  r.seconds = 1.0 + static_cast<double>(k);
  for (const auto& user : plan.shards[k].users) {
    ConvertUser u;
    u.user = user;
    u.output = user.empty() ? "_shared" : user;
    u.folders.push_back(folder("user." + user, 3));
    u.findings.push_back(Finding{Finding::Severity::error, "x", "", 0, 0, "per user"});
    r.users.push_back(u);
    ++r.folders;
    r.totals += u.folders[0].count;
    r.bytes_written += u.folders[0].bytes_written;
    ++r.errors;
  }
  ++r.warnings;
  const std::string json = stamp_shard_report(convert_report_json(r), ShardStamp{plan.id, k, plan.shards.size(), plan.shards[k].users,
                                                                                 "/out/" + shard_rename_map_name(k)});
  return ShardReportText{"shard-" + std::to_string(k) + ".json", json};
}

}  // namespace

TEST_CASE("report merge: users sorted, totals added up, store findings once; refusals") {
  const ShardPlan plan =
      assemble_shard_plan(some_inputs(), "1", "fp", 9, units_of({{"zed", 50}, {"amy", 40}, {"bob", 30}, {"", 5}}), 3);
  std::vector<ShardReportText> reports;
  for (std::size_t k = 0; k < 3; ++k) reports.push_back(shard_report(plan, k));
  const MergedReport m = merge_shard_reports(plan, reports);
  REQUIRE_MESSAGE(m.error.empty(), m.error);
  const auto j = nlohmann::json::parse(m.json);
  std::vector<std::string> users;
  for (const auto& u : j["users"]) users.push_back(u["user"]);
  CHECK(users == std::vector<std::string>{"", "amy", "bob", "zed"});
  CHECK(j["totals"]["messages"] == 12);
  CHECK(j["totals"]["written"] == 12);
  CHECK(j["totals"]["folders"] == 4);
  CHECK(j["totals"]["bytes_written"] == 1200);
  CHECK(j["totals"]["errors"] == 4);
  CHECK(j["totals"]["warnings"] == 1);  // the store-level finding every shard repeats, once
  CHECK(j["findings"].size() == 1);
  CHECK(j["seconds"] == 3.0);
  CHECK(j["shards"]["plan_id"] == plan.id);
  CHECK_FALSE(j.contains("shard"));
  CHECK(m.problems);
  CHECK(m.rename_maps[2] == "/out/rename-map.shard-2.tsv");

  // A shard given twice: two shards claim the same users.
  auto twice = reports;
  twice.push_back(reports[1]);
  twice.back().file = "copy.json";
  CHECK(merge_shard_reports(plan, twice).error.find("are both shard 1") != std::string::npos);
  // A missing shard.
  CHECK(merge_shard_reports(plan, {reports[0], reports[2]}).error.find("no report for shard(s) 1") !=
        std::string::npos);
  // A user in a report of the wrong shard, and one claimed twice.
  auto moved = nlohmann::ordered_json::parse(reports[0].text);
  moved["users"].push_back(nlohmann::ordered_json::parse(reports[1].text)["users"][0]);
  auto claimed = reports;
  claimed[0].text = moved.dump();
  CHECK(merge_shard_reports(plan, claimed).error.find("is in two shard reports") != std::string::npos);
  auto stray = nlohmann::ordered_json::parse(reports[0].text);
  stray["users"].push_back(nlohmann::ordered_json::parse(reports[1].text)["users"][0]);
  auto without = nlohmann::ordered_json::parse(reports[1].text);
  without["users"].erase(0);  // amy moved from shard 1's report into shard 0's
  auto strayed = reports;
  strayed[0].text = stray.dump();
  strayed[1].text = without.dump();
  CHECK(merge_shard_reports(plan, strayed).error.find("whom the plan gives to shard 1") != std::string::npos);
  // Another plan; other options.
  const ShardPlan other = assemble_shard_plan(some_inputs(), "1", "fp", 9, units_of({{"zed", 50}, {"amy", 40}}), 3);
  CHECK(merge_shard_reports(other, reports).error.find("not from the given plan") != std::string::npos);
  auto mixed = reports;
  mixed[2] = shard_report(plan, 2, "mbox");
  CHECK(merge_shard_reports(plan, mixed).error.find("differ in \"format\"") != std::string::npos);
  // Totals that do not add up to the folders.
  auto cut = nlohmann::ordered_json::parse(reports[0].text);
  cut["totals"]["messages"] = 1;
  auto cut_reports = reports;
  cut_reports[0].text = cut.dump();
  CHECK(merge_shard_reports(plan, cut_reports).error.find("do not add up") != std::string::npos);
  CHECK_FALSE(merge_shard_reports(plan, {ShardReportText{"x.json", "{}"}}).error.empty());
}

TEST_CASE("report merge: rename maps joined in the single run's user order") {
  // Plan units are in the order a single convert meets the users: b, "", a.
  const ShardPlan plan = assemble_shard_plan(some_inputs(), "1", "fp", 9, units_of({{"b", 5}, {"", 50}, {"a", 40}}), 2);
  std::vector<ShardReportText> maps(2);
  for (std::size_t i = 0; i < plan.units.size(); ++i) {
    auto& m = maps[plan.shard_of[i]];
    if (m.text.empty()) m.text = "# cyrconv rename map 1\n";
    m.text += plan.units[i].user + "\tdovecot\tuser." + plan.units[i].user + ".X\tX (2)\tcollision\n";
    m.text += plan.units[i].user + "\tdovecot\tuser." + plan.units[i].user + ".Y\tY (2)\tcollision\n";
  }
  const MergedRenameMap merged = merge_rename_maps(plan, maps);
  REQUIRE_MESSAGE(merged.error.empty(), merged.error);
  std::size_t entries = 0;
  std::istringstream lines(merged.text);
  for (std::string line; std::getline(lines, line);) entries += !line.empty() && line[0] != '#';
  CHECK(entries == 6);
  CHECK(merged.text.rfind(format_rename_map_header(), 0) == 0);
  CHECK(merged.text.find("b\tdovecot\tuser.b.X") < merged.text.find("\tdovecot\tuser..X"));
  CHECK(merged.text.find("\tdovecot\tuser..Y") < merged.text.find("a\tdovecot\tuser.a.X"));
  CHECK(merged.text.find("user.a.X") < merged.text.find("user.a.Y"));
  // A line for a user of the other shard is refused.
  auto wrong = maps;
  wrong[0].text += "a\tdovecot\tuser.a.Z\tZ\tcollision\n";
  wrong[1].text += "b\tdovecot\tuser.b.Z\tZ\tcollision\n";
  CHECK(merge_rename_maps(plan, wrong).error.find("belongs to shard") != std::string::npos);
}
