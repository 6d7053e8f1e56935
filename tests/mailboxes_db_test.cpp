#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "parsers/mailboxes_db.h"
#include "test_support.h"

using namespace cyrconv;

namespace {

const MailboxEntry* find(const MailboxesDb& db, std::string_view internal) {
  for (const auto& e : db.entries)
    if (e.name.internal() == internal) return &e;
  return nullptr;
}

// Fixture spools made by tools/make-fixtures with Debian's Cyrus 3.6 (helper "fixtures").
std::vector<std::filesystem::path> spool_fixtures() {
  std::vector<std::filesystem::path> out;
  if (!std::filesystem::exists(test::fixtures_dir())) return out;
  for (const auto& d : std::filesystem::directory_iterator(test::fixtures_dir()))
    if (std::filesystem::exists(d.path() / "config" / "mailboxes.db") &&
        std::filesystem::exists(d.path() / "cyrus-tools" / "ctl_mboxlist-d.json"))
      out.push_back(d.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("mailboxes.db: 1.x text mailboxes file read through the flat reader") {
  auto db = read_flat_db("user.fred\tdefault\tfred\tlrswipcda\tanyone\tlrs\t\nuser.fred.Sent\tdefault\tfred\tlrswipcda\t\n", "mailboxes");
  REQUIRE(db.ok());
  auto m = parse_mailboxes_db(db.value().records, "mailboxes");
  REQUIRE(m.ok());
  CHECK(m.value().value_format == MailboxesDb::ValueFormat::v1_text);
  REQUIRE(m.value().entries.size() == 2);
  const auto& e = m.value().entries[0];
  CHECK(e.name.internal() == "user.fred");
  CHECK(e.partition == "default");
  CHECK(e.acl == std::vector<AclEntry>{{"fred", "lrswipcda"}, {"anyone", "lrs"}});
  CHECK(e.legacy_dirs);
  CHECK(e.convertible());
}

TEST_CASE("mailboxes.db: 2.0-2.4 TYPE PARTITION ACL values, with the 2.5 prefix and murder entries") {
  std::vector<DbRecord> r = {
      {"user.fred", "0 default fred\tlrswipkxtecda\t"},
      {"user.fred.Old", "16 default fred\tlrswipkxtecda\t"},
      {"user.remote", "1 backend1!default bob\tlrs\t"},
      {"user.john^doe", "(uniqueid 4a5b6c7d00000001 specialuse \\Sent) 0 p2 john.doe\tlrs\t"},
      {"user.broken", "x default"},
  };
  auto m = parse_mailboxes_db(r, "mailboxes.db");
  REQUIRE(m.ok());
  CHECK(m.value().value_format == MailboxesDb::ValueFormat::v2_type_partition_acl);
  CHECK(m.value().entries.size() == 4);
  REQUIRE(m.value().bad_entries.size() == 1);
  CHECK(m.value().bad_entries[0].offset == 4);
  CHECK(m.value().bad_entries[0].message.find("user.broken") != std::string::npos);
  CHECK(find(m.value(), "user.fred")->convertible());
  CHECK(find(m.value(), "user.fred.Old")->tombstone);
  CHECK(find(m.value(), "user.fred.Old")->type_letters == "d");
  const auto* rem = find(m.value(), "user.remote");
  CHECK(rem->remote);
  CHECK(rem->server == "backend1");
  CHECK(rem->partition == "default");
  CHECK_FALSE(rem->convertible());
  const auto* j = find(m.value(), "user.john^doe");
  CHECK(j->unique_id == "4a5b6c7d00000001");
  CHECK(j->partition == "p2");
  CHECK(j->name.owner() == "john.doe");
}

TEST_CASE("mailboxes.db: 2.5-3.4 dlist values") {
  std::vector<DbRecord> r = {
      {"$RACL$U$fred$user.fred", ""},
      {"example.com!user.fred", "%(A %(fred lrswipkxtecdan anyone lrs) I 6f1c3d2e-aaaa-bbbb-cccc-0123456789ab P default V 1500000000 F 3 M 1500000001)"},
      {"example.com!user.fred.#calendars", "%(A %(fred lrswipkxtecdan) I u2 P default T c V 1 M 2)"},
      {"example.com!user.fred.Gone", "%(A %(fred lrs) I u3 P default T d V 1 M 2)"},
  };
  auto m = parse_mailboxes_db(r, "mailboxes.db");
  REQUIRE(m.ok());
  CHECK(m.value().value_format == MailboxesDb::ValueFormat::v25_dlist);
  CHECK(m.value().bad_entries.empty());
  REQUIRE(m.value().entries.size() == 3);
  const auto& e = m.value().entries[0];
  CHECK(e.name.internal() == "example.com!user.fred");
  CHECK(e.name.owner() == "fred@example.com");
  CHECK(e.uidvalidity == 1500000000u);
  CHECK(e.unique_id == "6f1c3d2e-aaaa-bbbb-cccc-0123456789ab");
  CHECK(e.acl.size() == 2);
  CHECK(e.legacy_dirs);
  CHECK(e.convertible());
  CHECK(find(m.value(), "example.com!user.fred.#calendars")->kind == MailboxKind::calendar);
  CHECK(find(m.value(), "example.com!user.fred.Gone")->tombstone);
  CHECK(std::string(to_string(MailboxKind::calendar)) == "calendar");
}

TEST_CASE("mailboxes.db: 3.6+ keys, kinds, flags and skipped key types") {
  std::vector<DbRecord> r = {
      {"$RACL", "x"},
      {"Aanyone\x1Fuser\x1F" "fred", ""},
      {"Iu1", "%(T e N user\x1F" "fred P default V 1 M 2 A %(fred lrs) H ())"},
      {"Jabc", "x"},
      {"Nexample.com\x1Duser\x1Fjohn.doe\x1FSent", "%(T el I u4 P default V 7 M 2 A %(john.doe@example.com lrs))"},
      {"Nuser\x1F" "fred", "%(T e I u1 P default V 1 M 2 A %(fred lrs))"},
      {"Nuser\x1F" "fred\x1F#jmap", "%(T ei I u5 P default V 1 M 2)"},
      {"Nuser\x1F" "fred\x1F#sieve", "%(T f I u6 P default V 1 M 2)"},
      {"Nuser\x1F" "fred\x1FOld", "%(T l I u7 P default V 1 M 2)"},  // legacy email without 'e'
      {"Nuser\x1F" "fred\x1F" "bad", "%(T eQ I u8 P default V 1 M 2)"},
      {"Nuser\x1F" "fred\x1F" "bad2", "%(T e I u9"},
      {"Xweird", "x"},
  };
  auto m = parse_mailboxes_db(r, "mailboxes.db");
  REQUIRE(m.ok());
  CHECK(m.value().value_format == MailboxesDb::ValueFormat::v36_dlist);
  CHECK(m.value().entries.size() == 5);
  CHECK(m.value().bad_entries.size() == 3);
  const auto* j = find(m.value(), "example.com!user.john^doe.Sent");
  REQUIRE(j);
  CHECK(j->legacy_dirs);
  CHECK(j->name.parts[1] == "john.doe");
  CHECK(j->uidvalidity == 7u);
  const auto* f = find(m.value(), "user.fred");
  REQUIRE(f);
  CHECK_FALSE(f->legacy_dirs);
  CHECK(f->convertible());
  CHECK(find(m.value(), "user.fred.#jmap")->intermediate);
  CHECK(find(m.value(), "user.fred.#sieve")->kind == MailboxKind::sieve);
  CHECK(find(m.value(), "user.fred.Old")->kind == MailboxKind::email);
  CHECK(find(m.value(), "user.fred.Old")->legacy_dirs);
  // Sorted by name: no domain first, parents before children.
  CHECK(m.value().entries.front().name.internal() == "user.fred");
  CHECK(m.value().entries.back().name.domain == "example.com");
}

TEST_CASE("mailboxes.db: nothing readable is an error") {
  std::vector<DbRecord> r = {{"Nuser\x1F" "fred", "%(T"}};
  CHECK_FALSE(parse_mailboxes_db(r, "mailboxes.db").ok());
  CHECK(parse_mailboxes_db({}, "mailboxes.db").ok());
}

TEST_CASE("mailboxes.db: real Cyrus 3.6 fixtures agree with ctl_mboxlist -d and the IMAP oracle") {
  const auto fixtures = spool_fixtures();
  if (fixtures.empty()) MESSAGE("no spool fixtures with ctl_mboxlist dumps found");
  for (const auto& fx : fixtures) {
    CAPTURE(fx.filename().string());
    const auto file = (fx / "config" / "mailboxes.db").string();
    auto db = read_cyrusdb(test::read_file(file), file);
    REQUIRE(db.ok());
    CHECK(db.value().warnings.empty());
    auto m = parse_mailboxes_db(db.value().records, file);
    REQUIRE(m.ok());
    for (const auto& b : m.value().bad_entries) MESSAGE(b.to_string());
    CHECK(m.value().bad_entries.empty());
    CHECK(m.value().value_format == MailboxesDb::ValueFormat::v36_dlist);

    std::ifstream in(fx / "cyrus-tools" / "ctl_mboxlist-d.json");
    const auto dump = nlohmann::json::parse(in);
    std::set<std::string> want, got;
    for (const auto& [name, v] : dump.items()) want.insert(name);
    for (const auto& e : m.value().entries) got.insert(e.name.internal());
    CHECK(got == want);
    CHECK(m.value().entries.size() == dump.size());
    for (const auto& [name, v] : dump.items()) {
      CAPTURE(name);
      const MailboxEntry* e = find(m.value(), name);
      REQUIRE(e);
      CHECK(e->type_letters == v.value("mbtype", std::string()));
      CHECK(e->unique_id == v.value("uniqueid", std::string()));
      CHECK(e->partition == v.value("partition", std::string()));
      CHECK(std::to_string(e->uidvalidity) == v.value("uidvalidity", std::string("0")));
      std::map<std::string, std::string> acl;
      for (const auto& a : e->acl) acl[a.identifier] = a.rights;
      CHECK(acl == v["acl"].get<std::map<std::string, std::string>>());
    }
    // Every folder the oracle saw is an entry with the same mailbox id.
    std::ifstream of(fx / "oracle-folders.jsonl");
    int folders = 0;
    for (std::string line; std::getline(of, line);) {
      auto j = nlohmann::json::parse(line);
      if (!j.contains("internal_name")) continue;
      ++folders;
      const MailboxEntry* e = find(m.value(), j["internal_name"].get<std::string>());
      REQUIRE_MESSAGE(e, j["internal_name"].get<std::string>());
      CHECK(e->unique_id == j["mailboxid"].get<std::string>());
    }
    CHECK(folders > 0);
  }
}
