#include <doctest/doctest.h>

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "converter/convert/convert.h"
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

TEST_CASE("convert zimbra-tgz re-run: the same snapshot leaves the archive as it is, another snapshot's is never replaced") {
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
  // An archive made from another snapshot (its journal says so): untouched; an incremental run
  // finds every message in the earlier archive (its manifests) and writes none again.
  {
    const fs::path carl = tmp.path / "out" / "carl";
    std::string fp = test::read_file(carl / "journal" / "zimbra.done");
    fp.pop_back();
    std::string runs = test::read_file(carl / "zimbra-archives.tsv");
    REQUIRE(runs.find(fp) != std::string::npos);
    runs.replace(runs.find(fp), fp.size(), "another");
    std::ofstream(carl / "zimbra-archives.tsv", std::ios::trunc) << runs;
    std::ofstream(carl / "journal" / "zimbra.done", std::ios::trunc) << "another snapshot\n";
  }
  const ConvertReport third = run_convert(spool_only(spool), opt);
  CHECK_FALSE(has_finding(third, "output_exists"));
  CHECK(third.totals.written == 0);
  CHECK(third.totals.earlier == first.totals.messages - first.totals.missing);
  CHECK(test::read_file(archive) == before);
  CHECK(fs::exists(tmp.path / "out" / "carl" / "zimbra-0002.tgz"));
  CHECK(test::read_file(tmp.path / "out" / "carl" / "zimbra-archives.tsv").find("2\tzimbra-0002.tgz\tzimbra-flags-0002.zmm\t0\t") !=
        std::string::npos);
  // A record of the archives that cannot be read: nothing is made.
  { std::ofstream(tmp.path / "out" / "carl" / "journal" / "zimbra.done", std::ios::trunc) << "yet another\n"; }
  { std::ofstream(tmp.path / "out" / "carl" / "zimbra-archives.tsv", std::ios::trunc) << "garbage\n"; }
  const ConvertReport fourth = run_convert(spool_only(spool), opt);
  CHECK(has_finding(fourth, "output_exists"));
  CHECK_FALSE(fs::exists(tmp.path / "out" / "carl" / "zimbra-0003.tgz"));
}

TEST_CASE("convert zimbra-tgz: a message with a line over the server's limit is quarantined with the setting named") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  ConvertOptions opt = zimbra_options(tmp.path / "a");
  const ConvertReport plain = run_convert(spool_only(spool), opt);
  opt.out = tmp.path / "b";
  opt.zimbra_max_line = 70;  // the fixture's messages have lines longer than this; 10240 keeps them all
  const ConvertReport strict = run_convert(spool_only(spool), opt);
  CHECK(strict.totals.messages == plain.totals.messages);
  CHECK(strict.totals.quarantined > plain.totals.quarantined);
  std::uint64_t refused = 0;
  for (const auto& u : strict.users)
    for (const auto& f : u.folders)
      for (const auto& m : test::entries(strict, f))
        for (const auto& x : m.findings)
          if (x.kind == "zimbra_line_too_long") {
            ++refused;
            CHECK(m.action == MessageAction::quarantine);
            CHECK(x.detail.find("zimbra_lmtp_max_line_length") != std::string::npos);
            std::string side;  // output_layout.h side_file_name
            for (char c : f.target) side += c == '%' ? "%25" : c == '/' ? "%2F" : std::string(1, c);
            const fs::path reason =
                tmp.path / "b" / u.output / "quarantine" / side / ("quarantined-" + std::to_string(m.uid) + ".reason");
            CHECK(test::read_file(reason).find("zimbra_line_too_long") != std::string::npos);
          }
  CHECK(refused == strict.totals.quarantined - plain.totals.quarantined);
  CHECK(strict.totals.written + strict.totals.repaired + strict.totals.quarantined + strict.totals.missing +
            strict.totals.not_converted + strict.skipped_deleted ==
        strict.totals.messages);
}

TEST_CASE("convert zimbra-tgz: a user over --zimbra-quota gets no archive and a finding") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  ConvertOptions opt = zimbra_options(tmp.path / "out");
  opt.zimbra_quota = 1;
  const ConvertReport r = run_convert(spool_only(spool), opt);
  CHECK(has_finding(r, "zimbra_quota_exceeded"));
  CHECK(r.totals.written == 0);
  CHECK(r.totals.not_converted == r.totals.messages);
  CHECK_FALSE(fs::exists(tmp.path / "out" / "carl" / "zimbra.tgz"));
}

TEST_CASE("convert zimbra-tgz: parts smaller than a message give a part per message, each named in the manifest, and a warning") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  ConvertOptions opt = zimbra_options(tmp.path / "out");
  opt.zimbra_part_size = 2048;  // under the CLI's 64K: every entry is larger than a part
  const ConvertReport r = run_convert(spool_only(spool), opt);
  CHECK(has_finding(r, "zimbra_part_oversize"));
  REQUIRE(r.totals.written > 1);
  const fs::path carl = tmp.path / "out" / "carl";
  std::uint64_t entries = 0;
  for (const auto& e : fs::directory_iterator(carl / "manifests")) {
    std::istringstream lines(test::read_file(e.path()));
    for (std::string line; std::getline(lines, line);) {
      const auto at = line.find("\"output_file\":\"");
      const bool archived = line.find("\"disposition\":\"written\"") != std::string::npos ||
                            line.find("\"disposition\":\"repaired\"") != std::string::npos;
      if (at == std::string::npos || !archived) continue;
      const std::string file = line.substr(at + 15, line.find(':', at + 15) - at - 15);
      CHECK(fs::exists(carl / file));
      ++entries;
    }
  }
  REQUIRE(entries > 1);
  CHECK(fs::exists(carl / "zimbra.tgz"));
  CHECK(fs::exists(carl / "zimbra-0001-part002.tgz"));
  char last[64];
  std::snprintf(last, sizeof last, "zimbra-0001-part%03u.tgz", static_cast<unsigned>(entries));
  CHECK(fs::exists(carl / last));
  const std::string runs = test::read_file(carl / "zimbra-archives.tsv");
  CHECK(runs.find("\t" + std::to_string(entries) + "\n") != std::string::npos);  // the parts column
  CHECK(test::read_file(carl / "zimbra-import.sh").find("post '//?fmt=tgz&resolve=skip' '" + std::string(last) + "'") !=
        std::string::npos);
}
