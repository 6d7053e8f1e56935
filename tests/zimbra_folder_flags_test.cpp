// FolderFlags (converter/zimbra/zimbra_folder_flags.h): messages sharing a Message-ID are one
// group, scripted when all want the same flags; a message without flags in the group spoils it.
// Messages without flags are kept as hashes only, past a window in a scratch file (issue 25:
// memory flat in folder size), and still spoil the groups they share a Message-ID with.
#include <doctest/doctest.h>

#include <string>

#include "converter/zimbra/zimbra_folder_flags.h"
#include "tests/test_support.h"
#include "writers/zimbra_flags.h"

using namespace cyrconv;
namespace fs = std::filesystem;

TEST_CASE("FolderFlags: a shared Message-ID with an unflagged message is not scripted, in memory or spilled") {
  test::TempDir tmp;
  ConvertOptions opt;
  opt.out = tmp.path;
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  ZimbraUser user;
  user.owner = "u";
  user.root = tmp.path;
  Progress progress("test", 0, 0, true);
  UserRun run(opt, user, progress);
  REQUIRE(run.flag_needs.open(tmp.path));
  REQUIRE(run.zmm.open(tmp.path, "flags.zmm"));
  REQUIRE(run.check.open(tmp.path, "check.tsv"));
  FolderFlags ff;
  ff.spill = &run.flag_needs;
  ff.dir = tmp.path;

  const std::uint32_t seen = imapflag::seen, flagged = imapflag::seen | imapflag::flagged;
  const FlagNeed none = flag_need(seen, {});
  const FlagNeed need = flag_need(flagged, {});
  REQUIRE_FALSE(none.any());
  REQUIRE(need.any());
  std::uint32_t uid = 1;
  ff.add(uid++, "c@example.org", seen, none);  // goes to the scratch file with the first window
  for (std::size_t n = 0; n < 2 * FolderFlags::plain_window + 5; ++n)
    ff.add(uid++, "plain" + std::to_string(n) + "@example.org", seen, none);
  const std::uint32_t c = uid++;
  ff.add(c, "c@example.org", flagged, need);
  const std::uint32_t a = uid++;
  ff.add(a, "a@example.org", flagged, need);
  const std::uint32_t b1 = uid++, b2 = uid++;
  ff.add(b1, "b@example.org", flagged, need);
  ff.add(b2, "b@example.org", flagged, need);
  const std::uint32_t d = uid++;
  ff.add(d, "d@example.org", flagged, need);
  ff.add(uid++, "a@example.org", seen, none);  // still in memory at the end
  CHECK(ff.rows.size() == 5);  // rows only for messages with flags
  CHECK(ff.plain.size() <= FolderFlags::plain_window);
  REQUIRE(ff.plain_spill.has_value());
  REQUIRE(ff.status);

  const std::vector<std::uint32_t> unmatched = ff.emit(run, "Inbox");
  CHECK(unmatched == std::vector<std::uint32_t>{c, a});
  REQUIRE(run.stream_status);
  REQUIRE(run.zmm.commit(tmp.path / "flags.zmm", -1, false, OutputFile::OnExisting::replace));
  REQUIRE(run.check.commit(tmp.path / "check.tsv", -1, false, OutputFile::OnExisting::replace));
  const std::string zmm = test::read_file(tmp.path / "flags.zmm");
  CHECK(zmm == zmm_search("Inbox", "b@example.org", 2) + zmm_modify_flags(2, "f") + zmm_search("Inbox", "d@example.org", 1) +
                   zmm_modify_flags(1, "f"));
  const std::string check = test::read_file(tmp.path / "check.tsv");
  CHECK(check.rfind("1\t/Inbox\tb@example.org\t2\t" + std::to_string(b1) + "," + std::to_string(b2) + "\t", 0) == 0);
  CHECK(check.find("\n2\t/Inbox\td@example.org\t1\t" + std::to_string(d) + "\t") != std::string::npos);
  CHECK(run.flag_groups == 2);
  CHECK(ff.plain.empty());
  CHECK_FALSE(ff.plain_spill.has_value());
}
