// convert --format zimbra-tgz reads a user's records again a window at a time (issue 25): once
// to decide and fingerprint, then while its archive is made. A folder's index that changes under
// the run, at either point, leaves the user without an archive: none is made from a store that
// moves.
#include <doctest/doctest.h>

#include <filesystem>

#include "converter/convert/convert.h"
#include "converter/zimbra/convert_zimbra.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

struct HookReset {
  ~HookReset() { set_zimbra_stage_hook({}); }
};

// carl's INBOX gets his Sent folder's index (another last UID, another count) when `when` comes.
ConvertReport run_with_index_swapped(const fs::path& root, ZimbraUserStage when) {
  fs::copy(test::fixtures_dir() / "cyrus36-legacy" / "spool", root / "spool", fs::copy_options::recursive);
  const fs::path carl = root / "spool" / "C" / "user" / "carl";
  REQUIRE(fs::exists(carl / "cyrus.index"));
  REQUIRE(test::read_file(carl / "cyrus.index") != test::read_file(carl / "Sent" / "cyrus.index"));
  HookReset reset;
  int swapped = 0;
  set_zimbra_stage_hook([&](const std::string& owner, ZimbraUserStage stage) {
    if (owner != "carl" || stage != when) return;
    fs::copy_file(carl / "Sent" / "cyrus.index", carl / "cyrus.index", fs::copy_options::overwrite_existing);
    ++swapped;
  });
  SourceInputs in;
  in.partitions.emplace_back("default", root / "spool");
  ConvertOptions opt;
  opt.format = OutputFormat::zimbra_tgz;
  opt.profile = NamingProfile::zimbra;
  opt.out = root / "out";
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  opt.threads = 1;
  ConvertReport r = run_convert(in, opt);
  CHECK(swapped == 1);
  return r;
}

void check_carl_left(const ConvertReport& r, const fs::path& out) {
  // Every message accounted for; carl's none in an archive.
  CHECK(r.totals.written + r.totals.repaired + r.totals.quarantined + r.totals.missing + r.totals.not_converted +
            r.skipped_deleted ==
        r.totals.messages);
  bool carl_seen = false, anna_seen = false;
  for (const auto& u : r.users) {
    if (u.user == "carl") {
      carl_seen = true;
      bool changed = false;
      for (const auto& f : u.findings)
        changed = changed || (f.kind == "source_changed" && f.detail.find("changed since it was first read") != std::string::npos &&
                              f.detail.find("this user's archive is not made") != std::string::npos);
      CHECK(changed);
      std::uint64_t messages = 0, not_converted = 0, archived = 0, other = 0;
      for (const auto& f : u.folders) {
        messages += f.count.messages;
        not_converted += f.count.not_converted;
        archived += f.count.written + f.count.repaired;
        other += f.count.quarantined + f.count.missing + f.skipped_deleted;
      }
      CHECK(messages > 0);
      CHECK(archived == 0);
      CHECK(not_converted > 0);
      CHECK(not_converted + other == messages);
    } else if (u.user.find("anna") == 0) {
      anna_seen = true;
      std::uint64_t archived = 0;
      for (const auto& f : u.folders) archived += f.count.written + f.count.repaired;
      CHECK(archived > 0);  // another user's archive is made as usual
    }
  }
  CHECK(carl_seen);
  CHECK(anna_seen);
  CHECK_FALSE(fs::exists(out / "carl" / "zimbra.tgz"));
  CHECK_FALSE(fs::exists(out / "carl" / "journal" / "zimbra.done"));
  CHECK(fs::exists(out / "example.org" / "anna" / "zimbra.tgz"));
}

}  // namespace

TEST_CASE("convert zimbra-tgz: an index changed before the user's records are read again: no archive for that user") {
  test::TempDir tmp;
  const ConvertReport r = run_with_index_swapped(tmp.path, ZimbraUserStage::read_again);
  check_carl_left(r, tmp.path / "out");
}

TEST_CASE("convert zimbra-tgz: an index changed while the user's archive is made: the archive is not made") {
  test::TempDir tmp;
  const ConvertReport r = run_with_index_swapped(tmp.path, ZimbraUserStage::archive);
  check_carl_left(r, tmp.path / "out");
  // Nothing of the archive is left behind, not even a temporary.
  for (const auto& e : fs::recursive_directory_iterator(tmp.path / "out" / "carl"))
    CHECK(e.path().filename().string().find("cyrconv-tmp") == std::string::npos);
}
