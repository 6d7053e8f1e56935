// Structural damage at the inventory level (converter/source/recover.h, README "When a mailbox is
// damaged"): a mailbox whose index or header is unusable is rebuilt from its files for every
// subcommand; names that are not UTF-8 never throw; verify's census finds what is not accounted for.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <nlohmann/json.hpp>
#include <random>

#include "converter/source/census.h"
#include "converter/convert/convert.h"
#include "converter/audit/scan.h"
#include "converter/verify/verify.h"
#include "parsers/utf8.h"
#include "tests/test_support.h"
#include "writers/convert_report.h"
#include "writers/scan_report.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

std::size_t message_files_in(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file() && !e.is_symlink() && is_message_file_name(e.path().filename().string())) ++n;
  return n;
}

// The legacy fixture copied; carl's Sent is the damaged mailbox.
struct LegacyCopy {
  test::TempDir tmp;
  fs::path spool, sent;
  LegacyCopy() {
    fs::copy(test::fixtures_dir() / "cyrus36-legacy" / "spool", tmp.path / "spool", fs::copy_options::recursive);
    spool = tmp.path / "spool";
    sent = spool / "C" / "user" / "carl" / "Sent";
  }
  SourceInputs inputs() const {
    SourceInputs in;
    in.partitions.emplace_back("default", spool);
    return in;
  }
};

const FolderSummary* folder_in(const ScanReport& r, const std::string& dir) {
  for (const auto& u : r.users)
    for (const auto& f : u.folders)
      if (f.directory == dir) return &f;
  return nullptr;
}

bool has_kind(const std::vector<Finding>& fs, const std::string& kind) {
  for (const auto& f : fs)
    if (f.kind == kind) return true;
  return false;
}

}  // namespace

TEST_CASE("an unusable cyrus.index: the folder is rebuilt from its files, in every subcommand's inventory") {
  for (const std::string fault : {"missing", "empty", "short", "random", "directory", "fifo", "symlink"}) {
    CAPTURE(fault);
    LegacyCopy c;
    const std::size_t files = message_files_in(c.sent);
    REQUIRE(files > 0);
    const fs::path index = c.sent / "cyrus.index";
    const std::string bytes = test::read_file(index);
    fs::remove(index);
    if (fault == "empty") std::ofstream(index, std::ios::binary);
    if (fault == "short") std::ofstream(index, std::ios::binary) << bytes.substr(0, 20);
    if (fault == "random") {
      std::string junk(bytes.size(), '\0');
      std::mt19937 rng(7);
      for (auto& ch : junk) ch = static_cast<char>(rng());
      std::ofstream(index, std::ios::binary) << junk;
    }
    if (fault == "directory") fs::create_directory(index);
    if (fault == "fifo") REQUIRE(mkfifo(index.c_str(), 0600) == 0);
    if (fault == "symlink") fs::create_symlink("../cyrus.index", index);

    const ScanReport r = run_scan(c.inputs(), ScanOptions{});
    const FolderSummary* f = folder_in(r, c.sent.string());
    REQUIRE(f);
    CHECK(f->messages == files);
    CHECK(has_kind(f->findings, "recovered_without_index"));
    CHECK(has_kind(f->findings, "index_unreadable"));
  }
}

TEST_CASE("recovered records: UIDs from file names, INTERNALDATE from Received:/Date:/mtime, in the manifest") {
  LegacyCopy c;
  fs::remove(c.sent / "cyrus.index");
  fs::remove(c.sent / "cyrus.header");
  { std::ofstream(c.sent / "900.", std::ios::binary) << "Subject: no date\r\n\r\nbody\r\n"; }
  { std::ofstream(c.sent / "901.", std::ios::binary) << "Date: Thu, 1 Jan 1970 00:01:40 +0000\r\n\r\nbody\r\n"; }
  { std::ofstream(c.sent / "0902.", std::ios::binary) << "not a message file name\r\n"; }
  const std::size_t files = message_files_in(c.sent);

  ConvertOptions opt;
  opt.out = c.tmp.path / "out";
  opt.sync = SyncPolicy::none;
  const ConvertReport r = run_convert(c.inputs(), opt);
  const ConvertFolder* sent = nullptr;
  for (const auto& u : r.users)
    for (const auto& f : u.folders)
      if (f.name_raw == "user.carl.Sent") sent = &f;
  REQUIRE(sent);  // named by its legacy path: the header is gone
  CHECK(sent->count.messages == files);
  CHECK(sent->count.written + sent->count.repaired == files);
  CHECK(sent->count.recovered_without_index == files);
  CHECK(sent->count.files_balanced());
  CHECK(r.totals.files_balanced());
  CHECK(has_kind(sent->findings, "uidvalidity_new"));  // no mailboxes.db to hold it

  // The manifest says where each INTERNALDATE came from.
  const std::string manifest = test::read_file(opt.out / "carl" / "manifests" / "Sent.jsonl");
  std::map<std::uint32_t, nlohmann::json> by_uid;
  std::istringstream lines(manifest);
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    by_uid[j["uid"].get<std::uint32_t>()] = j;
  }
  REQUIRE(by_uid.count(900));
  REQUIRE(by_uid.count(901));
  CHECK(by_uid[900]["internaldate_source"] == "mtime");
  CHECK(by_uid[901]["internaldate_source"] == "date");
  CHECK(by_uid[901]["internaldate"] == 100);
  for (const auto& [uid, j] : by_uid) CHECK(j["flags"].empty());

  VerifyOptions vo;
  vo.out = opt.out;
  const VerifyReport v = run_verify(c.inputs(), vo);
  CHECK(v.clean());
  CHECK(v.census.lost == 0);
  CHECK(v.census.balanced());

  // Remove one converted message: verify fails, and its census names the file as lost.
  for (const auto& e : fs::directory_iterator(opt.out / "carl" / "Maildir" / ".Sent" / "cur")) {
    fs::remove(e.path());
    break;
  }
  // (the folder's check finds its uidlist entry without a file: a mismatch; the census counts it)
  const VerifyReport broken = run_verify(c.inputs(), vo);
  CHECK_FALSE(broken.clean());
  CHECK(broken.census.converted == v.census.converted - 1);
  CHECK(broken.census.lost + broken.census.mismatched == 1);
  CHECK(broken.census.balanced());
}

TEST_CASE("a uuid mailbox without header or index and without mailboxes.db becomes Recovered/<directory>") {
  test::TempDir tmp;
  fs::copy(test::fixtures_dir() / "cyrus36-default" / "spool", tmp.path / "spool", fs::copy_options::recursive);
  fs::path victim;
  for (const auto& e : fs::recursive_directory_iterator(tmp.path / "spool"))
    if (e.is_regular_file() && e.path().filename() == "cyrus.header" && message_files_in(e.path().parent_path()) > 2) {
      victim = e.path().parent_path();
      break;
    }
  REQUIRE(!victim.empty());
  fs::remove(victim / "cyrus.header");
  fs::remove(victim / "cyrus.index");
  SourceInputs in;
  in.partitions.emplace_back("default", tmp.path / "spool");
  const ScanReport r = run_scan(in, ScanOptions{});
  const FolderSummary* f = folder_in(r, victim.string());
  REQUIRE(f);
  CHECK(f->name_raw == "Recovered." + victim.filename().string());
  CHECK(f->messages == message_files_in(victim));
}

TEST_CASE("verify's census: each file converted, expunged, left out or not verified, the rest is lost") {
  SourceCensus census;
  census.dirs = {{"/s/a", {1, 2, 3, 4}}, {"/s/b", {1}}, {"/s/c", {1}}, {"/s/d", {7}}};
  census.files = 7;
  CensusAccounts a;
  a.mark("/s/a", 1, CensusMark::converted);
  a.mark("/s/./a", 2, CensusMark::mismatched);
  a.mark("/s/a", 2, CensusMark::converted);  // a duplicate record: converted wins
  a.mark("/s/a", 3, CensusMark::expunged);
  a.mark("/s/a", 4, CensusMark::reported_lost);
  a.left_out_dirs = {{"/s/b", "DELETED.user.x"}};
  a.not_verified_dirs = {"/s/c"};
  std::vector<Finding> findings;
  const VerifyCensus c = account_census(census, a, findings);
  CHECK(c.files == 7);
  CHECK(c.converted == 2);
  CHECK(c.mismatched == 0);
  CHECK(c.expunged == 1);
  CHECK(c.left_out == 1);
  CHECK(c.not_verified == 1);
  CHECK(c.lost == 2);  // /s/a/4. (its folder reported it) and /s/d/7.
  CHECK(c.balanced());
  std::size_t lost_findings = 0;
  for (const auto& f : findings)
    if (f.kind == "lost_message_file") {
      ++lost_findings;
      CHECK(f.file == "/s/d/7.");
    }
  CHECK(lost_findings == 1);
  CHECK(has_kind(findings, "census_left_out"));
}

TEST_CASE("names that are not UTF-8: escaped losslessly, never an exception") {
  CHECK(valid_utf8("Ärger & Ölpreis"));
  CHECK_FALSE(valid_utf8("\xe4"));
  CHECK_FALSE(valid_utf8("\xed\xa0\x80"));  // a surrogate
  CHECK_FALSE(valid_utf8("\xc0\xaf"));      // overlong
  CHECK(escape_invalid_utf8("plain\\name") == "plain\\name");  // valid: unchanged
  CHECK(escape_invalid_utf8("a\\b\xff") == "a\\\\b\\xff");
  CHECK(to_hex("\xe4\xff") == "e4ff");
  // Every byte string escapes to valid UTF-8 and the escape is undone exactly.
  std::mt19937 rng(18);
  for (int n = 0; n < 2000; ++n) {
    std::string s(rng() % 12, '\0');
    for (auto& ch : s) ch = static_cast<char>(rng());
    const std::string e = escape_invalid_utf8(s);
    REQUIRE(valid_utf8(e));
    if (valid_utf8(s)) continue;
    std::string back;
    for (std::size_t i = 0; i < e.size(); ++i) {
      if (e[i] == '\\' && e[i + 1] == '\\') {
        back += '\\';
        ++i;
      } else if (e[i] == '\\' && e[i + 1] == 'x') {
        back += static_cast<char>(std::stoi(e.substr(i + 2, 2), nullptr, 16));
        i += 3;
      } else {
        back += e[i];
      }
    }
    CHECK(back == s);
  }
}

TEST_CASE("the directory walk with odd bytes in names: scan, reports, convert and verify never throw") {
  LegacyCopy c;
  const fs::path carl = c.spool / "C" / "user" / "carl";
  // Directory names with bytes that are not UTF-8, control characters, '^' and '.', each a copy
  // of Sent (a mailbox by its path; no mailboxes.db).
  std::mt19937 rng(1818);
  std::vector<std::string> names = {"\xff", "Gesendet-\xe4", "a\x01" "b", "x^y", "\xc3", "\xed\xa0\x80", "dot.ted"};
  for (int k = 0; k < 6; ++k) {
    std::string n(1 + rng() % 8, '\0');
    for (auto& ch : n) {
      do ch = static_cast<char>(rng());
      while (ch == '/' || ch == '\0');
    }
    if (n == "." || n == ".." || n.starts_with("cyrus.")) continue;
    names.push_back(n);
  }
  std::size_t copies = 0;
  for (const auto& n : names) {
    std::error_code ec;
    fs::copy(c.sent, carl / n, fs::copy_options::recursive, ec);
    if (!ec) ++copies;
  }
  REQUIRE(copies >= 6);
  ScanReport r;
  REQUIRE_NOTHROW(r = run_scan(c.inputs(), ScanOptions{}));
  std::string json;
  REQUIRE_NOTHROW(json = scan_report_json(r));
  CHECK(nlohmann::json::parse(json).contains("users"));
  CHECK(json.find("name_bytes") != std::string::npos);

  ConvertOptions opt;
  opt.out = c.tmp.path / "out";
  opt.sync = SyncPolicy::none;
  ConvertReport cr;
  REQUIRE_NOTHROW(cr = run_convert(c.inputs(), opt));
  CHECK(cr.totals.balanced());
  CHECK(cr.totals.files_balanced());
  std::ostringstream cj;
  REQUIRE_NOTHROW(write_convert_report_json(cr, cj, nullptr));
  // The rename map keeps the Cyrus name's bytes (a --rename-map override must match them); every
  // target path in it is valid UTF-8.
  std::istringstream map(test::read_file(opt.out / "rename-map.tsv"));
  std::size_t renamed = 0;
  for (std::string line; std::getline(map, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::istringstream fields(line);
    for (std::string col; std::getline(fields, col, '\t');) cols.push_back(col);
    REQUIRE(cols.size() >= 4);
    CHECK(valid_utf8(cols[3]));
    ++renamed;
  }
  CHECK(renamed >= 4);
  VerifyOptions vo;
  vo.out = opt.out;
  VerifyReport v;
  REQUIRE_NOTHROW(v = run_verify(c.inputs(), vo));
  CHECK(v.census.lost == 0);
  CHECK(v.clean());
}
