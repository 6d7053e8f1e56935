#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "parsers/cyrus_header.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

const std::string magic =
    "\xa1\x02\x8b\x0d"
    "Cyrus mailbox header\n"
    "\"The best thing about this system was that it had lots of goals.\"\n"
    "\t--Jim Morris on Andrew\n";

// Every truncation and single-byte corruption gives a value or an error, never a crash.
void check_robust(const std::string& data) {
  for (std::size_t n = 0; n <= data.size(); ++n) {
    auto r = parse_cyrus_header(std::string_view(data).substr(0, n), "t");
    if (!r.ok()) CHECK(r.error().offset <= n);
  }
  std::string copy = data;
  for (std::size_t i = 0; i < copy.size(); ++i) {
    for (char x : {'\xff', '\x01', '\x20'}) {
      copy[i] = static_cast<char>(copy[i] ^ x);
      auto r = parse_cyrus_header(copy, "t");
      if (!r.ok()) CHECK(r.error().offset <= copy.size());
      if (r.ok()) CHECK(r.value().user_flags.size() <= 128);
      copy[i] = data[i];
    }
  }
}

}  // namespace

TEST_CASE("cyrus_header: magic is 115 bytes and checked exactly") {
  REQUIRE(magic.size() == 115);
  const std::string good = magic + "\t0123456789abcdef\n\n\n";
  REQUIRE(parse_cyrus_header(good, "h").ok());
  for (std::size_t i = 0; i < 115; ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    auto r = parse_cyrus_header(bad, "user/fred/cyrus.header");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset == i);
    CHECK(r.error().file == "user/fred/cyrus.header");
  }
  for (std::size_t n = 0; n < 115; ++n) CHECK_FALSE(parse_cyrus_header(good.substr(0, n), "h").ok());
}

TEST_CASE("cyrus_header: real headers from Cyrus's version 9 and 12 test mailboxes") {
  const fs::path dir = test::shared_fixtures_dir() / "cyrus-old";
  if (!fs::exists(dir)) {
    MESSAGE("skipped: ../shared/fixtures/cyrus-old not present");
    return;
  }
  test::TempDir tmp;
  for (const auto& [name, uniqueid] :
       {std::pair<std::string, std::string>{"version9", "8535d5b7-a6ff-4ea1-a9b1-4985e8cf5743"},
        {"version12", "f4fca4c0-fc1d-4c57-a250-23acb743f93b"}}) {
    CAPTURE(name);
    const std::string cmd = "tar -xzf '" + (dir / (name + ".tar.gz")).string() + "' -C '" + tmp.path.string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
    const std::string data = test::read_file(tmp.path / name / "cyrus.header");
    auto r = parse_cyrus_header(data, name + "/cyrus.header");
    REQUIRE(r.ok());
    const CyrusHeader& h = r.value();
    CHECK(h.layout == CyrusHeader::Layout::v2_tab_separated);
    CHECK(h.quota_root == "user.cassandane");
    CHECK(h.unique_id == uniqueid);
    CHECK(h.user_flags.empty());  // an empty flag-names line: no user flags
    REQUIRE(h.acl.size() == 1);
    CHECK(h.acl[0] == AclEntry{"cassandane", "lrswipkxtecdan"});
    CHECK(h.name.empty());
    check_robust(data);
  }
}

TEST_CASE("cyrus_header: 1.x layout has no unique id") {
  auto r = parse_cyrus_header(magic + "user.fred\n$Label1 Junk \nfred\tlrswipcda\tanyone\tlrs\t\n", "h");
  REQUIRE(r.ok());
  const CyrusHeader& h = r.value();
  CHECK(h.layout == CyrusHeader::Layout::v1_no_uniqueid);
  CHECK(h.quota_root == "user.fred");
  CHECK(h.unique_id.empty());
  REQUIRE(h.user_flags.size() == 2);
  CHECK(h.user_flags[0] == "$Label1");
  CHECK(h.user_flags[1] == "Junk");
  REQUIRE(h.acl.size() == 2);
  CHECK(h.acl[1] == AclEntry{"anyone", "lrs"});

  auto empty_root = parse_cyrus_header(magic + "\n\n\n", "h");
  REQUIRE(empty_root.ok());
  CHECK(empty_root.value().layout == CyrusHeader::Layout::v1_no_uniqueid);
  CHECK(empty_root.value().quota_root.empty());
  CHECK(empty_root.value().acl.empty());
}

TEST_CASE("cyrus_header: 2.x flag slots: position is the bit, empty token is unused, trailing SP is not a slot") {
  const std::string text = magic + "\t0123456789abcdef\n$Forwarded  Junk $MDNSent \n-fred\tw\tgroup:staff\tlr\n";
  auto r = parse_cyrus_header(text, "h");
  REQUIRE(r.ok());
  const CyrusHeader& h = r.value();
  CHECK(h.layout == CyrusHeader::Layout::v2_tab_separated);
  CHECK(h.quota_root.empty());
  CHECK(h.unique_id == "0123456789abcdef");
  REQUIRE(h.user_flags.size() == 4);
  CHECK(h.user_flags[0] == "$Forwarded");
  CHECK_FALSE(h.user_flags[1].has_value());
  CHECK(h.user_flags[2] == "Junk");
  CHECK(h.user_flags[3] == "$MDNSent");
  REQUIRE(h.acl.size() == 2);
  CHECK(h.acl[0] == AclEntry{"-fred", "w"});
  CHECK(h.acl[1] == AclEntry{"group:staff", "lr"});  // no trailing TAB is fine too

  auto no_trailing = parse_cyrus_header(magic + "a\tb\nx y\n\n", "h");
  REQUIRE(no_trailing.ok());
  CHECK(no_trailing.value().user_flags.size() == 2);
  check_robust(text);
}

TEST_CASE("cyrus_header: 128 flags are fine, 129 are refused") {
  std::string names;
  for (int i = 0; i < 128; ++i) names += "f" + std::to_string(i) + " ";
  auto ok = parse_cyrus_header(magic + "\tid\n" + names + "\n\n", "h");
  REQUIRE(ok.ok());
  CHECK(ok.value().user_flags.size() == 128);
  CHECK(ok.value().user_flags[127] == "f127");
  auto bad = parse_cyrus_header(magic + "\tid\n" + names + "f128 \n\n", "h");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().offset > 115);
  CHECK(bad.error().message.find("128") != std::string::npos);
}

TEST_CASE("cyrus_header: missing lines and broken fields are errors with offsets") {
  auto err = [](const std::string& text) {
    auto r = parse_cyrus_header(text, "h");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset >= 115);
    CHECK(r.error().offset <= text.size());
    return r.error();
  };
  err(magic);                                  // no quota root line
  err(magic + "user.fred\tid");                // quota line without LF
  err(magic + "user.fred\tid\n");              // no flag line
  err(magic + "user.fred\tid\nflag \n");       // no ACL line
  err(magic + "user.fred\tid\n\nfred\tlrs\tanyone\n");  // identifier without rights
  CHECK(err(magic + "user.fred\t\n\n\n").offset == 115 + 10);  // TAB but no unique id
  err(magic + "%(N user.fred U (a b)\n");      // unterminated dlist
  err(magic + "%(U %(a b))\n");                // U is not a list
}

TEST_CASE("cyrus_header: 3.6+ dlist layout") {
  const std::string text = magic +
                           "%(T e N user.fred.Sent I 0a1b2c3d-aaaa-bbbb-cccc-0123456789ab Q user.fred "
                           "A %(fred lrswipkxtecdan anyone lrs) U (Junk NIL $Forwarded NonJunk))\n";
  auto r = parse_cyrus_header(text, "h");
  REQUIRE(r.ok());
  const CyrusHeader& h = r.value();
  CHECK(h.layout == CyrusHeader::Layout::v3_dlist);
  CHECK(h.type_letters == "e");
  CHECK(h.name == "user.fred.Sent");
  CHECK(h.unique_id == "0a1b2c3d-aaaa-bbbb-cccc-0123456789ab");
  CHECK(h.quota_root == "user.fred");
  REQUIRE(h.acl.size() == 2);
  CHECK(h.acl[0] == AclEntry{"fred", "lrswipkxtecdan"});
  CHECK(h.acl[1] == AclEntry{"anyone", "lrs"});
  REQUIRE(h.user_flags.size() == 4);
  CHECK(h.user_flags[0] == "Junk");
  CHECK_FALSE(h.user_flags[1].has_value());
  CHECK(h.user_flags[2] == "$Forwarded");
  CHECK(h.user_flags[3] == "NonJunk");
  check_robust(text);

  auto minimal = parse_cyrus_header(magic + "%(T e N user.x I abc)\n", "h");
  REQUIRE(minimal.ok());
  CHECK(minimal.value().quota_root.empty());
  CHECK(minimal.value().user_flags.empty());
  CHECK(minimal.value().acl.empty());
}

TEST_CASE("cyrus_header: every cyrus.header under fixtures/ parses") {
  const fs::path root = test::fixtures_dir();
  std::size_t seen = 0;
  if (fs::exists(root)) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().filename() != "cyrus.header") continue;
      ++seen;
      CAPTURE(e.path().string());
      auto r = parse_cyrus_header(test::read_file(e.path()), e.path().string());
      REQUIRE(r.ok());
      CHECK_FALSE(r.value().unique_id.empty());
      if (r.value().layout == CyrusHeader::Layout::v3_dlist) CHECK_FALSE(r.value().name.empty());
    }
  }
  if (seen == 0) MESSAGE("no cyrus.header under fixtures/ yet");
}
