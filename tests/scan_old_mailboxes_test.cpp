// scan over the real mailboxes that old Cyrus releases wrote (index versions 9 and 12),
// found by walking a spool that has no mailboxes.db.
#include <doctest/doctest.h>

#include <cstdlib>

#include "converter/audit/scan.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

std::uint64_t message_file_bytes(const fs::path& dir, std::uint64_t& count) {
  std::uint64_t bytes = 0;
  count = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    const bool message = n.size() >= 2 && n.back() == '.' && n[0] >= '1' && n[0] <= '9' &&
                         n.find_first_not_of("0123456789") == n.size() - 1;
    if (message) {
      bytes += e.file_size();
      ++count;
    }
  }
  return bytes;
}

}  // namespace

TEST_CASE("scan: real version 9 and version 12 mailboxes from old Cyrus releases") {
  const fs::path old = test::shared_fixtures_dir() / "cyrus-old";
  if (!fs::exists(old / "version9.tar.gz")) {
    MESSAGE("skipped: ", old.string(), " is absent");
    return;
  }
  test::TempDir tmp;
  const fs::path spool = tmp.path / "spool";
  fs::create_directories(spool);
  for (const char* t : {"version9.tar.gz", "version12.tar.gz"}) {
    const std::string cmd = "tar -xzf '" + (old / t).string() + "' -C '" + spool.string() + "'";
    REQUIRE(std::system(cmd.c_str()) == 0);
  }

  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  ScanReport r = run_scan(in, ScanOptions{});

  REQUIRE(r.users.size() == 1);  // both are non-user (shared) mailboxes by their path
  const auto& folders = r.users[0].folders;
  REQUIRE(folders.size() == 2);
  struct Expect {
    const char* name;
    std::uint32_t version;
    std::uint64_t messages;
    const char* seen_source;
  };
  const Expect expect[] = {{"version12", 12, 9, "index"}, {"version9", 9, 10, "none"}};
  for (std::size_t i = 0; i < 2; ++i) {
    const FolderSummary& f = folders[i];
    CAPTURE(f.name);
    CHECK(f.name == expect[i].name);
    CHECK(f.index_version == expect[i].version);
    CHECK(f.messages == expect[i].messages);
    std::uint64_t files = 0;
    CHECK(f.bytes == message_file_bytes(spool / expect[i].name, files));
    CHECK(files == f.messages);
    CHECK(f.missing_files == 0);
    CHECK(f.orphan_files == 0);
    CHECK(f.seen_source == expect[i].seen_source);
    CHECK(f.uidnext > f.messages);
    for (const auto& finding : f.findings) CHECK_MESSAGE(finding.severity != Finding::Severity::error, finding.detail);
  }
  CHECK(r.totals.messages == 19);
  CHECK(r.totals.errors == 0);
  CHECK(r.index_versions.at(9) == 1);
  CHECK(r.index_versions.at(12) == 1);
}
