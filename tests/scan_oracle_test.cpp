// scan against what real Cyrus 3.6 served over IMAP (fixtures/*/oracle*.jsonl): every folder,
// its UIDVALIDITY, UIDNEXT, message count, index version, \Seen count and subscription.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "converter/audit/scan.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;
using nlohmann::json;

namespace {

std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> rows;
  std::istringstream in(test::read_file(p));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) rows.push_back(json::parse(line));
  return rows;
}

struct Found {
  const UserSummary* user;
  const FolderSummary* folder;
};

void check_fixture(const std::string& name) {
  CAPTURE(name);
  const fs::path fx = test::fixtures_dir() / name;
  SourceInputs in;
  in.partitions.emplace_back("default", fx / "spool");
  in.config_dir = fx / "config";
  ScanReport r = run_scan(in, ScanOptions{});

  std::map<std::string, Found> by_raw;
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      CHECK_MESSAGE(by_raw.count(f.name_raw) == 0, "folder reported twice: ", f.name_raw);
      by_raw[f.name_raw] = Found{&u, &f};
    }

  // Messages with \Seen per (user, folder), as each user saw them.
  std::map<std::pair<std::string, std::string>, std::uint64_t> seen;
  for (const auto& m : read_jsonl(fx / "oracle.jsonl")) {
    auto flags = m["flags"].get<std::vector<std::string>>();
    if (std::find(flags.begin(), flags.end(), "\\Seen") != flags.end())
      ++seen[{m["user"].get<std::string>(), m["folder"].get<std::string>()}];
  }

  std::set<std::string> expected;
  std::uint64_t expected_messages = 0;
  for (const auto& row : read_jsonl(fx / "oracle-folders.jsonl")) {
    const std::string kind = row["kind"];
    if (kind == "tombstone" || kind == "nonexistent" || kind == "noselect") continue;
    const std::string raw = row["internal_name"];
    CAPTURE(raw);
    auto it = by_raw.find(raw);
    REQUIRE_MESSAGE(it != by_raw.end(), "scan did not report ", raw);
    const FolderSummary& f = *it->second.folder;
    if (expected.insert(raw).second) expected_messages += row["exists"].get<std::uint64_t>();
    CHECK(f.messages == row["exists"].get<std::uint64_t>());
    CHECK(f.uidnext == row["uidnext"].get<std::uint32_t>());
    CHECK(f.uidvalidity == row["uidvalidity"].get<std::uint32_t>());
    CHECK(f.index_version == row["index_version"].get<std::uint32_t>());
    CHECK(f.deleted == (kind == "deleted"));
    CHECK(f.in_mailboxes_db);
    CHECK(f.on_disk);
    if (kind == "calendar" || kind == "addressbook" || kind == "collection")
      CHECK(f.kind == kind);
    else
      CHECK(f.kind == "email");
    const std::string user = row["user"];
    if (kind == "mail") {
      // The owner's view: the oracle's folder name, \Seen count and subscription.
      CHECK(it->second.user->user == user);
      CHECK(f.name == row["folder"].get<std::string>());
      CHECK(f.seen_messages == seen[{user, row["folder"].get<std::string>()}]);
      const auto& subs = it->second.user->subscriptions;
      const bool subscribed = std::find(subs.begin(), subs.end(), raw) != subs.end();
      CHECK(subscribed == row["subscribed"].get<bool>());
    } else if (kind == "shared") {
      CHECK(it->second.user->user.empty());
    }
  }
  CHECK(by_raw.size() == expected.size());  // nothing reported that Cyrus does not have
  CHECK(r.totals.messages == expected_messages);
  CHECK(r.totals.errors == 0);
  CHECK(r.totals.missing_files == 0);
  CHECK(r.totals.orphan_files == 0);
}

}  // namespace

TEST_CASE("scan matches the Cyrus oracle: cyrus36-default (uuid layout, twoskip, DAV)") {
  check_fixture("cyrus36-default");
}
TEST_CASE("scan matches the Cyrus oracle: cyrus36-legacy (name dirs, fulldirhash, domains, skiplist)") {
  check_fixture("cyrus36-legacy");
}
TEST_CASE("scan matches the Cyrus oracle: cyrus36-oldindex (index versions 6-17)") {
  check_fixture("cyrus36-oldindex");
}
