// README "Quiet output and logs": the text reports list folders with something to note, the rest
// per user; --verbose lists all; progress lines for scan, audit, verify; --log gets everything.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "tests/cli_run.h"

namespace fs = std::filesystem;
using cyrconv::test::Run;
using cyrconv::test::run_cyrconv;
using cyrconv::test::TempDir;

namespace {

std::string inputs() { return cyrconv::test::default_fixture_inputs(); }

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos; pos = text.find(what, pos + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("convert text: quiet by default, every folder and ACL with --verbose, all of it in --log") {
  TempDir tmp;
  const fs::path log = tmp.path / "convert.log";
  Run quiet = run_cyrconv("convert --format maildir --quiet " + inputs() + " --out " + (tmp.path / "a").string() +
                          " --log " + log.string());
  REQUIRE_MESSAGE(quiet.status == 0, quiet.out);
  // alice's owner ACL once (on 32 folders), not under every folder.
  CHECK(count(quiet.out, "acl alice lrswipkxtecdan") == 1);
  CHECK(quiet.out.find("(32 folders)") != std::string::npos);
  CHECK(quiet.out.find("  Raw  [mail_folder]  13 msgs: written 10, repaired 3") != std::string::npos);
  CHECK(quiet.out.find("  Flags  [mail_folder]") == std::string::npos);  // written in full, warnings only
  CHECK(quiet.out.find("more folders converted in full, nothing to note") != std::string::npos);
  CHECK(quiet.out.find("\nconvert: ") == std::string::npos);  // --quiet: no progress line

  const std::string logged = cyrconv::test::read_file(log);
  CHECK(logged.find("== ") != std::string::npos);
  CHECK(logged.find(" convert --format maildir --quiet ") != std::string::npos);  // the command line
  CHECK(logged.find("\nconvert: ") != std::string::npos);                          // progress, also with --quiet
  CHECK(logged.find("  Flags  [mail_folder]") != std::string::npos);                // the full report
  CHECK(count(logged, "      acl alice lrswipkxtecdan") == 32);
  CHECK(logged.find("exit status 0\n") != std::string::npos);

  Run verbose = run_cyrconv("convert --format maildir --quiet --verbose " + inputs() + " --out " +
                            (tmp.path / "b").string());
  CHECK(count(verbose.out, "      acl alice lrswipkxtecdan") == 32);
  CHECK(verbose.out.find("more folders") == std::string::npos);
}

TEST_CASE("audit, verify, scan: quiet reports and a progress line unless --quiet") {
  TempDir tmp;
  Run audit = run_cyrconv("audit " + inputs());
  CHECK(audit.status == 1);
  CHECK(audit.out.find("audit: 50 of 50 folders, 110 messages") != std::string::npos);  // on stderr
  CHECK(audit.out.find("uid 1: repair") != std::string::npos);
  CHECK(audit.out.find("uid 3: write") == std::string::npos);  // written unchanged: counted, not listed
  // bad_address: uid 12 of alice's Raw has "From: foo" and "To: baz", addresses without a domain.
  CHECK(audit.out.find("written unchanged with warnings: bad_address x1 missing_date x2 missing_message_id x3") !=
        std::string::npos);
  Run audit_verbose = run_cyrconv("audit --quiet --verbose " + inputs());
  CHECK(audit_verbose.out.find("uid 5: write") != std::string::npos);
  CHECK(audit_verbose.out.find("audit: 50 of 50") == std::string::npos);

  Run scan = run_cyrconv("scan " + inputs());
  CHECK(scan.out.find("scan: 50 of 50 folders") != std::string::npos);

  const std::string out = " --out " + (tmp.path / "o").string();
  REQUIRE(run_cyrconv("convert --format mbox --quiet " + inputs() + out).status == 0);
  Run verify = run_cyrconv("verify " + inputs() + out);
  CHECK(verify.status == 0);
  CHECK(verify.out.find(" of 104 messages, ") != std::string::npos);  // "verify: ... MiB, 104 of 104 messages, ..."
  CHECK(verify.out.find("folders ok: ") != std::string::npos);
  Run verify_verbose = run_cyrconv("verify --verbose --quiet " + inputs() + out);
  CHECK(verify_verbose.out.find("  Flags: 32 msgs, verified 32  ok") != std::string::npos);
}
