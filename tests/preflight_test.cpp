// Pre-flight refusals (README "Pre-flight checks"): each mistake an administrator makes with
// paths is refused with one line naming the path and what to do, status 2, before any message
// is read and without creating anything.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "tests/cli_run.h"

namespace fs = std::filesystem;
using cyrconv::test::Run;
using cyrconv::test::run_cyrconv;
using cyrconv::test::TempDir;

namespace {

// A copy of the legacy-layout fixture store (spool/ and config/): refusals must never write into
// a real fixture, even when the check under test is broken.
fs::path copy_store(const TempDir& tmp) {
  const fs::path store = tmp.path / "store";
  fs::copy(cyrconv::test::fixtures_dir() / "cyrus36-legacy", store, fs::copy_options::recursive);
  return store;
}

// The last line of the output (a refusal follows the --config warning when there is one).
std::string last_line(const std::string& s) {
  if (s.empty()) return s;
  const auto end = s.back() == '\n' ? s.size() - 1 : s.size();
  const auto start = s.rfind('\n', end - 1);
  return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1));
}

void check_refused(const Run& r, const std::string& must_contain) {
  CHECK_MESSAGE(r.status == 2, r.out);
  CHECK_MESSAGE(last_line(r.out).rfind("cyrconv: ", 0) == 0, r.out);
  CHECK_MESSAGE(last_line(r.out).find(must_contain) != std::string::npos, r.out);
}

}  // namespace

TEST_CASE("preflight: an output inside an input tree is refused, and nothing is created there") {
  TempDir tmp;
  const fs::path store = copy_store(tmp);
  const std::string in = "--spool " + (store / "spool").string() + " --config " + (store / "config").string();
  for (const fs::path& out : {store / "spool" / "out", store / "config", store / "spool"}) {
    Run r = run_cyrconv("convert --format maildir " + in + " --out " + out.string());
    check_refused(r, "--out " + out.string());
    CHECK(r.out.find("input tree") != std::string::npos);
  }
  CHECK_FALSE(fs::exists(store / "spool" / "out"));
  // Through a symlink: real paths are compared.
  fs::create_directory_symlink(store / "spool", tmp.path / "link");
  Run via_link = run_cyrconv("convert --format mbox " + in + " --out " + (tmp.path / "link" / "o").string());
  check_refused(via_link, "inside the input tree --spool");
  CHECK_FALSE(fs::exists(store / "spool" / "o"));
  // Reports of every subcommand, too.
  const std::string report = (store / "config" / "r.json").string();
  check_refused(run_cyrconv("audit " + in + " --report " + report), "--report " + report);
  check_refused(run_cyrconv("scan " + in + " --json-file " + report), "--json-file " + report);
  check_refused(run_cyrconv("convert --format mbox " + in + " --out " + (tmp.path / "o").string() + " --report " + report),
                "--report " + report);
  CHECK_FALSE(fs::exists(report));
  // An input inside the output.
  Run around = run_cyrconv("convert --format mbox " + in + " --out " + tmp.path.string());
  check_refused(around, "is inside the output --out");
}

TEST_CASE("preflight: --spool one level too high names the right directory") {
  TempDir tmp;
  const fs::path store = copy_store(tmp);
  Run r = run_cyrconv("audit --spool " + store.string() + " --config " + (store / "config").string());
  check_refused(r, "did you mean --spool " + (store / "spool").string() + "?");
  Run partition = run_cyrconv("scan --spool " + (store / "spool").string() + " --partition p2=" + store.string());
  check_refused(partition, "--partition p2=" + store.string() + " holds no mailbox, but " + (store / "spool").string() +
                               " does: did you mean --partition p2=" + (store / "spool").string() + "?");
}

TEST_CASE("preflight: an output location that cannot be written is refused before the work") {
  TempDir tmp;
  const fs::path store = copy_store(tmp);
  const std::string in = "--spool " + (store / "spool").string() + " --config " + (store / "config").string();
  check_refused(run_cyrconv("audit " + in + " --report /nonexistent/dir/a.json"), "/nonexistent/dir does not exist");
  // Refused even as root: /proc takes no new files.
  check_refused(run_cyrconv("convert --format maildir " + in + " --out /proc/cyrconv-out"), "cannot create it in /proc");
  { std::ofstream(tmp.path / "file") << "x"; }
  check_refused(run_cyrconv("convert --format maildir " + in + " --out " + (tmp.path / "file" / "o").string()),
                "is not a directory");
  check_refused(run_cyrconv("convert --format maildir " + in + " --out " + (tmp.path / "o").string() + " --report " +
                            tmp.path.string()),
                "is a directory: give a file name");
  CHECK_FALSE(fs::exists(tmp.path / "o"));
  // A report or log inside the --out that convert makes first is fine.
  Run inside_out = run_cyrconv("convert --format mbox --quiet " + in + " --out " + (tmp.path / "o").string() +
                               " --report " + (tmp.path / "o" / "r.json").string() + " --log " +
                               (tmp.path / "o" / "logs" / "convert.log").string());
  CHECK_MESSAGE(inside_out.status == 0, inside_out.out);
  CHECK(fs::exists(tmp.path / "o" / "r.json"));
  CHECK(fs::exists(tmp.path / "o" / "logs" / "convert.log"));
}

TEST_CASE("preflight: a uuid-layout store needs --config, a store without it gets one warning") {
  const fs::path fixtures = cyrconv::test::fixtures_dir();
  TempDir tmp;
  Run uuid = run_cyrconv("convert --format maildir --spool " + (fixtures / "cyrus36-default" / "spool").string() +
                         " --out " + (tmp.path / "o").string());
  check_refused(uuid, "uses the uuid layout");
  CHECK(uuid.out.find("give --config DIR") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path / "o"));

  Run legacy = run_cyrconv("scan --spool " + (fixtures / "cyrus36-legacy" / "spool").string());
  CHECK(legacy.status == 0);
  CHECK(legacy.out.rfind("cyrconv: warning: no --config: subscriptions, quotas, Sieve scripts", 0) == 0);
  CHECK(legacy.out.find("add --config DIR") != std::string::npos);
  Run with_config = run_cyrconv("scan --spool " + (fixtures / "cyrus36-legacy" / "spool").string() + " --config " +
                                (fixtures / "cyrus36-legacy" / "config").string());
  CHECK(with_config.out.find("warning: no --config") == std::string::npos);
}
