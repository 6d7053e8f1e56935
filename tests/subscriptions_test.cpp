#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "parsers/mailboxes_db.h"
#include "parsers/subscriptions.h"
#include "test_support.h"

using namespace cyrconv;

namespace {
std::vector<std::string> internals(const std::vector<MailboxName>& v) {
  std::vector<std::string> out;
  for (const auto& n : v) out.push_back(n.internal());
  return out;
}
}  // namespace

TEST_CASE("subscriptions: real version-2 file with the INBOX-prefix defect") {
  auto db = read_cyrusdb(test::read_file(test::fixtures_dir() / "cyrusdb" / "sub-v2.flat"), "sub-v2.flat");
  REQUIRE(db.ok());
  auto s = parse_subscriptions(db.value().records, "fred", "sub-v2.flat");
  REQUIRE(s.ok());
  CHECK(internals(s.value()) ==
        std::vector<std::string>{"shared.john^doe", "user.bob.Shared", "user.fred", "user.fred.Sent", "user.freddy.x"});
}

TEST_CASE("subscriptions: real old-style file with internal names") {
  auto db = read_cyrusdb(test::read_file(test::fixtures_dir() / "cyrusdb" / "sub-old.flat"), "sub-old.flat");
  REQUIRE(db.ok());
  auto s = parse_subscriptions(db.value().records, "fred", "sub-old.flat");
  REQUIRE(s.ok());
  CHECK(internals(s.value()) == std::vector<std::string>{"user.fred", "user.fred.Sent", "user.john^doe.Drafts",
                                                          "example.com!user.bob.Lists"});
}

TEST_CASE("subscriptions: version 3, domains, and the defect rule only in version 2") {
  std::vector<DbRecord> v3 = {{"\x1FVER\x1F", "3"}, {"NINBOX", ""}, {"NINBOX\x1FSent", ""}, {"NINBOXdy\x1Fx", ""}};
  auto s = parse_subscriptions(v3, "fred@example.com", "sub.db");
  REQUIRE(s.ok());
  CHECK(internals(s.value()) ==
        std::vector<std::string>{"INBOXdy.x", "example.com!user.fred", "example.com!user.fred.Sent"});
  std::vector<DbRecord> bad = {{"\x1FVER\x1F", "x"}};
  CHECK_FALSE(parse_subscriptions(bad, "fred", "sub.db").ok());
  std::vector<DbRecord> badkey = {{"\x1FVER\x1F", "2"}, {"user.fred", ""}};
  CHECK_FALSE(parse_subscriptions(badkey, "fred", "sub.db").ok());
}

// The user's subscription file: 3.6 uuid layout (…/uuid/c1/c2/INBOXID/sub.db) or legacy
// (CONFIG/[domain/D/DOMAIN/]user/H/LOCAL.sub; the hash letter is found by scanning).
std::filesystem::path find_sub_file(const std::filesystem::path& config, const std::string& user, const std::string& inbox_id) {
  const auto uuid = config / "user" / "uuid" / inbox_id.substr(0, 1) / inbox_id.substr(1, 1) / inbox_id / "sub.db";
  if (std::filesystem::exists(uuid)) return uuid;
  const std::size_t at = user.find('@');
  const std::string local = user.substr(0, at);
  std::filesystem::path root = config / "user";
  if (at != std::string::npos) {
    for (const auto& d : std::filesystem::directory_iterator(config / "domain"))
      if (std::filesystem::exists(d.path() / user.substr(at + 1))) root = d.path() / user.substr(at + 1) / "user";
  }
  for (const auto& h : std::filesystem::directory_iterator(root))
    if (std::filesystem::exists(h.path() / (local + ".sub"))) return h.path() / (local + ".sub");
  return {};
}

TEST_CASE("subscriptions: the real Cyrus 3.6 fixtures match the IMAP oracle") {
  int fixtures = 0;
  for (const auto& d : std::filesystem::directory_iterator(test::fixtures_dir())) {
    const auto fx = d.path();
    if (!std::filesystem::exists(fx / "oracle-folders.jsonl") || !std::filesystem::exists(fx / "config" / "mailboxes.db")) continue;
    ++fixtures;
    CAPTURE(fx.filename().string());
    auto mdb = read_cyrusdb(test::read_file(fx / "config" / "mailboxes.db"), "mailboxes.db");
    REQUIRE(mdb.ok());
    auto mboxes = parse_mailboxes_db(mdb.value().records, "mailboxes.db");
    REQUIRE(mboxes.ok());
    // Expected: what LIST (SUBSCRIBED) said per user, by internal name.
    std::map<std::string, std::set<std::string>> expected;
    std::ifstream in(fx / "oracle-folders.jsonl");
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line);
      if (j.value("subscribed", nlohmann::json()).is_boolean() && j["subscribed"].get<bool>())
        expected[j["user"].get<std::string>()].insert(j["internal_name"].get<std::string>());
    }
    REQUIRE_FALSE(expected.empty());
    std::set<std::string> existing;
    for (const auto& e : mboxes.value().entries)
      if (!e.tombstone) existing.insert(e.name.internal());
    for (const auto& [user, names] : expected) {
      CAPTURE(user);
      std::string inbox_id;
      for (const auto& e : mboxes.value().entries)
        if (e.name.is_user() && e.name.parts.size() == 2 && e.name.owner() == user) inbox_id = e.unique_id;
      REQUIRE_FALSE(inbox_id.empty());
      const auto path = find_sub_file(fx / "config", user, inbox_id);
      REQUIRE_FALSE(path.empty());
      auto db = read_cyrusdb(test::read_file(path), path.string());
      REQUIRE(db.ok());
      auto subs = parse_subscriptions(db.value().records, user, path.string());
      REQUIRE(subs.ok());
      std::set<std::string> got;
      for (const auto& n : subs.value()) got.insert(n.internal());
      // Every subscription the server listed is in the file; the rest are subscriptions to
      // folders that no longer exist (deleting a folder keeps its subscription).
      for (const auto& n : names) CHECK_MESSAGE(got.count(n), n);
      for (const auto& n : got)
        if (!names.count(n)) CHECK_MESSAGE(!existing.count(n), n);
    }
  }
  if (fixtures == 0) MESSAGE("no spool fixtures found");
}
