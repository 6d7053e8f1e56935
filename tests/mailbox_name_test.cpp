#include <doctest/doctest.h>

#include "parsers/mailbox_name.h"

using namespace cyrconv;

TEST_CASE("mailbox names: internal form with domains and '^'") {
  auto n = parse_internal_name("example.com!user.john^doe.Sent");
  CHECK(n.domain == "example.com");
  CHECK(n.parts == std::vector<std::string>{"user", "john.doe", "Sent"});
  CHECK(n.owner() == "john.doe@example.com");
  CHECK(n.internal() == "example.com!user.john^doe.Sent");
  CHECK(n.is_user());
  CHECK_FALSE(n.is_deleted());
  auto s = parse_internal_name("shared.lists");
  CHECK(s.domain.empty());
  CHECK(s.owner().empty());
  CHECK(parse_internal_name("user.fred").owner() == "fred");
  CHECK(parse_internal_name("user").owner().empty());
  CHECK(parse_internal_name("").parts.empty());
  CHECK(parse_internal_name("DELETED.user.fred.Old.5F3A2B1C").is_deleted());
  CHECK(parse_internal_name("example.com!DELETED.user.fred.5F3A2B1C").is_deleted());
  CHECK_FALSE(parse_internal_name("user.DELETED").is_deleted());
}

TEST_CASE("mailbox names: 3.6 db-names") {
  auto n = parse_dbname("example.com\x1Duser\x1Fjohn.doe\x1FSent");
  CHECK(n == parse_internal_name("example.com!user.john^doe.Sent"));
  CHECK(parse_dbname("user\x1F" "fred").internal() == "user.fred");
  CHECK(parse_dbname("DELETED\x1Fuser\x1F" "fred\x1FOld\x1F" "5F3A2B1C").is_deleted());
  CHECK(parse_dbname("shared").parts == std::vector<std::string>{"shared"});
  CHECK(parse_dbname("").parts.empty());
}

TEST_CASE("mailbox names: order puts parents before children and domains last") {
  auto a = parse_internal_name("user.fred");
  auto b = parse_internal_name("user.fred.Sent");
  auto c = parse_internal_name("user.fred2");
  auto d = parse_internal_name("example.com!user.a");
  CHECK(a < b);
  CHECK(b < c);
  CHECK(c < d);
  CHECK_FALSE(b < a);
  CHECK_FALSE(a < a);
}
