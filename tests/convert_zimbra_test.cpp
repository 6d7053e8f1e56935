#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "converter/convert.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

SourceInputs spool_only(const fs::path& spool) {
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  return in;
}

ConvertOptions zimbra_options(const fs::path& out) {
  ConvertOptions opt;
  opt.format = OutputFormat::zimbra_tgz;
  opt.profile = NamingProfile::zimbra;
  opt.out = out;
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  return opt;
}

bool has_finding(const ConvertReport& r, const std::string& kind) {
  for (const auto& u : r.users)
    for (const auto& f : u.findings)
      if (f.kind == kind) return true;
  return false;
}

}  // namespace

TEST_CASE("convert zimbra-tgz: every message accounted for, one archive and one command file per user") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  const ConvertReport r = run_convert(spool_only(spool), zimbra_options(tmp.path / "out"));
  CHECK(r.format == "zimbra-tgz");
  CHECK(r.errors == 0);
  CHECK(r.totals.messages > 0);
  CHECK(r.totals.written + r.totals.repaired + r.totals.quarantined + r.totals.missing + r.totals.not_converted +
            r.skipped_deleted ==
        r.totals.messages);
  CHECK(r.totals.not_converted == 0);
  for (const auto& u : r.users) {
    if (u.folders.empty() || u.output.empty()) continue;
    CAPTURE(u.output);
    CHECK(fs::exists(tmp.path / "out" / u.output / "zimbra.tgz"));
    CHECK(fs::exists(tmp.path / "out" / u.output / "zimbra-flags.zmm"));
  }
  // No temporary is left next to the finished files.
  for (const auto& e : fs::recursive_directory_iterator(tmp.path / "out"))
    CHECK(e.path().filename().string().find("cyrconv-tmp") == std::string::npos);
}

TEST_CASE("convert zimbra-tgz re-run: the same snapshot leaves the archive as it is; another snapshot's is never replaced") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  const ConvertOptions opt = zimbra_options(tmp.path / "out");
  const ConvertReport first = run_convert(spool_only(spool), opt);
  REQUIRE(first.totals.written > 0);
  const fs::path archive = tmp.path / "out" / "carl" / "zimbra.tgz";
  REQUIRE(fs::exists(archive));
  const std::string before = test::read_file(archive);
  const ConvertReport second = run_convert(spool_only(spool), opt);
  CHECK_FALSE(has_finding(second, "output_exists"));
  CHECK(second.totals.written == 0);
  CHECK(second.totals.not_converted == 0);
  CHECK(second.totals.earlier == first.totals.messages);
  CHECK(test::read_file(archive) == before);
  // An archive made from another snapshot (its journal says so): refused, untouched.
  { std::ofstream(tmp.path / "out" / "carl" / "journal" / "zimbra.done", std::ios::trunc) << "another snapshot\n"; }
  const ConvertReport third = run_convert(spool_only(spool), opt);
  CHECK(has_finding(third, "output_exists"));
  CHECK(test::read_file(archive) == before);
}
