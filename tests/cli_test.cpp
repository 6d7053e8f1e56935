// The command line as users meet it: exit statuses and one-line errors.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tests/cli_run.h"

namespace {

using cyrconv::test::Run;
using cyrconv::test::run_cyrconv;
int lines(const std::string& s) { return cyrconv::test::count_lines(s); }

}  // namespace

TEST_CASE("cli: --help and --version succeed") {
  Run help = run_cyrconv("--help");
  CHECK(help.status == 0);
  CHECK(help.out.find("scan") != std::string::npos);
  CHECK(help.out.find("Exit status") != std::string::npos);
  Run version = run_cyrconv("--version");
  CHECK(version.status == 0);
  CHECK(version.out.rfind("cyrconv ", 0) == 0);
  for (const char* sub : {"scan", "audit", "convert", "verify", "plan"}) {
    Run r = run_cyrconv(std::string(sub) + " --help");
    CHECK_MESSAGE(r.status == 0, sub);
    CHECK(r.out.find("--spool") != std::string::npos);
  }
}

TEST_CASE("cli: unknown option or subcommand is a one-line error with status 2") {
  for (const char* args : {"--frobnicate", "frobnicate", "scan --frobnicate", "", "scan --threads banana"}) {
    Run r = run_cyrconv(args);
    CHECK_MESSAGE(r.status == 2, args);
    CHECK_MESSAGE(lines(r.out) == 1, args, ": ", r.out);
    CHECK(r.out.rfind("cyrconv: ", 0) == 0);
  }
}

TEST_CASE("cli: convert requires --format and --out") {
  cyrconv::test::TempDir tmp;
  Run r = run_cyrconv("convert --spool " + tmp.path.string());
  CHECK(r.status == 2);
  CHECK(lines(r.out) == 1);
  Run bad = run_cyrconv("convert --spool " + tmp.path.string() + " --format zip --out " + tmp.path.string());
  CHECK(bad.status == 2);
  CHECK(lines(bad.out) == 1);
}

TEST_CASE("cli: plan needs --shards and --out; report merge needs --plan, --out and reports") {
  cyrconv::test::TempDir tmp;
  for (const std::string& args : std::vector<std::string>{"plan --spool " + tmp.path.string(), "plan --shards 0 --out x --spool " + tmp.path.string(),
                                 "report", "report merge --out x a.json", "report merge --plan p --out x"}) {
    Run r = run_cyrconv(args);
    CHECK_MESSAGE(r.status == 2, args);
    CHECK_MESSAGE(lines(r.out) == 1, args, ": ", r.out);
  }
  cyrconv::test::TempDir out;
  Run shard_alone = run_cyrconv("convert --spool " + tmp.path.string() + " --format mbox --out " +
                                (out.path / "o").string() + " --shard 1");
  CHECK(shard_alone.status == 2);
  // After the one-line warning that --config was not given.
  CHECK(shard_alone.out.find("\ncyrconv: --shard needs --plan FILE\n") != std::string::npos);
}

TEST_CASE("cli: scan refuses missing inputs with status 3") {
  cyrconv::test::TempDir tmp;
  Run r = run_cyrconv("scan --spool " + (tmp.path / "nope").string());
  CHECK(r.status == 3);
  CHECK(r.out.find("is not a directory") != std::string::npos);
  Run empty = run_cyrconv("scan --spool " + tmp.path.string());
  CHECK(empty.status == 3);
  CHECK(empty.out.find("no mailboxes found") != std::string::npos);
  Run bad = run_cyrconv("scan --spool " + tmp.path.string() + " --partition archive");
  CHECK(bad.status == 3);
  CHECK(bad.out.find("NAME=DIR") != std::string::npos);
}
