// The command line as users meet it: exit statuses and one-line errors.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
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

TEST_CASE("cli: plan needs --shards and --out, report merge needs --plan, --out and reports") {
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

TEST_CASE("cli: --imapd-conf gives the store through --root, options given as well win") {
  namespace fs = std::filesystem;
  cyrconv::test::TempDir tmp;
  const fs::path fixture = cyrconv::test::fixtures_dir() / "cyrus36-dotsep";
  // The server's paths as they were, read below --root.
  const fs::path root = tmp.path / "root";
  fs::create_directories(root / "srv" / "cyrus");
  for (const char* d : {"spool", "config"})  // copies: a partition root may not be a symlink
    fs::copy(fixture / d, root / "srv" / "cyrus" / d, fs::copy_options::recursive);
  {
    std::ofstream conf(tmp.path / "imapd.conf");
    conf << "configdirectory: /srv/cyrus/config\npartition-default: /srv/cyrus/spool\nunixhierarchysep: no\n";
  }
  const std::string conf = (tmp.path / "imapd.conf").string();
  Run r = run_cyrconv("scan --json --imapd-conf " + conf + " --root " + root.string());
  CHECK(r.status == 0);
  CHECK(r.out.find("\"caret^name\"") != std::string::npos);
  CHECK(r.out.find("hierarchy_separator_given") != std::string::npos);
  // --unixhierarchysep given as well wins over the file.
  Run yes = run_cyrconv("scan --json --imapd-conf " + conf + " --root " + root.string() + " --unixhierarchysep yes");
  CHECK(yes.out.find("\"caret.name\"") != std::string::npos);
  // --spool given as well wins: a spool that does not exist is refused by name.
  Run spool = run_cyrconv("scan --imapd-conf " + conf + " --root " + root.string() + " --spool " +
                          (tmp.path / "nope").string());
  CHECK(spool.status == 3);
  CHECK(spool.out.find("nope") != std::string::npos);
  // Without --root the server's paths are taken as they are: here they do not exist.
  Run noroot = run_cyrconv("scan --imapd-conf " + conf);
  CHECK(noroot.status == 3);
  CHECK(noroot.out.find("/srv/cyrus/spool") != std::string::npos);
  Run orphan_root = run_cyrconv("scan --spool " + (fixture / "spool").string() + " --root " + root.string());
  CHECK(orphan_root.status == 3);
  CHECK(orphan_root.out.find("--root is for the paths of --imapd-conf") != std::string::npos);
}
