#include <doctest/doctest.h>

#include "parsers/quota.h"
#include "test_support.h"

using namespace cyrconv;

TEST_CASE("quota: two-number forms") {
  auto q = parse_quota_value("12345\n-1\n", "quota/u/user.fred");
  REQUIRE(q.ok());
  CHECK(q.value().storage.used == 12345);
  CHECK_FALSE(q.value().storage.limit);
  auto r = parse_quota_value("100 2048 M 3 10 AS 0 -1 NF 4 50", "q");
  REQUIRE(r.ok());
  CHECK(r.value().storage.limit == 2048);
  REQUIRE(r.value().messages);
  CHECK(r.value().messages->used == 3);
  CHECK(r.value().messages->limit == 10);
  REQUIRE(r.value().annotation_storage);
  CHECK_FALSE(r.value().annotation_storage->limit);
  CHECK(r.value().folders->limit == 50);
  CHECK(parse_quota_value("100 2048 99", "q").ok());  // leftover "quota -f" number
  CHECK_FALSE(parse_quota_value("100", "q").ok());
  CHECK_FALSE(parse_quota_value("abc 1", "q").ok());
  auto bad = parse_quota_value("1 2 X 3 4", "q");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().offset == 4);
}

TEST_CASE("quota: dlist form") {
  auto q = parse_quota_value("%(S (5 1024) M (2 -1) NF (1 100) MODSEQ 7)", "quotas.db");
  REQUIRE(q.ok());
  CHECK(q.value().storage.used == 5);
  CHECK(q.value().storage.limit == 1024);
  CHECK_FALSE(q.value().messages->limit);
  CHECK(q.value().folders->used == 1);
  CHECK_FALSE(q.value().annotation_storage);
  CHECK_FALSE(parse_quota_value("%(S (x 1))", "q").ok());
  CHECK_FALSE(parse_quota_value("%(S (1 2)", "q").ok());
}

TEST_CASE("quota: the real Cyrus 3.6 quotalegacy files") {
  int files = 0;
  for (const auto& d : std::filesystem::directory_iterator(test::fixtures_dir())) {
    const auto config = d.path() / "config";
    if (!std::filesystem::exists(config)) continue;
    for (const auto& f : std::filesystem::recursive_directory_iterator(config)) {
      if (!f.is_regular_file() || f.path().parent_path().parent_path().filename() != "quota") continue;
      CAPTURE(f.path().string());
      ++files;
      auto q = parse_quota_value(test::read_file(f.path()), f.path().string());
      REQUIRE(q.ok());
      CHECK(q.value().storage.used > 0);
      CHECK(q.value().storage.limit);  // the fixtures set storage limits
      CHECK(q.value().messages);        // written as "M (USED)": no limit
    }
  }
  CHECK(files > 0);
}
