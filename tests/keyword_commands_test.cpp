#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "converter/convert/keyword_commands.h"
#include "tests/test_support.h"
#include "writers/manifest.h"

using namespace cyrconv;

namespace {

ManifestRecord rec(std::uint32_t uid, std::vector<std::string> keywords, std::string disposition = "written") {
  ManifestRecord r;
  r.uid = uid;
  r.keywords = std::move(keywords);
  r.kind = disposition_of(disposition);
  r.disposition = std::move(disposition);
  return r;
}

}  // namespace

TEST_CASE("apply-keywords: only keywords without a letter, only messages in the Maildir") {
  const std::map<char, std::string> letters{{'a', "$Label1"}, {'b', "Todo"}};
  const std::vector<ManifestRecord> records{
      rec(1, {"$Label1", "kw27"}), rec(2, {"kw27", "kw28"}), rec(3, {"kw28"}, "quarantined"),
      rec(4, {"kw27"}, "repaired"), rec(5, {"kw29"}, "missing"), rec(6, {"Todo"})};
  const FolderExtraKeywords f = extra_keywords("Keywords", letters, records);
  CHECK(f.mailbox == "Keywords");
  REQUIRE(f.uids_of_keyword.size() == 2);
  CHECK(f.uids_of_keyword.at("kw27") == std::vector<std::uint32_t>{1, 2, 4});
  CHECK(f.uids_of_keyword.at("kw28") == std::vector<std::uint32_t>{2});
}

TEST_CASE("apply-keywords: UID sets as ranges, cut where an argument would grow too long") {
  const std::vector<std::uint32_t> uids{1, 2, 3, 5, 7, 8, 100};
  CHECK(uid_sets(uids) == std::vector<std::string>{"1:3,5,7:8,100"});
  CHECK(uid_sets(uids, 6) == std::vector<std::string>{"1:3,5", "7:8", "100"});
  CHECK(uid_sets(std::vector<std::uint32_t>{}).empty());
}

TEST_CASE("apply-keywords: the script quotes every name and finds folders by exact name") {
  FolderExtraKeywords f{"Sterne*/it's", {{"kw'x", {4, 5}}, {"$label9", {9}}}};
  FolderExtraKeywords none{"Leer", {}};
  const std::string s = apply_keywords_script("anna@example.org", {f, none});
  CHECK(s.rfind("#!/bin/sh\n", 0) == 0);
  CHECK(s.find("u=${1:-'anna@example.org'}\n") != std::string::npos);
  CHECK(s.find("guid 'Sterne*/it'\\''s' 9\n") != std::string::npos);  // "$label9" sorts before "kw'x"
  CHECK(s.find("$d flags add -u \"$u\" '$label9' mailbox-guid \"$g\" uid 9\n") != std::string::npos);
  CHECK(s.find("$d flags add -u \"$u\" 'kw'\\''x' mailbox-guid \"$g\" uid 4:5\n") != std::string::npos);
  CHECK(s.find("Leer") == std::string::npos);  // a folder with nothing to add gets no lines
}

namespace {

std::string manifest_of(const std::vector<std::pair<std::uint32_t, std::vector<std::string>>>& messages) {
  std::string text;
  for (const auto& [uid, keywords] : messages) {
    ManifestEntry e;
    e.uid = uid;
    e.keywords = keywords;
    e.disposition = MessageDisposition::written;
    text += manifest_line(e, false);
  }
  return text;
}

void spit(const std::filesystem::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

}  // namespace

TEST_CASE("apply-keywords: written per user from the manifests, kept right by later runs") {
  test::TempDir tmp;
  const auto root = tmp.path / "fred";
  const auto maildir = root / "Maildir" / ".Viele";
  std::filesystem::create_directories(maildir);
  std::filesystem::create_directories(root / "manifests");
  std::string letters;
  for (int i = 0; i < 26; ++i) letters += std::to_string(i) + " kw" + std::to_string(i) + "\n";
  spit(maildir / "dovecot-keywords", letters);
  const std::vector<KeywordFolder> folders{{"Viele", maildir, root / "manifests" / "Viele.jsonl"},
                                           {"INBOX", root / "Maildir", root / "manifests" / "INBOX.jsonl"}};
  std::uint64_t extra = 0;

  // No keyword beyond the letters: no file.
  spit(folders[0].manifest, manifest_of({{1, {"kw0", "kw25"}}}));
  CHECK(write_apply_keywords(root, "fred", folders, false, extra).empty());
  CHECK(extra == 0);
  CHECK_FALSE(std::filesystem::exists(root / "apply-keywords.sh"));

  // A 27th keyword: the file names it for its UIDs.
  spit(folders[0].manifest, manifest_of({{1, {"kw0", "kw26"}}, {2, {"kw26"}}}));
  CHECK(write_apply_keywords(root, "fred", folders, false, extra).empty());
  CHECK(extra == 2);
  std::string s = test::read_file(root / "apply-keywords.sh");
  CHECK(s.find("guid 'Viele' 1\n$d flags add -u \"$u\" 'kw26' mailbox-guid \"$g\" uid 1:2\n") != std::string::npos);

  // An incremental run added a message with another one: both are there.
  spit(folders[0].manifest, manifest_of({{1, {"kw0", "kw26"}}, {2, {"kw26"}}, {7, {"kw27", "kw3"}}}));
  CHECK(write_apply_keywords(root, "fred", folders, false, extra).empty());
  CHECK(extra == 3);
  s = test::read_file(root / "apply-keywords.sh");
  CHECK(s.find("'kw26' mailbox-guid \"$g\" uid 1:2\n") != std::string::npos);
  CHECK(s.find("'kw27' mailbox-guid \"$g\" uid 7\n") != std::string::npos);
  CHECK(s.find("'kw3'") == std::string::npos);

  // Nothing beyond the letters any more: the earlier file is rewritten without commands.
  spit(folders[0].manifest, manifest_of({{1, {"kw0"}}}));
  CHECK(write_apply_keywords(root, "fred", folders, false, extra).empty());
  CHECK(extra == 0);
  CHECK(test::read_file(root / "apply-keywords.sh").find("flags add") == std::string::npos);
}
