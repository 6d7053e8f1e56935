#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "parsers/annotations.h"
#include "parsers/mailboxes_db.h"
#include "test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

std::string key_of(std::string_view mailbox, std::string_view entry, std::string_view userid) {
  std::string k(mailbox);
  k += '\0';
  k += entry;
  k += '\0';
  k += userid;
  k += '\0';
  return k;
}

std::string be32(std::uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

// A value as make_entry writes it; `width` is sizeof(unsigned long) of the writing host.
std::string value_of(std::string_view v, std::size_t width, bool big_endian_host, std::uint64_t modseq = 0,
                     unsigned char flags = 0, bool with_modseq = true) {
  const std::string zero4(4, '\0');
  auto ulong = [&](std::uint32_t n) {
    if (width == 4) return be32(n);
    return big_endian_host ? zero4 + be32(n) : be32(n) + zero4;
  };
  std::string out = ulong(static_cast<std::uint32_t>(v.size()));
  out += v;
  out += '\0';
  out += "text/plain";
  out += '\0';
  out += ulong(0);
  if (with_modseq) {
    out += be32(static_cast<std::uint32_t>(modseq >> 32)) + be32(static_cast<std::uint32_t>(modseq));
    out += static_cast<char>(flags);
  }
  return out;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

AnnotationsDb read_annotations(const fs::path& p) {
  auto db = read_cyrusdb(test::read_file(p), p.string());
  REQUIRE(db.ok());
  CHECK(db.value().warnings.empty());
  auto a = parse_annotations_db(db.value().records, p.string());
  REQUIRE(a.ok());
  for (const auto& b : a.value().bad_entries) MESSAGE(b.to_string());
  CHECK(a.value().bad_entries.empty());
  return std::move(a).value();
}

}  // namespace

TEST_CASE("annotations: a record as 3.6 writes it on a 64-bit little-endian host") {
  auto a = parse_annotation_record(key_of("4luj6nuwejvk771nrqt45d1f", "/specialuse", "[.OwNeR.]"),
                                   value_of("\\Archive", 8, false, 7), "annotations.db");
  REQUIRE(a.ok());
  CHECK(a.value().mailbox == "4luj6nuwejvk771nrqt45d1f");
  CHECK(a.value().entry == "/specialuse");
  CHECK(a.value().owner_private());
  CHECK_FALSE(a.value().shared());
  CHECK(a.value().value == "\\Archive");
  CHECK(a.value().modseq == 7);
  CHECK_FALSE(a.value().deleted);
}

TEST_CASE("annotations: 32-bit and 64-bit big-endian hosts, records without modseq, shared and server entries") {
  auto a = parse_annotation_record(key_of("user.fred.Sent", "/comment", ""), value_of("Gesendet", 4, true, 9),
                                   "annotations.db");
  REQUIRE(a.ok());
  CHECK(a.value().shared());
  CHECK(a.value().value == "Gesendet");
  CHECK(a.value().modseq == 9);
  auto b = parse_annotation_record(key_of("", "/motd", ""), value_of("hello", 8, true, 0x100000002ULL), "a");
  REQUIRE(b.ok());
  CHECK(b.value().mailbox.empty());
  CHECK(b.value().value == "hello");
  CHECK(b.value().modseq == 0x100000002ULL);
  auto c = parse_annotation_record(key_of("user.fred", "/comment", "fred"), value_of("old", 4, true, 0, 0, false), "a");
  REQUIRE(c.ok());
  CHECK(c.value().userid == "fred");
  CHECK(c.value().value == "old");
  CHECK(c.value().modseq == 0);
  // Empty values: the width still comes out right (the NUL after an empty value).
  for (std::size_t w : {4u, 8u}) {
    auto e = parse_annotation_record(key_of("x", "/comment", ""), value_of("", w, false, 3, 1), "a");
    REQUIRE(e.ok());
    CHECK(e.value().deleted);
    CHECK(e.value().value.empty());
    CHECK(e.value().modseq == 3);
  }
}

TEST_CASE("annotations: a deleted entry keeps no value, bad records are named and the rest still read") {
  auto d = parse_annotation_record(key_of("id", "/comment", ""), value_of("stale", 8, false, 5, 1), "a");
  REQUIRE(d.ok());
  CHECK(d.value().deleted);
  CHECK(d.value().value.empty());

  CHECK_FALSE(parse_annotation_record(std::string("id\0/comment", 11), value_of("v", 8, false), "a").ok());
  CHECK_FALSE(parse_annotation_record("nonul", value_of("v", 8, false), "a").ok());
  CHECK_FALSE(parse_annotation_record(key_of("id", "comment", ""), value_of("v", 8, false), "a").ok());
  CHECK_FALSE(parse_annotation_record(key_of("id", "/comment", ""), std::string("\0\0", 2), "a").ok());
  CHECK_FALSE(parse_annotation_record(key_of("id", "/comment", ""), be32(100) + "short", "a").ok());
  auto bad = parse_annotation_record(key_of("id", "/comment", ""), be32(100) + "short", "annotations.db");
  CHECK(bad.error().to_string().find("annotations.db") != std::string::npos);

  std::vector<DbRecord> recs = {{key_of("id", "/comment", ""), "garbage"},
                                {key_of("id", "/specialuse", "[.OwNeR.]"), value_of("\\Sent", 8, false, 1)}};
  auto db = parse_annotations_db(recs, "annotations.db");
  REQUIRE(db.ok());
  CHECK(db.value().entries.size() == 1);
  REQUIRE(db.value().bad_entries.size() == 1);
  CHECK(db.value().bad_entries[0].message.find("record #0") != std::string::npos);
  CHECK_FALSE(parse_annotations_db({recs[0]}, "annotations.db").ok());
  CHECK(parse_annotations_db({}, "annotations.db").ok());
}

TEST_CASE("annotations: every annotations.db of the real Cyrus 3.6 fixtures reads, keyed by mailbox ids") {
  int files = 0, entries = 0;
  for (const auto& e : fs::recursive_directory_iterator(test::fixtures_dir())) {
    if (!e.is_regular_file() || e.path().filename() != "annotations.db") continue;
    const fs::path config = e.path().parent_path();
    if (!fs::exists(config / "mailboxes.db")) continue;
    CAPTURE(e.path().string());
    ++files;
    const AnnotationsDb a = read_annotations(e.path());
    auto mdb = read_cyrusdb(test::read_file(config / "mailboxes.db"), "mailboxes.db");
    REQUIRE(mdb.ok());
    auto mboxes = parse_mailboxes_db(mdb.value().records, "mailboxes.db");
    REQUIRE(mboxes.ok());
    std::set<std::string> ids;
    for (const auto& m : mboxes.value().entries) ids.insert(m.unique_id);
    for (const auto& x : a.entries) {
      ++entries;
      CAPTURE(x.mailbox);
      CHECK((x.mailbox.empty() || ids.count(x.mailbox)));  // 3.6 keys by id, not by name
      if (!x.deleted) CHECK_FALSE(x.value.empty());
    }
  }
  CHECK(files > 0);
  CHECK(entries > 0);
}

TEST_CASE("annotations: cyrus36-extras special-use and comments agree with GETMETADATA (twoskip and skiplist)") {
  const fs::path fx = test::fixtures_dir() / "cyrus36-extras";
  const AnnotationsDb twoskip = read_annotations(fx / "config" / "annotations.db");
  const AnnotationsDb skiplist = read_annotations(fx / "cyrus-tools" / "annotations.db.skiplist");
  REQUIRE(twoskip.entries.size() == skiplist.entries.size());
  for (std::size_t i = 0; i < twoskip.entries.size(); ++i) {
    const auto& x = twoskip.entries[i];
    const auto& y = skiplist.entries[i];
    CHECK(std::tie(x.mailbox, x.entry, x.userid, x.value, x.modseq, x.deleted) ==
          std::tie(y.mailbox, y.entry, y.userid, y.value, y.modseq, y.deleted));
  }

  // The owner's folders by mailbox id, from the IMAP oracle.
  std::map<std::string, std::pair<std::string, std::string>> own;  // id -> (user, folder_raw)
  for (const auto& f : read_jsonl(fx / "oracle-folders.jsonl"))
    if (f["kind"] == "mail") own[f["mailboxid"].get<std::string>()] = {f["user"], f["folder_raw"]};
  REQUIRE_FALSE(own.empty());

  using Key = std::tuple<std::string, std::string, std::string>;  // user, folder_raw, /shared|/private + entry
  std::map<Key, std::string> got;
  for (const auto& a : twoskip.entries) {
    auto it = own.find(a.mailbox);
    if (it == own.end() || a.deleted) continue;
    if (a.entry != "/specialuse" && a.entry != "/comment") continue;  // what the oracle asked for
    if (!a.shared() && !a.owner_private()) continue;  // another user's private value
    got[{it->second.first, it->second.second, (a.shared() ? "/shared" : "/private") + a.entry}] = a.value;
  }

  std::ifstream in(fx / "oracle-extras.json");
  const auto oracle = nlohmann::json::parse(in);
  std::map<Key, std::string> want;
  std::set<std::pair<std::string, std::string>> own_folders;
  for (const auto& [id, uf] : own) own_folders.insert(uf);
  int special = 0;
  for (const auto& [user, u] : oracle["users"].items()) {
    for (const auto& [raw, meta] : u["metadata"].items()) {
      if (!own_folders.count({user, raw})) continue;
      for (const auto& [entry, value] : meta.items()) want[{user, raw, entry}] = value.get<std::string>();
    }
    // LIST RETURN (SPECIAL-USE) shows the same attribute as the annotation.
    for (const auto& l : u["list"]) {
      if (l["special_use"].empty() || !own_folders.count({user, l["folder_raw"].get<std::string>()})) continue;
      ++special;
      CAPTURE(l["folder_raw"].get<std::string>());
      auto it = got.find({user, l["folder_raw"], "/private/specialuse"});
      REQUIRE(it != got.end());
      CHECK(it->second == l["special_use"][0].get<std::string>());
    }
  }
  CHECK(special > 0);
  CHECK_FALSE(want.empty());
  CHECK(got == want);
}
