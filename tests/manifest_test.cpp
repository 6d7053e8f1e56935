// Manifest lines are written by hand (no JSON object per message): they must equal, byte for
// byte, what nlohmann's dump wrote before, for every kind of string the fields can hold.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "parsers/hex.h"
#include "writers/manifest.h"

using namespace cyrconv;

namespace {

// The former implementation, kept here as the reference.
std::string reference_line(const ManifestEntry& e, bool mbox) {
  nlohmann::ordered_json j;
  j["uid"] = e.uid;
  if (e.source_uid && e.source_uid != e.uid) j["source_uid"] = e.source_uid;
  j["source_file"] = e.source_file;
  const std::string disposition = to_string(e.disposition);
  const bool written = disposition == "written" || disposition == "repaired";
  if (mbox && written)
    j["mbox_offset"] = e.mbox_offset;
  else if (!mbox)
    j["output_file"] = e.output_file;
  j["flags"] = e.flags;
  j["keywords"] = e.keywords;
  j["internaldate"] = e.internaldate;
  if (!e.internaldate_source.empty()) j["internaldate_source"] = e.internaldate_source;
  j["size"] = e.size;
  if (e.sha1_known) j["sha1"] = to_hex(e.sha1);
  j["disposition"] = disposition;
  if (!e.changes.empty()) j["changes"] = e.changes;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// Strings biased towards what needs escaping: controls, quotes, backslashes, valid multi-byte
// UTF-8, and broken sequences (truncated, overlong, surrogates, stray continuation bytes).
std::string random_text(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "a", "Z", "/", " ", "\"", "\\", "\n", "\r", "\t", "\b", "\f", std::string(1, '\0'), "\x01", "\x1f", "\x7f",
      "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3", "\xe2\x82", "\xf0\x9f\x98", "\x80", "\xbf", "\xc0\xaf",
      "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff", "\xfe", "\xc2\xa0", "user/jdoe/INBOX/1."};
  std::string s;
  const int n = static_cast<int>(rng() % 12);
  for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
  return s;
}

}  // namespace

TEST_CASE("manifest_line equals nlohmann's dump for every field and string kind") {
  std::mt19937 rng(20261207);
  for (int round = 0; round < 4000; ++round) {
    ManifestEntry e;
    e.uid = static_cast<std::uint32_t>(rng());
    e.source_uid = round % 3 == 0 ? e.uid : round % 3 == 1 ? 0 : static_cast<std::uint32_t>(rng());
    e.source_file = random_text(rng);
    e.output_file = random_text(rng);
    e.mbox_offset = (static_cast<std::uint64_t>(rng()) << 32) | rng();
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) e.flags.push_back(i % 2 ? "\\Seen" : random_text(rng));
    for (int i = static_cast<int>(rng() % 4); i > 0; --i) e.keywords.push_back(random_text(rng));
    e.internaldate = round % 5 == 0 ? -static_cast<std::int64_t>(rng()) : static_cast<std::int64_t>(rng());
    if (round % 4 == 0) e.internaldate_source = random_text(rng);
    e.size = round % 7 == 0 ? UINT64_MAX : rng();
    e.sha1_known = round % 2 == 0;
    for (auto& b : e.sha1) b = static_cast<std::uint8_t>(rng());
    e.disposition = static_cast<MessageDisposition>(rng() % 6);
    for (int i = static_cast<int>(rng() % 3); i > 0; --i) e.changes.push_back(random_text(rng));
    if (round % 3 == 0) e.reason = random_text(rng);
    for (bool mbox : {false, true}) {
      const std::string want = reference_line(e, mbox);
      REQUIRE(manifest_line(e, mbox) == want);
      std::string appended = "prefix";
      append_manifest_line(appended, e, mbox);
      CHECK(appended == "prefix" + want);
    }
  }
}

TEST_CASE("manifest_line: an empty entry and a typical written message") {
  ManifestEntry e;
  CHECK(manifest_line(e, false) ==
        "{\"uid\":0,\"source_file\":\"\",\"output_file\":\"\",\"flags\":[],\"keywords\":[],\"internaldate\":0,"
        "\"size\":0,\"disposition\":\"not_converted\"}\n");
  e.uid = 7;
  e.source_file = "user/jdoe/7.";
  e.flags = {"\\Seen", "\\Flagged"};
  e.keywords = {"$label1"};
  e.internaldate = 1700000000;
  e.size = 1234;
  e.sha1_known = true;
  e.sha1[0] = 0xab;
  e.disposition = MessageDisposition::written;
  e.mbox_offset = 42;
  CHECK(manifest_line(e, true) ==
        "{\"uid\":7,\"source_file\":\"user/jdoe/7.\",\"mbox_offset\":42,\"flags\":[\"\\\\Seen\",\"\\\\Flagged\"],"
        "\"keywords\":[\"$label1\"],\"internaldate\":1700000000,\"size\":1234,"
        "\"sha1\":\"ab00000000000000000000000000000000000000\",\"disposition\":\"written\"}\n");
  CHECK(manifest_line_mbox_offset(manifest_line(e, true)) == 42u);
}
