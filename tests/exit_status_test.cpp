// README "Exit statuses": every case of the table on the bundled fixture, through the binary as
// a script would run it; and verify reading the options convert recorded.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/cli_run.h"

namespace fs = std::filesystem;
using cyrconv::test::Run;
using cyrconv::test::run_cyrconv;
using cyrconv::test::TempDir;

namespace {

std::string inputs() { return cyrconv::test::default_fixture_inputs() + " --quiet"; }

}  // namespace

TEST_CASE("exit status 0: every message written or repaired (original kept), a no-op re-run confirms it") {
  TempDir tmp;
  const std::string out = " --out " + (tmp.path / "out").string();
  Run first = run_cyrconv("convert --format maildir " + inputs() + out);
  CHECK_MESSAGE(first.status == 0, first.out);
  CHECK(first.out.find("repaired 3") != std::string::npos);  // alice/Raw's bare-LF messages: status 0 all the same
  Run again = run_cyrconv("convert --format maildir " + inputs() + out);
  CHECK_MESSAGE(again.status == 0, again.out);
  Run verify = run_cyrconv("verify " + inputs() + out);
  CHECK_MESSAGE(verify.status == 0, verify.out);
  // audit keeps its own meaning: convert would change something (the repairs).
  CHECK(run_cyrconv("audit " + inputs()).status == 1);
}

TEST_CASE("exit status 1: quarantined messages, now and in the state a no-op re-run confirms") {
  TempDir tmp;
  const std::string out = " --out " + (tmp.path / "out").string();
  Run first = run_cyrconv("convert --format mbox --on-corrupt quarantine " + inputs() + out);
  CHECK_MESSAGE(first.status == 1, first.out);
  Run again = run_cyrconv("convert --format mbox --on-corrupt quarantine " + inputs() + out);
  CHECK_MESSAGE(again.status == 1, again.out);
  CHECK(again.out.find("quarantined then 3") != std::string::npos);
  Run verify = run_cyrconv("verify " + inputs() + out);
  CHECK_MESSAGE(verify.status == 1, verify.out);
  // A Zimbra archive too: the re-run leaves it as it is and counts what it lacks.
  const std::string zout = " --out " + (tmp.path / "zimbra").string();
  CHECK(run_cyrconv("convert --format zimbra-tgz --on-corrupt quarantine " + inputs() + zout).status == 1);
  Run zagain = run_cyrconv("convert --format zimbra-tgz --on-corrupt quarantine " + inputs() + zout);
  CHECK_MESSAGE(zagain.status == 1, zagain.out);
  CHECK(zagain.out.find("quarantined then 3") != std::string::npos);
}

TEST_CASE("verify takes the options convert recorded and refuses contradicting ones") {
  TempDir tmp;
  const std::string out = " --out " + (tmp.path / "out").string();
  Run conv = run_cyrconv("convert --format maildir --eol crlf --users alice " + inputs() + out);
  CHECK_MESSAGE(conv.status == 0, conv.out);
  CHECK(fs::exists(tmp.path / "out" / "convert-options.json"));
  Run plain = run_cyrconv("verify " + inputs() + out);
  CHECK_MESSAGE(plain.status == 0, plain.out);
  CHECK(plain.out.find("eol crlf") != std::string::npos);
  CHECK(plain.out.find("body_mismatch") == std::string::npos);
  CHECK(plain.out.find("user john.doe") == std::string::npos);

  Run eol = run_cyrconv("verify --eol lf " + inputs() + out);
  CHECK(eol.status == 2);
  CHECK(eol.out.find("--eol lf contradicts this output: convert wrote it with --eol crlf") != std::string::npos);
  Run users = run_cyrconv("verify --users john.doe " + inputs() + out);
  CHECK(users.status == 2);
  CHECK(users.out.find("john.doe was not converted into this output: convert was given --users alice") !=
        std::string::npos);
  Run format = run_cyrconv("verify --format mbox " + inputs() + out);
  CHECK(format.status == 2);
  CHECK(format.out.find("convert wrote it with --format maildir") != std::string::npos);
  // The same option as recorded is fine.
  CHECK(run_cyrconv("verify --eol crlf --users alice " + inputs() + out).status == 0);
}

TEST_CASE("exit status 2: options that do not go together are a usage error, and nothing is written") {
  TempDir tmp;
  const fs::path out = tmp.path / "out";
  const std::string plan = (tmp.path / "plan.json").string();
  const struct {
    const char* options;
    const char* says;
  } refused[] = {
      {"--format zimbra-tgz --follow-source", "--follow-source applies to --format maildir and mbox"},
      {"--format maildir --gzip", "--gzip applies to --format mbox only"},
      {"--format zimbra-tgz --gzip", "--gzip applies to --format mbox only"},
      {"--format mbox --eol crlf", "--eol crlf applies to --format maildir only"},
      {"--format zimbra-tgz --eol crlf", "--eol crlf applies to --format maildir only"},
      {"--format maildir --zimbra-part-size 1M", "--zimbra-max-line-length, --zimbra-quota and --zimbra-part-size apply to --format zimbra-tgz only"},
      {"--format mbox --zimbra-quota 1G", "apply to --format zimbra-tgz only"},
      {"--format maildir --shard 0", "--shard needs --plan FILE"},
      {"--format maildir --users alice --plan PLAN --shard 0", "--users and --plan exclude each other"},
  };
  for (const auto& r : refused) {
    std::string options = r.options;
    if (auto at = options.find("PLAN"); at != std::string::npos) options.replace(at, 4, plan);
    Run run = run_cyrconv("convert " + options + " " + inputs() + " --out " + out.string());
    INFO(options);
    CHECK_MESSAGE(run.status == 2, run.out);
    CHECK(run.out.find(r.says) != std::string::npos);
    CHECK_FALSE(fs::exists(out));
  }
}

TEST_CASE("convert --dry-run prints the plan and creates nothing") {
  TempDir tmp;
  const fs::path out = tmp.path / "out";
  Run dry = run_cyrconv("convert --format maildir --dry-run " + inputs() + " --out " + out.string());
  CHECK_MESSAGE(dry.status == 0, dry.out);
  CHECK_FALSE(fs::exists(out));
  CHECK(dry.out.find("nothing was written") != std::string::npos);
  CHECK(dry.out.find("user alice -> alice") != std::string::npos);
  CHECK(dry.out.find("would write: 2 users") != std::string::npos);
  CHECK(dry.out.find("space: needs about") != std::string::npos);
  // An existing output stays as it is (the probe file is gone again).
  fs::create_directory(out);
  Run into_existing = run_cyrconv("convert --format mbox --dry-run " + inputs() + " --out " + out.string());
  CHECK(into_existing.status == 0);
  CHECK(fs::is_empty(out));
}

TEST_CASE("cli: misspelled options get a suggestion, type errors name the type") {
  Run user = run_cyrconv("convert --user alice --format maildir --out /tmp/x --spool /tmp");
  CHECK(user.status == 2);
  CHECK(user.out == "cyrconv: unknown option --user for convert: did you mean --users?\n");
  Run sub = run_cyrconv("conver --spool /tmp");
  CHECK(sub.status == 2);
  CHECK(sub.out.find("did you mean convert?") != std::string::npos);
  Run threads = run_cyrconv("scan --threads abc --spool /tmp");
  CHECK(threads.status == 2);
  CHECK(threads.out.find("--threads: expects a whole number from 0 to 1024, got 'abc'") != std::string::npos);
  Run size = run_cyrconv("convert --split-bytes abc --format mbox --out /tmp/x --spool /tmp");
  CHECK(size.status == 2);
  CHECK(size.out.find("--split-bytes: expects a size in bytes such as 256M, 1G or 0, got 'abc'") != std::string::npos);
  Run part = run_cyrconv("convert --zimbra-part-size 1000 --format zimbra-tgz --out /tmp/x --spool /tmp");
  CHECK(part.status == 2);
  CHECK(part.out.find("--zimbra-part-size: expects a size of at least 64K, got 1000") != std::string::npos);
  Run part_unit = run_cyrconv("convert --zimbra-part-size 2X --format zimbra-tgz --out /tmp/x --spool /tmp");
  CHECK(part_unit.status == 2);
  CHECK(part_unit.out.find("--zimbra-part-size: expects a size in bytes such as 256M, 1G or 0, got '2X'") != std::string::npos);
  Run help = run_cyrconv("convert --help");
  CHECK(help.out.find("--format maildir|mbox|zimbra-tgz (required)") != std::string::npos);
  CHECK(help.out.find(":{maildir") == std::string::npos);
  CHECK(help.out.find("REQUIRED") == std::string::npos);
}
