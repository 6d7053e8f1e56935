// verify checks a big folder a window of messages at a time, hashing each window's files on
// several threads (converter/verify/verify_folder.h): with windows of a few messages the reports
// must be exactly what the sequential check gives, damage included.
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/time.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <sstream>

#include "converter/convert/convert.h"
#include "converter/verify/verify.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

SourceInputs spool_inputs(const fs::path& spool, const fs::path& config = {}) {
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  in.config_dir = config;
  return in;
}

fs::path convert_maildir(const fs::path& out, const SourceInputs& in) {
  ConvertOptions opt;
  opt.format = OutputFormat::maildir;
  opt.out = out;
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  run_convert(in, opt);
  return out;
}

// The report as JSON and verbose text, `seconds` aside.
std::string report_of(const fs::path& out, const SourceInputs& in, std::size_t window) {
  VerifyOptions opt;
  opt.out = out;
  opt.threads = 2;
  opt.folder_window = window;
  VerifyReport r = run_verify(in, opt);
  r.seconds = 0;
  std::ostringstream text;
  write_verify_text(r, text, true);
  return verify_report_json(r) + "\n" + text.str();
}

constexpr std::size_t sequential = std::numeric_limits<std::size_t>::max();

// Every window size gives the sequential report.
void check_windows_agree(const fs::path& out, const SourceInputs& in) {
  const std::string want = report_of(out, in, sequential);
  for (std::size_t window : {1, 2, 3, 7}) {
    CAPTURE(window);
    CHECK(report_of(out, in, window) == want);
  }
}

// Output files of alice's INBOX the manifest lists as written.
std::vector<fs::path> written_files(const fs::path& out) {
  std::ifstream in(out / "alice" / "manifests" / "INBOX.jsonl");
  std::vector<fs::path> files;
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["disposition"] == "written") files.push_back(out / "alice" / std::string(j["output_file"]));
  }
  return files;
}

}  // namespace

TEST_CASE("verify: windows of a few messages report what the sequential check reports, with damage planted") {
  test::TempDir tmp;
  const SourceInputs in = spool_inputs(test::fixtures_dir() / "cyrus36-default" / "spool",
                                       test::fixtures_dir() / "cyrus36-default" / "config");
  const fs::path out = convert_maildir(tmp.path / "out", in);
  check_windows_agree(out, in);

  const auto files = written_files(out);
  REQUIRE(files.size() >= 4);  // several windows of a few messages
  {
    // A changed byte (mtime kept), a removed file, a file no source message has.
    struct stat st {};
    REQUIRE(::lstat(files[1].c_str(), &st) == 0);
    std::string s = test::read_file(files[1]);
    s[s.size() / 2] ^= 0x01;
    std::ofstream(files[1], std::ios::binary | std::ios::trunc) << s;
    struct timeval tv[2] = {{st.st_mtime, 0}, {st.st_mtime, 0}};
    REQUIRE(::utimes(files[1].c_str(), tv) == 0);
  }
  fs::remove(files[2]);
  std::ofstream(out / "alice" / "Maildir" / "cur" / "1800000001.M2.host:2,S") << "Subject: later\n\nhi\n";

  const std::string damaged = report_of(out, in, sequential);
  CHECK(damaged.find("body_mismatch") != std::string::npos);
  CHECK(damaged.find("message_file_missing") != std::string::npos);
  CHECK(damaged.find("not in the uidlist") != std::string::npos);
  check_windows_agree(out, in);
}

TEST_CASE("verify: windows agree with the sequential check on every damaged spool (repaired, quarantined, orphans)") {
  test::TempDir tmp;
  const auto manifest = nlohmann::json::parse(test::make_damaged_spools(tmp.path / "damaged", "--minimal"));
  for (const auto& c : manifest["cases"]) {
    const std::string cls = c["class"];
    CAPTURE(cls);
    const SourceInputs in = spool_inputs(tmp.path / "damaged" / std::string(c["spool"]));
    const fs::path out = convert_maildir(tmp.path / cls, in);
    const std::string want = report_of(out, in, sequential);
    CHECK(report_of(out, in, 2) == want);
  }
}

TEST_CASE("verify: windows agree with the sequential check on old indexes (source files hashed, no GUID)") {
  test::TempDir tmp;
  for (const char* fixture : {"cyrus36-oldindex", "cyrus36-legacy"}) {
    CAPTURE(fixture);
    const SourceInputs in = spool_inputs(test::fixtures_dir() / fixture / "spool", test::fixtures_dir() / fixture / "config");
    const fs::path out = convert_maildir(tmp.path / fixture, in);
    // One removed message file, so the reports say more than "verified".
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(out))
      if (e.is_regular_file() && e.path().parent_path().filename() == "cur") files.push_back(e.path());
    std::sort(files.begin(), files.end());
    REQUIRE(files.size() >= 4);
    fs::remove(files[1]);
    check_windows_agree(out, in);
  }
}
