// Shard plans: the balancing, the plan file, the choice of shard, and joining shard reports.
// The end-to-end check (shards' union equals a single run) is tests/e2e/shard_check.py.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>

#include "converter/plan/rename_map.h"
#include "converter/report/report_merge.h"
#include "converter/shard/shard_plan.h"
#include "tests/test_support.h"
#include "writers/convert_report.h"
#include "writers/manifest.h"
#include "writers/range_join.h"

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

TEST_CASE("shard balance: more shards than users leaves shards empty, one shard takes everything") {
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

  for (int version : {1, 3}) {  // 1: whole users only, made by an older cyrconv
    auto v = nlohmann::json::parse(text);
    v["schema_version"] = version;
    auto other = parse_shard_plan(v.dump(), "plan.json");
    REQUIRE_FALSE(other.ok());
    CHECK(other.error().message.find("version " + std::to_string(version)) != std::string::npos);
  }
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

TEST_CASE("shard choice: --shard, then SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX, 0-based, in range") {
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

TEST_CASE("report merge: users sorted, totals added up, store findings once, refusals") {
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

namespace {

// (uid, size) in UID order, as read_store_units hands them to cut_uid_ranges.
std::vector<std::pair<std::uint32_t, std::uint64_t>> records(const std::vector<std::uint32_t>& uids,
                                                             std::uint64_t size) {
  std::vector<std::pair<std::uint32_t, std::uint64_t>> v;
  for (auto u : uids) v.emplace_back(u, size);
  return v;
}

// Every UID in exactly one range, ranges in order, counts adding up.
void check_cover(const std::vector<UidRangeCut>& cuts, const std::vector<std::pair<std::uint32_t, std::uint64_t>>& recs) {
  REQUIRE_FALSE(cuts.empty());
  CHECK(cuts.front().first_uid == 1);
  CHECK(cuts.back().last_uid == 0xFFFFFFFFu);
  std::uint64_t messages = 0, bytes = 0;
  for (std::size_t r = 0; r < cuts.size(); ++r) {
    CHECK(cuts[r].first_uid <= cuts[r].last_uid);
    if (r) CHECK(cuts[r].first_uid == cuts[r - 1].last_uid + 1);
    std::uint64_t m = 0, b = 0;
    for (const auto& [uid, size] : recs)
      if (uid >= cuts[r].first_uid && uid <= cuts[r].last_uid) {
        ++m;
        b += size;
      }
    CHECK(m == cuts[r].messages);
    CHECK(b == cuts[r].bytes);
    messages += m;
    bytes += b;
  }
  CHECK(messages == recs.size());
}

}  // namespace

TEST_CASE("plan ranges: a folder is cut by the engine's rule, never inside one UID") {
  // Two records of UID 5 (a duplicate record stays with its predecessor).
  const auto recs = records({1, 2, 3, 5, 5, 6, 9}, 100);
  const auto two = cut_uid_ranges(recs, 0, 2);
  check_cover(two, recs);
  REQUIRE(two.size() == 3);
  CHECK(two[0].last_uid == 2);   // 1, 2
  CHECK(two[1].first_uid == 3);  // 3, 5, 5: full at the second 5, but the same UID
  CHECK(two[1].messages == 3);
  CHECK(two[2].first_uid == 6);  // 6, 9
  // By bytes: 250 bytes fill after three records of 100.
  const auto bytes = cut_uid_ranges(recs, 250, 0);
  check_cover(bytes, recs);
  CHECK(bytes.size() == 3);
  CHECK(bytes[1].first_uid == 5);
  // No limits, or a folder below them: one range, which is no split.
  CHECK(cut_uid_ranges(recs, 0, 0).size() == 1);
  CHECK(cut_uid_ranges(recs, 0, 7).size() == 1);
  CHECK(cut_uid_ranges({}, 0, 1).size() == 1);
  // Many records, random sizes: always a cover.
  std::mt19937 rng(3);
  std::vector<std::pair<std::uint32_t, std::uint64_t>> many;
  std::uint32_t uid = 0;
  for (int i = 0; i < 500; ++i) many.emplace_back(uid += 1 + rng() % 3, rng() % 5000);
  check_cover(cut_uid_ranges(many, 20000, 30), many);
}

TEST_CASE("shard plan file: range units round trip (schema 2), and a broken cover is refused") {
  std::vector<PlanUnit> units = units_of({{"a", 9}, {"b", 4}});
  for (std::size_t r = 0; r < 3; ++r) {
    PlanUnit u{"a", 100 + r, 10, 0};
    u.folder = "user.a.Big";
    u.range = r;
    u.ranges = 3;
    u.first_uid = r == 0 ? 1 : static_cast<std::uint32_t>(r * 10 + 1);
    u.last_uid = r == 2 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(r * 10 + 10);
    units.push_back(u);
  }
  const ShardPlan p = assemble_shard_plan(some_inputs(), "0.1.0", "abc", 12, units, 3);
  // The three big ranges go to three shards; a shard lists the users whose unit it holds.
  std::set<std::size_t> range_shards;
  std::size_t listed_users = 0, listed_ranges = 0;
  for (std::size_t i = 0; i < p.units.size(); ++i)
    if (p.units[i].is_range()) range_shards.insert(p.shard_of[i]);
  for (const auto& s : p.shards) {
    listed_users += s.users.size();
    listed_ranges += s.ranges.size();
  }
  CHECK(range_shards.size() == 3);
  CHECK(listed_users == 2);
  CHECK(listed_ranges == 3);
  const std::string text = shard_plan_json(p);
  auto back = parse_shard_plan(text, "plan.json");
  REQUIRE(back.ok());
  CHECK(back.value().id == p.id);
  CHECK(shard_plan_json(back.value()) == text);
  const auto j = nlohmann::json::parse(text);
  CHECK(j["schema_version"] == 2);
  CHECK(j["units"][2]["folder"] == "user.a.Big");
  CHECK(j["units"][2]["first_uid"] == 1);
  CHECK(j["units"][4]["last_uid"] == 4294967295u);

  // A range left out or a gap in the UIDs: refused before the id is even checked.
  auto gap = nlohmann::json::parse(text);
  gap["units"][3]["first_uid"] = 12;
  auto refused_gap = parse_shard_plan(gap.dump(), "plan.json");
  REQUIRE_FALSE(refused_gap.ok());
  CHECK(refused_gap.error().message.find("cover every UID") != std::string::npos);
  auto dropped = nlohmann::json::parse(text);
  dropped["units"].erase(3);
  CHECK_FALSE(parse_shard_plan(dropped.dump(), "plan.json").ok());
  auto twice = nlohmann::json::parse(text);
  twice["units"].push_back(twice["units"][2]);
  auto refused_twice = parse_shard_plan(twice.dump(), "plan.json");
  REQUIRE_FALSE(refused_twice.ok());
  CHECK(refused_twice.error().message.find("listed twice") != std::string::npos);
}

TEST_CASE("range join: parts in order, X-IMAPbase before the first written message's own X-UID") {
  test::TempDir dir;
  const auto parts = dir.path / "parts";
  std::filesystem::create_directories(parts);
  std::filesystem::create_directories(dir.path / "mail");
  std::filesystem::create_directories(dir.path / "manifests");
  auto put = [&](const std::string& name, const std::string& text) {
    std::ofstream(parts / name, std::ios::binary) << text;
  };
  // Part 0 wrote no message (its files were missing); part 1 two, part 2 one.
  const std::string m3 = "From a Thu Jan  1 00:00:00 1970\nSubject: x\nX-UID: 3\nStatus: O\n\nX-UID: 9 in a body\n\n";
  const std::string m4 = "From b Thu Jan  1 00:00:00 1970\nX-UID: 4\nStatus: O\n\nb\n\n";
  const std::string m7 = "From c Thu Jan  1 00:00:00 1970\nX-UID: 7\nStatus: O\n\nc\n\n";
  put("0.mbox", "");
  put("0.manifest", "{\"uid\":1,\"source_file\":\"1.\",\"flags\":[],\"disposition\":\"missing\"}\n");
  put("1.mbox", m3 + m4);
  put("1.manifest", "{\"uid\":3,\"source_file\":\"3.\",\"mbox_offset\":0,\"disposition\":\"written\"}\n"
                    "{\"uid\":4,\"source_file\":\"4.\",\"mbox_offset\":" + std::to_string(m3.size()) +
                        ",\"disposition\":\"written\"}\n");
  put("2.mbox", m7);
  put("2.manifest", "{\"uid\":7,\"source_file\":\"7.\",\"mbox_offset\":0,\"disposition\":\"written\"}\n");
  RangeJoin j;
  j.parts_dir = parts;
  j.ranges = 3;
  j.mbox = true;
  j.imapbase = "X-IMAPbase: 123 0000000008\n";
  j.mbox_file = dir.path / "mail" / "Big";
  j.manifest_path = dir.path / "manifests" / "Big.jsonl";
  std::uint64_t inserted = 0;
  REQUIRE(join_range_parts(j, inserted).ok);
  CHECK(inserted == j.imapbase.size());
  const std::string mbox = test::read_file(j.mbox_file);
  const std::string want3 = "From a Thu Jan  1 00:00:00 1970\nSubject: x\n" + j.imapbase + "X-UID: 3\nStatus: O\n\nX-UID: 9 in a body\n\n";
  CHECK(mbox == want3 + m4 + m7);
  // Offsets: the first message where it was, the rest moved by the line and the parts before.
  std::vector<std::uint64_t> offsets;
  std::istringstream lines(test::read_file(j.manifest_path));
  for (std::string line; std::getline(lines, line);)
    if (auto o = manifest_line_mbox_offset(line)) offsets.push_back(*o);
  REQUIRE(offsets.size() == 3);
  for (auto o : offsets) CHECK(mbox.compare(o, 5, "From ") == 0);
  CHECK(offsets[1] == want3.size());
  CHECK(offsets[2] == want3.size() + m4.size());
  // A second join finds the same bytes (a merge run again): kept, not refused.
  REQUIRE(join_range_parts(j, inserted).ok);
  CHECK(test::read_file(j.mbox_file) == mbox);
}
