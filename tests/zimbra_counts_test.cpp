#include <doctest/doctest.h>

#include "converter/zimbra/zimbra_counts.h"
#include "writers/shell_quote.h"
#include "writers/zimbra_import_script.h"

using namespace cyrconv;

TEST_CASE("zimbra counts: getAllFolders table (ZMailboxUtil's format), -v JSON, expected file, comparison") {
  // As doGetAllFolders prints it: "%10.10s  %4.4s  %10d  %10d  %s".
  const std::string table =
      "        Id  View      Unread   Msg Count  Path\n"
      "----------  ----  ----------  ----------  ----------\n"
      "         1  conv           0           0  /\n"
      "         2  mess           3          12  /Inbox\n"
      "       257  mess           0           4  /Tom & Jerry\n"
      "       258  appo           0           2  /Arbeit (2)\n";
  auto t = parse_zimbra_folder_listing(table, "gaf.txt");
  REQUIRE(t);
  CHECK(t.value().at("/Inbox") == 12);
  CHECK(t.value().at("/Tom & Jerry") == 4);
  CHECK(t.value().at("/Arbeit (2)") == 2);
  CHECK_FALSE(parse_zimbra_folder_listing("hello\n", "x"));
  auto bad = parse_zimbra_folder_listing(table + "   259  mess  x  y  /Bad\n", "gaf.txt");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().to_string().find("/Bad") != std::string::npos);

  // getAllFolders -v: ZFolder.toZJSONObject, nested subFolders.
  const std::string json = R"({"id":"1","path":"/","itemCount":0,"subFolders":[
      {"id":"2","path":"/Inbox","itemCount":12,"subFolders":[{"id":"300","path":"/Inbox/Sub","itemCount":1,"subFolders":[]}]},
      {"id":"257","path":"/Tom & Jerry","messageCount":4,"subFolders":[]}]})";
  auto j = parse_zimbra_folder_listing(json, "gaf-v.json");
  REQUIRE(j);
  CHECK(j.value().at("/Inbox/Sub") == 1);
  CHECK(j.value().at("/Tom & Jerry") == 4);

  const std::string tsv = zimbra_expected_tsv({{"Inbox", "message", 12}, {"Tom & Jerry", "message", 5}, {"Gone", "contact", 1}});
  auto want = parse_zimbra_expected(tsv, "zimbra-expected.tsv");
  REQUIRE(want);
  CHECK(want.value().size() == 3);
  const auto d = compare_zimbra_counts(want.value(), t.value());
  REQUIRE(d.size() == 2);
  CHECK(d[0].path == "/Gone");
  CHECK_FALSE(d[0].got.has_value());
  CHECK(d[1].path == "/Tom & Jerry");
  CHECK(d[1].expected == 5);
  CHECK(*d[1].got == 4);
  CHECK_FALSE(parse_zimbra_expected("/x\tmessage\tmany\n", "e"));
}

TEST_CASE("zimbra import script: REST paths percent-encoded, words quoted for sh") {
  CHECK(zimbra_rest_path("Tom & Jerry/Sub", "ics") == "/Tom%20%26%20Jerry/Sub?fmt=ics");
  CHECK(zimbra_rest_path("\xC3\xA4rger", "vcf") == "/%C3%A4rger?fmt=vcf");
  CHECK(sh_quote("it's") == "'it'\\''s'");
  ZimbraImportPlan p;
  p.account = "fred@example.com";
  p.folders = {{"Arbeit", "appointment"}};
  p.archives = {"zimbra.tgz"};
  p.collections = {{"Arbeit", "calendars/Arbeit.ics", true}};
  p.flags_files = {{"zimbra-flags.zmm", "zimbra-flags-check.tsv"}};
  const std::string s = zimbra_import_script(p);
  const auto at = [&](std::string_view needle) { return s.find(needle); };
  REQUIRE(at("folder '/Arbeit' appointment") != std::string::npos);
  CHECK(at("folder '/Arbeit' appointment") < at("post '//?fmt=tgz&resolve=skip' 'zimbra.tgz'"));
  CHECK(at("post '//?fmt=tgz&resolve=skip' 'zimbra.tgz'") < at("post '/Arbeit?fmt=ics' 'calendars/Arbeit.ics'"));
  CHECK(at("post '/Arbeit?fmt=ics'") < at("flags 'zimbra-flags.zmm' 'zimbra-flags-check.tsv'"));
}
