#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "converter/keyword_commands.h"

using namespace cyrconv;

namespace {

ManifestRecord rec(std::uint32_t uid, std::vector<std::string> keywords, std::string disposition = "written") {
  ManifestRecord r;
  r.uid = uid;
  r.keywords = std::move(keywords);
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
