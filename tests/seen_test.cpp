#include <doctest/doctest.h>

#include "parsers/seen.h"
#include "test_support.h"

using namespace cyrconv;

TEST_CASE("seen: UID sets") {
  auto s = parse_uid_set("1:16239,16241:17015,17019", "f");
  REQUIRE(s.ok());
  CHECK(s.value().ranges.size() == 3);
  CHECK(s.value().contains(1));
  CHECK(s.value().contains(16239));
  CHECK_FALSE(s.value().contains(16240));
  CHECK(s.value().contains(17019));
  CHECK_FALSE(s.value().contains(17020));
  CHECK_FALSE(s.value().contains(0));
  CHECK(parse_uid_set("", "f").value().ranges.empty());
  auto u = parse_uid_set("9,3:4,1", "f");  // unordered input is normalised
  REQUIRE(u.ok());
  CHECK(u.value().ranges == std::vector<UidRange>{{1, 1}, {3, 4}, {9, 9}});
  for (auto [bad, off] : std::vector<std::pair<std::string, std::uint64_t>>{
           {"*", 0}, {"1:*", 2}, {"1,,2", 2}, {"1,", 2}, {"1 2", 1}, {"99999999999", 0}, {"1:", 2}}) {
    CAPTURE(bad);
    auto r = parse_uid_set(bad, "f", 100);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset == 100 + off);
  }
}

TEST_CASE("seen: 2.0+ values and a real seen DB") {
  auto e = parse_seen_value("uid", "1 1700000000 7 1700000100 1:3,5,7", "f");
  REQUIRE(e.ok());
  CHECK(e.value().lastread == 1700000000);
  CHECK(e.value().lastuid == 7);
  CHECK(e.value().lastchange == 1700000100);
  CHECK(e.value().seen.contains(5));
  CHECK_FALSE(e.value().seen.contains(4));
  CHECK(parse_seen_value("k", "1 1 0 1 ", "f").value().seen.ranges.empty());
  CHECK_FALSE(parse_seen_value("k", "2 1 0 1 1", "f").ok());
  CHECK_FALSE(parse_seen_value("k", "1 x 0 1 1", "f").ok());
  CHECK_FALSE(parse_seen_value("k", "1 1 0 1 1:x", "f").ok());

  const std::string data = test::read_file(test::fixtures_dir() / "cyrusdb" / "seen.twoskip");
  auto db = read_cyrusdb(data, "seen.twoskip");
  REQUIRE(db.ok());
  auto all = parse_seen_db(db.value().records, "seen.twoskip");
  REQUIRE(all.ok());
  REQUIRE(all.value().size() == 3);
  CHECK(all.value()[0].key == "5b1d9e0c-2d0a-4f7e-9c1b-3a7d0e6f1a22");
  CHECK(all.value()[1].seen.ranges.empty());
  CHECK(all.value()[2].seen.contains(17019));
  CHECK(all.value()[2].lastuid == 20000);
}

TEST_CASE("seen: the real 3.6 fixtures' seen databases parse (twoskip and skiplist)") {
  int files = 0;
  for (const auto& d : std::filesystem::directory_iterator(test::fixtures_dir())) {
    const auto config = d.path() / "config";
    if (!std::filesystem::exists(config)) continue;
    for (const auto& f : std::filesystem::recursive_directory_iterator(config)) {
      const auto name = f.path().filename().string();
      if (name != "seen.db" && !(name.size() > 5 && name.ends_with(".seen"))) continue;
      CAPTURE(f.path().string());
      ++files;
      auto db = read_cyrusdb(test::read_file(f.path()), f.path().string());
      REQUIRE(db.ok());
      CHECK(db.value().warnings.empty());
      auto s = parse_seen_db(db.value().records, f.path().string());
      CHECK(s.ok());
    }
  }
  CHECK(files > 0);
}

TEST_CASE("seen: 1.x cyrus.seen lines, with and without LASTCHANGE, padded") {
  const std::string f =
      "bob\t900000000 12 1:5,9                         \n"
      "fred\t900000001 40 900000002 1:39                \n"
      "ghost\t900000003 7 8                  \n"
      "\n"
      "   \n";
  auto r = parse_cyrus_seen_file(f, "cyrus.seen");
  REQUIRE(r.ok());
  REQUIRE(r.value().size() == 3);
  CHECK(r.value()[0].key == "bob");
  CHECK(r.value()[0].lastchange == 0);
  CHECK(r.value()[0].seen.contains(9));
  CHECK(r.value()[1].lastchange == 900000002);
  CHECK(r.value()[1].seen.contains(39));
  // Cyrus's rule: a token followed by padding (not SP digit) is already the UID set.
  CHECK(r.value()[2].lastchange == 0);
  CHECK(r.value()[2].seen.contains(8));
  auto bad = parse_cyrus_seen_file("bob 1 2 3\n", "cyrus.seen");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().offset == 0);
  auto bad2 = parse_cyrus_seen_file("ok\t1 2 3\nbob\t1 2 3 4:x\n", "cyrus.seen");
  REQUIRE_FALSE(bad2.ok());
  CHECK(bad2.error().offset >= 9);
}
