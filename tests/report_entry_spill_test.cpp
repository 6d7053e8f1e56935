// report merge's reading side: the shards' per-message entries wait in a scratch file
// (converter/report/report_entry_spill.h) while each report is read entry by entry
// (converter/report/shard_report_reader.h); the merged report streams out byte for byte as one
// dump of the whole tree (report_merge.h).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "converter/report/report_entry_spill.h"
#include "converter/report/report_merge.h"
#include "converter/report/shard_report_reader.h"
#include "tests/test_support.h"

using namespace cyrconv;
using nlohmann::ordered_json;

namespace {

std::vector<std::pair<std::uint64_t, std::string>> read_span(const ReportEntrySpill& spill, std::size_t span) {
  std::vector<std::pair<std::uint64_t, std::string>> out;
  ReportEntrySpill::Reader r(spill, span);
  while (r.next()) out.emplace_back(r.uid(), std::string(r.json()));
  CHECK(r.error().empty());
  return out;
}

// Spans of entries of many sizes (one far larger than a reader's buffer), in file or memory.
void spans_round_trip(ReportEntrySpill& spill) {
  const std::size_t a = spill.new_span();
  std::vector<std::pair<std::uint64_t, std::string>> want_a, want_b;
  for (std::uint64_t uid = 1; uid <= 3000; ++uid) {
    want_a.emplace_back(uid, "{\"uid\":" + std::to_string(uid) + ",\"pad\":\"" + std::string(uid % 700, 'x') + "\"}");
    REQUIRE(spill.append(a, uid, want_a.back().second).empty());
  }
  const std::size_t b = spill.new_span();
  for (std::uint64_t uid : {9u, 4u, 4u}) {
    want_b.emplace_back(uid, std::string(uid == 9 ? (3u << 20) : 10u, 'y'));  // 3 MiB: beyond every buffer
    REQUIRE(spill.append(b, uid, want_b.back().second).empty());
  }
  const std::size_t empty = spill.new_span();
  REQUIRE(spill.flush().empty());
  CHECK(read_span(spill, a) == want_a);
  CHECK(read_span(spill, b) == want_b);
  CHECK(read_span(spill, empty).empty());
  CHECK(spill.span(a).sorted);
  CHECK_FALSE(spill.span(b).sorted);  // 9 then 4: a split folder's parts are then sorted, not merged
  CHECK(spill.span(a).count == 3000);
}

}  // namespace

TEST_CASE("report entry spill: spans read back in order, from the scratch file and from memory") {
  cyrconv::test::TempDir tmp;
  ReportEntrySpill on_disk;
  REQUIRE(on_disk.open(tmp.path).empty());
  spans_round_trip(on_disk);
  CHECK(std::filesystem::is_empty(tmp.path));  // unnamed: nothing left to clean up
  ReportEntrySpill in_memory;  // not opened: what a merge does where no scratch file can be made
  spans_round_trip(in_memory);
  ReportEntrySpill nowhere;
  CHECK_FALSE(nowhere.open(tmp.path / "no" / "such" / "dir").empty());
}

TEST_CASE("shard report reader: only users[].folders[].messages go to the spill, counted by severity") {
  const std::string text = R"({
  "schema": "cyrconv-convert",
  "messages": [1, 2],
  "findings": [{"severity": "error", "kind": "k"}],
  "users": [
    {"user": "fred", "messages": ["kept"], "folders": [
      {"name_raw": "user.fred", "findings": [], "messages": [
        {"uid": 7, "findings": [{"severity": "warning"}, {"severity": "error"}, {"severity": "info"}]},
        {"uid": 3, "findings": [], "changes": ["a\nb"], "size": 1.5e3}
      ], "extra": {"messages": [{"uid": 1}]}},
      {"name_raw": "user.fred.X", "messages": []}
    ]}
  ]
})";
  std::istringstream in(text);
  ReportEntrySpill spill;
  const ShardReportTree r = read_shard_report(in, spill);
  REQUIRE(r.is_json);
  REQUIRE(r.spill_error.empty());
  const ordered_json whole = ordered_json::parse(text);
  // Everything but the folders' entries is as a whole parse gives it, key order kept.
  CHECK(r.tree["messages"] == whole["messages"]);
  CHECK(r.tree["users"][0]["messages"] == whole["users"][0]["messages"]);
  CHECK(r.tree["users"][0]["folders"][0]["extra"] == whole["users"][0]["folders"][0]["extra"]);
  CHECK(r.tree["findings"] == whole["findings"]);
  // The entries: one span per folder, their numbers in place of the arrays.
  REQUIRE(spill.span_count() == 2);
  CHECK(r.tree["users"][0]["folders"][0]["messages"] == ordered_json::array({0}));
  CHECK(r.tree["users"][0]["folders"][1]["messages"] == ordered_json::array({1}));
  const auto entries = read_span(spill, 0);
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].first == 7);
  CHECK(ordered_json::parse(entries[0].second) == whole["users"][0]["folders"][0]["messages"][0]);
  CHECK(ordered_json::parse(entries[1].second) == whole["users"][0]["folders"][0]["messages"][1]);
  CHECK(spill.span(0).errors == 1);
  CHECK(spill.span(0).warnings == 1);
  CHECK_FALSE(spill.span(0).sorted);
  CHECK(spill.span(0).malformed.empty());
  CHECK(spill.span(1).count == 0);

  std::istringstream cut(text.substr(0, text.size() / 2));
  ReportEntrySpill spill2;
  CHECK_FALSE(read_shard_report(cut, spill2).is_json);
  std::istringstream entry_without_findings(R"({"users": [{"folders": [{"messages": [{"uid": 1}]}]}]})");
  ReportEntrySpill spill3;
  CHECK(read_shard_report(entry_without_findings, spill3).is_json);
  CHECK(spill3.span(0).malformed.find("findings") != std::string::npos);
}

TEST_CASE("merged report streams out as one dump of the tree with its entries, split folders merged by UID") {
  auto spill = std::make_shared<ReportEntrySpill>();
  MergedReport m;
  const auto add_span = [&](std::vector<std::uint64_t> uids) {
    const std::size_t s = spill->new_span();
    for (auto uid : uids)
      REQUIRE(spill->append(s, uid, ordered_json{{"uid", uid}, {"findings", ordered_json::array()}}.dump()).empty());
    return s;
  };
  // Two parts in range order with interleaved UIDs (a duplicate UID: the earlier part's first),
  // then a folder of one span, then a split folder whose parts are out of order inside.
  const std::size_t p0 = add_span({1, 4, 9}), p1 = add_span({2, 4, 10, 11});
  const std::size_t one = add_span({5, 3});
  const std::size_t q0 = add_span({8, 6}), q1 = add_span({7});
  REQUIRE(spill->flush().empty());
  m.entries = spill;
  m.tree = ordered_json::parse(R"({"schema": "cyrconv-convert", "users": [{"user": "a", "folders": []}], "seconds": 1.5})");
  auto& folders = m.tree["users"][0]["folders"];
  folders.push_back(ordered_json{{"name_raw", "split"}, {"messages", {p0, p1}}, {"after", {{"x", 1}}}});
  folders.push_back(ordered_json{{"name_raw", "plain"}, {"messages", {one}}});
  folders.push_back(ordered_json{{"name_raw", "unsorted"}, {"messages", {q0, q1}}});
  std::ostringstream out;
  REQUIRE(write_merged_report(m, out).empty());

  ordered_json expected = m.tree;
  const auto entries = [](std::vector<std::uint64_t> uids) {
    ordered_json a = ordered_json::array();
    for (auto uid : uids) a.push_back(ordered_json{{"uid", uid}, {"findings", ordered_json::array()}});
    return a;
  };
  expected["users"][0]["folders"][0]["messages"] = entries({1, 2, 4, 4, 9, 10, 11});
  expected["users"][0]["folders"][1]["messages"] = entries({5, 3});  // one span: as it is
  expected["users"][0]["folders"][2]["messages"] = entries({6, 7, 8});
  CHECK(out.str() == expected.dump(2) + "\n");
}
