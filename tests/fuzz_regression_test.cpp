// Replays every input that once made a fuzz target crash, hang or trip a sanitizer
// (fuzz/regressions/<target>/<name>) through the same target bodies libFuzzer runs, so the regular
// and sanitizer builds catch a regression without clang. Also runs each target on the seeds
// that are cheap to gather here, which keeps fuzz_targets.h compiling and its properties true.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>
#include <string>

#include "fuzz/fuzz_targets.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

TEST_CASE("fuzz regressions: every kept input runs clean through its target") {
  fs::path root = test::source_dir() / "fuzz" / "regressions";
  std::set<std::string> known;
  for (const auto& t : fuzz::targets) known.insert(t.name);
  std::size_t replayed = 0, on_disk = 0;
  REQUIRE_MESSAGE(fs::is_directory(root), root.string() << " is missing: the regression corpus is part of the tree");
  for (const auto& f : fs::recursive_directory_iterator(root)) on_disk += f.is_regular_file();
  {
    for (const auto& dir : fs::directory_iterator(root)) {
      if (!dir.is_directory()) continue;
      std::string name = dir.path().filename().string();
      REQUIRE_MESSAGE(known.count(name), "fuzz/regressions/" << name << " names no target");
      for (const auto& t : fuzz::targets) {
        if (name != t.name) continue;
        for (const auto& f : fs::directory_iterator(dir.path())) {
          if (!f.is_regular_file()) continue;
          INFO("replaying " << f.path().string());
          t.run(test::read_file(f.path()));
          ++replayed;
        }
      }
    }
  }
  MESSAGE("replayed " << replayed << " fuzz regression inputs");
  CHECK(on_disk > 0);
  CHECK(replayed == on_disk);  // every kept input ran: none in a folder no target reads
}

TEST_CASE("fuzz targets run on fixture databases and hand-made inputs") {
  for (const auto& f : fs::directory_iterator(test::fixtures_dir() / "cyrusdb")) {
    if (f.path().extension() == ".md") continue;
    std::string bytes = test::read_file(f.path());
    for (const auto& t : fuzz::targets) t.run(bytes);  // every target takes any bytes
  }
  fuzz::fuzz_mutf7("INBOX.Entw&APw-rfe");
  fuzz::fuzz_mutf7("Entwürfe \x7f\x01 日本語 😀");
  fuzz::fuzz_message_date("Received: from a;\r\n Tue, 1 Jul 2003 10:52:37 +0200\r\nDate: 1 Jan 70 00:00 GMT\r\n\r\n");
  fuzz::fuzz_message_date("Date: (((((\r\n\r\n");
  fuzz::fuzz_name_escape("Gesendet-\xe4\xff\\x");
  fuzz::fuzz_name_escape("\xed\xa0\x80\xf4\x90\x80\x80");
  CHECK(fuzz::valid_utf8("Entwürfe 😀"));
  CHECK_FALSE(fuzz::valid_utf8("\xc3"));
  CHECK_FALSE(fuzz::valid_utf8("\xed\xa0\x80"));  // a surrogate
  fuzz::fuzz_message_check(std::string("\x03") + "From: a\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\nhi\r\n--x--\r\n");
}
