// verify: a fresh conversion verifies clean (also every damaged spool, where messages were
// repaired, quarantined, recovered or are missing); each kind of tampering with the output is
// reported as its own mismatch; the mbox reader undoes exactly the documented changes; the
// command's exit statuses.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "converter/convert/convert.h"
#include "converter/verify/mbox_reader.h"
#include "converter/verify/output_reader.h"
#include "converter/verify/verify.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

SourceInputs fixture_inputs(const std::string& name = "cyrus36-default") {
  SourceInputs in;
  in.partitions.emplace_back("default", test::fixtures_dir() / name / "spool");
  in.config_dir = test::fixtures_dir() / name / "config";
  return in;
}

fs::path convert_into(const fs::path& out, OutputFormat format, const SourceInputs& in = fixture_inputs()) {
  ConvertOptions opt;
  opt.format = format;
  opt.out = out;
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  run_convert(in, opt);
  return out;
}

VerifyReport verify(const fs::path& out, const SourceInputs& in = fixture_inputs(),
                    std::optional<OutputFormat> format = std::nullopt) {
  VerifyOptions opt;
  opt.out = out;
  opt.format = format;
  return run_verify(in, opt);
}

std::vector<Finding> findings_of(const VerifyReport& r, Finding::Severity sev) {
  std::vector<Finding> v;
  for (const auto& f : r.findings)
    if (f.severity == sev) v.push_back(f);
  for (const auto& u : r.users) {
    for (const auto& f : u.findings)
      if (f.severity == sev) v.push_back(f);
    for (const auto& fo : u.folders)
      for (const auto& f : fo.findings)
        if (f.severity == sev) v.push_back(f);
  }
  return v;
}

std::string describe(const std::vector<Finding>& fs) {
  std::string s;
  for (const auto& f : fs) s += f.kind + " uid " + std::to_string(f.uid) + ": " + f.detail + "\n";
  return s;
}

void check_clean(const VerifyReport& r) {
  const auto errors = findings_of(r, Finding::Severity::error);
  INFO(describe(errors));
  CHECK(r.clean());
  CHECK(errors.empty());
  CHECK(r.totals.balanced());
  CHECK(r.totals.lost == 0);
  CHECK(r.totals.mismatched == 0);
  CHECK(r.totals.messages > 0);
}

// The report holds exactly one kind of error, about `uid`; nothing else is wrong.
void check_only(const VerifyReport& r, const std::string& kind, std::uint32_t uid) {
  const auto errors = findings_of(r, Finding::Severity::error);
  INFO(describe(errors));
  CHECK_FALSE(r.clean());
  REQUIRE_FALSE(errors.empty());
  for (const auto& f : errors) {
    CHECK(f.kind == kind);
    if (uid) CHECK(f.uid == uid);
  }
  CHECK(r.totals.balanced());
}

// The first message alice's INBOX manifest lists as written: its UID and output file.
struct Written {
  std::uint32_t uid = 0;
  fs::path file;
  std::int64_t internaldate = 0;
  std::uint64_t mbox_offset = 0;
};
Written first_written(const fs::path& out, bool mbox) {
  std::ifstream in(out / "alice" / "manifests" / "INBOX.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j["disposition"] != "written") continue;
    Written w;
    w.uid = j["uid"];
    w.internaldate = j["internaldate"];
    if (mbox)
      w.mbox_offset = j["mbox_offset"];
    else
      w.file = out / "alice" / std::string(j["output_file"]);
    return w;
  }
  FAIL("no written message in alice's INBOX");
  return {};
}

void set_mtime(const fs::path& p, std::int64_t t) {
  struct timeval tv[2] = {{static_cast<time_t>(t), 0}, {static_cast<time_t>(t), 0}};
  REQUIRE(::utimes(p.c_str(), tv) == 0);
}

std::int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return st.st_mtime;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// Rewrites a file, keeping its mtime (so only the intended change shows).
void edit_file(const fs::path& p, const std::function<void(std::string&)>& edit) {
  const std::int64_t t = mtime_of(p);
  std::string s = test::read_file(p);
  edit(s);
  write_file(p, s);
  set_mtime(p, t);
}

}  // namespace

TEST_CASE("verify: a fresh Maildir and mbox conversion verifies clean") {
  test::TempDir tmp;
  for (const auto format : {OutputFormat::maildir, OutputFormat::mbox}) {
    const fs::path out = convert_into(tmp.path / (format == OutputFormat::mbox ? "mbox" : "maildir"), format);
    const auto before = test::read_file(out / "rename-map.tsv");
    const VerifyReport r = verify(out);  // format detected
    check_clean(r);
    CHECK(r.format == (format == OutputFormat::mbox ? "mbox" : "maildir"));
    CHECK(r.totals.verified == r.totals.messages);
    CHECK(r.totals.extra == 0);
    CHECK(test::read_file(out / "rename-map.tsv") == before);
    const auto json = nlohmann::json::parse(verify_report_json(r));
    CHECK(json["schema"] == "cyrconv-verify");
    CHECK(json["verified"] == true);
    CHECK(json["totals"]["balanced"] == true);
  }
}

TEST_CASE("verify: mbox --gzip output is read through zlib, a truncated .gz is reported") {
  test::TempDir tmp;
  ConvertOptions opt;
  opt.format = OutputFormat::mbox;
  opt.out = tmp.path / "gz";
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  opt.gzip = true;
  run_convert(fixture_inputs(), opt);
  REQUIRE(fs::exists(opt.out / "alice" / "mail" / "INBOX.gz"));
  check_clean(verify(opt.out));
  edit_file(opt.out / "alice" / "mail" / "INBOX.gz", [](std::string& s) { s.resize(s.size() / 2); });
  const VerifyReport r = verify(opt.out);
  CHECK_FALSE(r.clean());
  bool reported = false;
  for (const auto& f : findings_of(r, Finding::Severity::error))
    reported = reported || (f.kind == "output_unreadable" && f.detail.find("gzip") != std::string::npos);
  CHECK(reported);
}

TEST_CASE("verify: old index versions (no GUID) are checked against the source files") {
  test::TempDir tmp;
  for (const char* fixture : {"cyrus36-oldindex", "cyrus36-legacy"}) {
    CAPTURE(fixture);
    const fs::path out = convert_into(tmp.path / fixture, OutputFormat::maildir, fixture_inputs(fixture));
    check_clean(verify(out, fixture_inputs(fixture)));
  }
}

TEST_CASE("verify: every damaged spool verifies clean, repaired/quarantined/missing/orphans accounted for") {
  test::TempDir tmp;
  const auto manifest = nlohmann::json::parse(test::make_damaged_spools(tmp.path / "damaged", "--minimal"));
  for (const auto& c : manifest["cases"]) {
    const std::string cls = c["class"];
    CAPTURE(cls);
    SourceInputs in;
    in.partitions.emplace_back("default", tmp.path / "damaged" / std::string(c["spool"]));
    for (const auto format : {OutputFormat::maildir, OutputFormat::mbox}) {
      const fs::path out = convert_into(tmp.path / (cls + (format == OutputFormat::mbox ? "-mbox" : "")), format, in);
      const VerifyReport r = verify(out, in);
      check_clean(r);
      CHECK(r.totals.verified + r.totals.quarantined + r.totals.listed_missing == r.totals.messages);
    }
  }
}

TEST_CASE("verify: a quarantined orphan is found under its spool UID in the recovery folder's quarantine") {
  test::TempDir tmp;
  const auto c = nlohmann::json::parse(
      test::make_damaged_spools(tmp.path / "damaged", "--minimal --only orphan_message_file"))["cases"][0];
  const fs::path spool = tmp.path / "damaged" / std::string(c["spool"]);
  const fs::path orphan = spool / std::string(c["directory"]) / (std::to_string(int(c["expect"][0]["uid"])) + ".");
  REQUIRE(fs::exists(orphan));
  // Zero length: convert quarantines the orphan (recovery folder UID 1, spool UID 107).
  write_file(orphan, "");
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  for (const auto format : {OutputFormat::maildir, OutputFormat::mbox}) {
    const fs::path out = convert_into(tmp.path / (format == OutputFormat::mbox ? "mbox" : "maildir"), format, in);
    const VerifyReport r = verify(out, in);
    check_clean(r);
    bool recovery_checked = false;
    for (const auto& u : r.users)
      for (const auto& f : u.folders) recovery_checked = recovery_checked || (f.recovery && f.count.quarantined == 1);
    CHECK(recovery_checked);
  }
}

TEST_CASE("verify: each tampering with a Maildir output is its own mismatch") {
  test::TempDir tmp;
  int n = 0;
  auto fresh = [&]() { return convert_into(tmp.path / std::to_string(n++), OutputFormat::maildir); };

  SUBCASE("a flipped byte in a message is a body mismatch") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    edit_file(w.file, [](std::string& s) { s[s.size() / 2] ^= 0x01; });
    check_only(verify(out), "body_mismatch", w.uid);
  }
  SUBCASE("a renamed file (other flags) is a flags mismatch") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    std::string name = w.file.filename().string();
    name = name.substr(0, name.find(":2,") + 3) + (name.find('F', name.find(":2,")) == std::string::npos ? "F" : "");
    fs::rename(w.file, w.file.parent_path() / name);
    const VerifyReport r = verify(out);
    check_only(r, "flags_mismatch", w.uid);
  }
  SUBCASE("a changed mtime is an internaldate mismatch") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    set_mtime(w.file, w.internaldate + 3600);
    check_only(verify(out), "internaldate_mismatch", w.uid);
  }
  SUBCASE("a deleted message file is reported missing from cur/") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    fs::remove(w.file);
    check_only(verify(out), "message_file_missing", w.uid);
  }
  SUBCASE("a deleted message file and manifest line is a lost message") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    fs::remove(w.file);
    edit_file(out / "alice" / "manifests" / "INBOX.jsonl", [&](std::string& s) {
      const auto at = s.find("{\"uid\":" + std::to_string(w.uid) + ",");
      s.erase(at, s.find('\n', at) + 1 - at);
    });
    const VerifyReport r = verify(out);
    check_only(r, "lost_message", w.uid);
    CHECK(r.totals.lost == 1);
  }
  SUBCASE("an edited uidlist V is a UIDVALIDITY mismatch") {
    const fs::path out = fresh();
    edit_file(out / "alice" / "Maildir" / "dovecot-uidlist", [](std::string& s) { s.replace(3, 1, "2"); });
    check_only(verify(out), "uidvalidity_mismatch", 0);
  }
  SUBCASE("a removed manifest line is a missing manifest entry") {
    const fs::path out = fresh();
    const Written w = first_written(out, false);
    edit_file(out / "alice" / "manifests" / "INBOX.jsonl", [&](std::string& s) {
      const auto at = s.find("{\"uid\":" + std::to_string(w.uid) + ",");
      s.erase(at, s.find('\n', at) + 1 - at);
    });
    const VerifyReport r = verify(out);
    check_only(r, "manifest_entry_missing", w.uid);
    CHECK(r.totals.mismatched == 1);
  }
  SUBCASE("mail delivered after the conversion is info, never an error") {
    const fs::path out = fresh();
    write_file(out / "alice" / "Maildir" / "new" / "1800000000.M1.host", "Subject: later\n\nhi\n");
    write_file(out / "alice" / "Maildir" / "cur" / "1800000001.M2.host:2,S", "Subject: later\n\nhi\n");
    const VerifyReport r = verify(out);
    check_clean(r);
    CHECK(r.totals.extra == 2);
    CHECK(findings_of(r, Finding::Severity::info).size() >= 2);
  }
}

TEST_CASE("verify: each tampering with an mbox output is its own mismatch") {
  test::TempDir tmp;
  int n = 0;
  auto fresh = [&]() { return convert_into(tmp.path / std::to_string(n++), OutputFormat::mbox); };

  SUBCASE("a changed Status header is a flags mismatch") {
    const fs::path out = fresh();
    const Written w = first_written(out, true);
    edit_file(out / "alice" / "mail" / "INBOX", [&](std::string& s) {
      const auto at = s.find("\nStatus: ", w.mbox_offset);
      REQUIRE(at != std::string::npos);
      const auto eol = s.find('\n', at + 1);
      s.replace(at, eol - at, s.substr(at, eol - at) == "\nStatus: RO" ? "\nStatus: O " : "\nStatus: RO");
    });
    check_only(verify(out), "flags_mismatch", w.uid);
  }
  SUBCASE("an unquoted From line in a body splits the message: body mismatch plus an extra message") {
    const fs::path out = fresh();
    const Written w = first_written(out, true);
    edit_file(out / "alice" / "mail" / "INBOX", [&](std::string& s) {
      // Same length, so the other messages keep their offsets: a body line now starts "From ".
      const auto body = s.find("\n\n", w.mbox_offset);
      REQUIRE(body != std::string::npos);
      s.replace(body + 2, 5, "From ");
    });
    const VerifyReport r = verify(out);
    check_only(r, "body_mismatch", w.uid);
    CHECK(r.totals.extra == 1);
  }
  SUBCASE("a changed byte is a body mismatch") {
    const fs::path out = fresh();
    const Written w = first_written(out, true);
    edit_file(out / "alice" / "mail" / "INBOX", [&](std::string& s) {
      const auto at = s.find("Subject:", w.mbox_offset);
      s[at + 9] ^= 0x01;
    });
    check_only(verify(out), "body_mismatch", w.uid);
  }
}

TEST_CASE("mbox reader: undoes quoting, renames, metadata and the separator, keeps both final-EOL digests") {
  std::vector<MboxMessage> got;
  MboxReader reader([&](MboxMessage&& m) { got.push_back(std::move(m)); });
  const std::string mbox =
      "From a@b Thu Jan  1 00:00:00 1970\n"
      "Subject: one\nX-Cyrconv-Orig-Status: RO\nX-IMAPbase: 7 0000000002 $x\nX-UID: 1\nStatus: RO\nX-Keywords: $x\n"
      "\n>From here\n>>From there\nFrom: not quoted\n\n"
      "From a@b Thu Jan  1 00:00:00 1970\n"
      "Subject: two\nX-UID: 2\nStatus: O\nX-Status: AF\n\nlast line\n\n";
  // Fed byte by byte: chunk boundaries must not matter.
  for (char c : mbox) reader.feed(std::string_view(&c, 1));
  reader.finish();
  CHECK(reader.errors().empty());
  REQUIRE(got.size() == 2);
  auto digest = [](const std::string& s) {
    Sha1Stream h;
    h.reset(false);
    h.feed(s);
    return h.finish();
  };
  const MboxMessage& a = got[0];
  CHECK(a.uid == 1u);
  CHECK(a.status == "RO");
  CHECK(a.keywords == "$x");
  CHECK(a.imapbase == "7 0000000002 $x");
  CHECK(a.quoted_lines == 2);
  CHECK(a.renamed_headers == 1);
  CHECK(a.offset == 0);
  CHECK(a.sha1 == digest("Subject: one\r\nStatus: RO\r\n\r\nFrom here\r\n>From there\r\nFrom: not quoted\r\n"));
  const MboxMessage& b = got[1];
  CHECK(b.uid == 2u);
  CHECK(b.x_status == "AF");
  CHECK_FALSE(b.imapbase);
  CHECK(b.offset == mbox.find("From a@b", 1));
  CHECK(b.sha1 == digest("Subject: two\r\n\r\nlast line\r\n"));
  CHECK(b.sha1_without_added_eol == digest("Subject: two\r\n\r\nlast line"));
}

TEST_CASE("output reader: uidlist, keywords and Maildir names") {
  const auto u = parse_dovecot_uidlist("3 V123 N9 Gabc\n1 :a,S=1,W=2\n5 G1 :b\n5 :c\nbogus\n");
  CHECK(u.uidvalidity == 123u);
  CHECK(u.uidnext == 9u);
  CHECK(u.base_of_uid.size() == 2);
  CHECK(u.base_of_uid.at(5) == "b");
  CHECK(u.errors.size() == 2);  // UID 5 twice, a line that is no entry
  std::vector<std::string> errs;
  const auto k = parse_dovecot_keywords("0 $Forwarded\n1 Junk\n", errs);
  CHECK(errs.empty());
  CHECK(k.at('b') == "Junk");
  const auto n = parse_maildir_name("1.V1U2.cyrconv,S=10,W=12:2,FSa");
  CHECK(n.base == "1.V1U2.cyrconv,S=10,W=12");
  CHECK(n.size == 10u);
  CHECK(n.vsize == 12u);
  CHECK(n.flags == "FSa");
}

namespace {
int run_status(const std::string& args) {
  const std::string cmd = test::cyrconv_binary().string() + " " + args + " >/dev/null 2>&1";
  const int st = std::system(cmd.c_str());
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
}  // namespace

TEST_CASE("cli: verify exit statuses (0 verified, 1 mismatch, 2 usage, 3 unusable input)") {
  test::TempDir tmp;
  const fs::path out = convert_into(tmp.path / "out", OutputFormat::maildir);
  const fs::path fx = test::fixtures_dir() / "cyrus36-default";
  const std::string src = "verify --spool " + (fx / "spool").string() + " --config " + (fx / "config").string();
  CHECK(run_status(src + " --out " + out.string() + " --report " + (tmp.path / "r.json").string()) == 0);
  CHECK(nlohmann::json::parse(test::read_file(tmp.path / "r.json"))["verified"] == true);
  CHECK(run_status(src) == 2);                                              // --out is required
  CHECK(run_status(src + " --out " + out.string() + " --format zip") == 2);  // bad value
  CHECK(run_status(src + " --out " + (tmp.path / "nope").string()) == 3);
  fs::create_directory(tmp.path / "empty");
  CHECK(run_status(src + " --out " + (tmp.path / "empty").string()) == 3);  // no output tree to detect
  CHECK(run_status(src + " --out " + out.string() + " --format mbox") == 1);  // wrong format: nothing found
  const Written w = first_written(out, false);
  fs::remove(w.file);
  CHECK(run_status(src + " --out " + out.string()) == 1);
}
