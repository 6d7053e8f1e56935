// --io-depth changes how many files are in flight, never what is written: convert (Maildir,
// mbox, zimbra-tgz), audit, verify and scan give the same bytes and the same findings with one
// file at a time and with 16 in flight (message files read ahead; the walk, inventory and user
// databases of 16 mailboxes at once), on the real fixtures and on damaged spools (repairs re-read
// a file, quarantines skip, unreadable directories and symlinks are findings of the walk).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <functional>
#include <stdexcept>
#include <vector>
#include <map>
#include <string>

#include "converter/audit/audit.h"
#include "converter/convert/convert.h"
#include "converter/source/io_fanout.h"
#include "converter/audit/scan.h"
#include "converter/shard/shard_plan.h"
#include "converter/verify/verify.h"
#include "tests/test_support.h"
#include "writers/audit_report.h"
#include "writers/scan_report.h"
#include "writers/verify_report.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

// Relative path -> bytes of every file below `root`, with the mtime where cyrconv sets it (a
// Maildir message's is its INTERNALDATE; other files carry the time they were written).
std::map<std::string, std::string> tree_bytes(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    struct stat st {};
    REQUIRE(::lstat(e.path().c_str(), &st) == 0);
    const std::string rel = fs::relative(e.path(), root).string();
    if (S_ISDIR(st.st_mode)) {
      out[rel] = "dir";
    } else {
      out[rel] = test::read_file(e.path());
      if (rel.find("/cur/") != std::string::npos) out[rel] += "\n@mtime " + std::to_string(st.st_mtime);
    }
  }
  return out;
}

SourceInputs inputs_of(const fs::path& fixture_or_spool) {
  SourceInputs in;
  const bool fixture = fs::exists(fixture_or_spool / "spool");
  in.partitions.emplace_back("default", fixture ? fixture_or_spool / "spool" : fixture_or_spool);
  if (fixture && fs::exists(fixture_or_spool / "config")) in.config_dir = fixture_or_spool / "config";
  return in;
}

// A JSON report without its timings, the only thing allowed to differ.
std::string without_seconds(const std::string& json) {
  auto j = nlohmann::json::parse(json);
  std::function<void(nlohmann::json&)> drop_seconds = [&](nlohmann::json& v) {
    if (v.is_object()) v.erase("seconds");
    if (v.is_object() || v.is_array())
      for (auto& x : v) drop_seconds(x);
  };
  drop_seconds(j);
  return j.dump(1);
}

std::string audit_json(const SourceInputs& in, int depth) {
  AuditOptions o;
  o.io_depth = depth;
  return without_seconds(audit_report_json(run_audit(in, o)));
}

std::string scan_json(const SourceInputs& in, int depth) {
  return without_seconds(scan_report_json(run_scan(in, ScanOptions{0, depth})));
}

std::string verify_json(const SourceInputs& in, const fs::path& out, OutputFormat format, int depth) {
  VerifyOptions o;
  o.format = format;
  o.out = out;
  o.io_depth = depth;
  return without_seconds(verify_report_json(run_verify(in, o)));
}

void check_same_output(const SourceInputs& in, const fs::path& work) {
  for (const auto format : {OutputFormat::maildir, OutputFormat::mbox, OutputFormat::zimbra_tgz}) {
    CAPTURE(static_cast<int>(format));
    std::map<std::string, std::string> trees[2];
    std::size_t messages[2] = {0, 0};
    for (int k = 0; k < 2; ++k) {
      ConvertOptions o;
      o.format = format;
      o.quiet = true;
      o.sync = SyncPolicy::none;
      o.io_depth = k == 0 ? 1 : 16;
      o.out = work / (std::to_string(static_cast<int>(format)) + "-" + std::to_string(o.io_depth));
      fs::create_directories(o.out);
      const ConvertReport r = run_convert(in, o);
      messages[k] = r.totals.messages;
      trees[k] = tree_bytes(o.out);
    }
    CHECK(messages[0] == messages[1]);
    REQUIRE(trees[0].size() == trees[1].size());
    for (const auto& [path, bytes] : trees[0]) {
      CAPTURE(path);
      REQUIRE(trees[1].count(path));
      CHECK(trees[1].at(path) == bytes);
    }
    // verify re-reads source and output files: the same report at both depths.
    if (format != OutputFormat::zimbra_tgz) {
      const fs::path out = work / (std::to_string(static_cast<int>(format)) + "-1");
      const std::string v1 = verify_json(in, out, format, 1);
      CHECK(v1.find("\"messages\"") != std::string::npos);
      CHECK(v1 == verify_json(in, out, format, 16));
    }
  }
  CHECK(audit_json(in, 1) == audit_json(in, 16));
  CHECK(scan_json(in, 1) == scan_json(in, 16));
  // plan: the same units (users and UID ranges of split folders) and store fingerprint.
  auto plan_json = [&](int depth) {
    const StoreUnits su = read_store_units(in, 2, 4096, 3, depth);
    return shard_plan_json(assemble_shard_plan(in, "test", su.fingerprint, su.mailboxes, su.units, 3));
  };
  const std::string p1 = plan_json(1);
  CHECK(p1.find("\"units\"") != std::string::npos);
  CHECK(p1 == plan_json(16));
}

}  // namespace

TEST_CASE("--io-depth 16 writes the same bytes as --io-depth 1 (every fixture, Maildir and mbox) and audits the same") {
  int fixtures = 0;
  for (const auto& e : fs::directory_iterator(test::fixtures_dir())) {
    if (!fs::exists(e.path() / "spool")) continue;
    CAPTURE(e.path());
    ++fixtures;
    test::TempDir tmp;
    check_same_output(inputs_of(e.path()), tmp.path);
  }
  CHECK(fixtures >= 3);
}

TEST_CASE("--io-depth 16 on damaged spools: repairs, quarantines and missing files come out the same") {
  test::TempDir tmp;
  const auto manifest = nlohmann::json::parse(test::make_damaged_spools(tmp.path / "damaged", "--minimal"));
  REQUIRE(manifest["cases"].size() >= 20);
  for (const auto& c : manifest["cases"]) {
    CAPTURE(std::string(c["class"]));
    const fs::path work = tmp.path / "out" / std::string(c["class"]);
    check_same_output(inputs_of(tmp.path / "damaged" / std::string(c["spool"])), work);
  }
}

TEST_CASE("for_each_io: every index once at depth 1 and at depth 8, and the first exception reaches the caller") {
  for (const int depth : {1, 8}) {
    CAPTURE(depth);
    std::vector<std::atomic<int>> hits(1000);
    for_each_io(depth, hits.size(), [&](std::size_t i) { ++hits[i]; });
    for (const auto& h : hits) CHECK(h.load() == 1);
    for_each_io(depth, 0, [](std::size_t) { FAIL("called for an empty range"); });
    CHECK_THROWS_AS(for_each_io(depth, 100,
                                [](std::size_t i) {
                                  if (i == 37) throw std::runtime_error("boom");
                                }),
                    std::runtime_error);
  }
  CHECK(io_width(4) >= 4);
  CHECK(io_width(4) == 4 * io_width(1));
}
