// Issue 9, hostile file systems: symlinks, FIFOs and directories where files belong are
// reported and never followed or read; no folder name writes outside --out; output is 0700/0600;
// a read-only source keeps its bytes and mtimes through audit and convert.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "converter/audit/audit.h"
#include "converter/convert/convert.h"
#include "parsers/hex.h"
#include "parsers/sha1.h"
#include "writers/audit_report.h"
#include "writers/convert_report.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

const fs::path legacy_spool() { return test::fixtures_dir() / "cyrus36-legacy" / "spool"; }

SourceInputs spool_only(const fs::path& spool) {
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  return in;
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

// path -> "type sha1 mtime_ns" for everything below root (lstat: links are not followed).
std::map<std::string, std::string> snapshot(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    REQUIRE(lstat(it->path().c_str(), &st) == 0);
    std::string v = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec) + "." +
                    std::to_string(st.st_mtim.tv_nsec) + " " + std::to_string(st.st_size);
    if (S_ISREG(st.st_mode)) v += " " + to_hex(sha1(test::read_file(it->path())));
    out[fs::relative(it->path(), root).string()] = v;
  }
  return out;
}

// Every directory under root is 0700 (no group/other bits) and every file 0600; no links.
void check_private(const fs::path& root) {
  std::size_t files = 0;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st {};
    REQUIRE(lstat(it->path().c_str(), &st) == 0);
    INFO(it->path().string() << " mode " << std::oct << (st.st_mode & 07777));
    CHECK((st.st_mode & 0077) == 0);
    CHECK((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)));
    if (S_ISREG(st.st_mode)) ++files;
  }
  CHECK(files > 0);
}

// No file under root contains `needle`.
void check_absent(const fs::path& root, const std::string& needle) {
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) {
      INFO(e.path().string());
      CHECK(test::read_file(e.path()).find(needle) == std::string::npos);
    }
}

std::set<std::string> entries_of(const fs::path& dir) {
  std::set<std::string> s;
  for (const auto& e : fs::directory_iterator(dir)) s.insert(e.path().filename().string());
  return s;
}

// A FIFO opened without O_NONBLOCK blocks forever: let a hang kill the test run instead.
struct HangGuard {
  HangGuard() { alarm(120); }
  ~HangGuard() { alarm(0); }
};

}  // namespace

TEST_CASE("symlinks, FIFOs and directories inside the spool are reported, never followed or read") {
  test::TempDir tmp;
  const fs::path spool = tmp.path / "spool", outside = tmp.path / "outside", out = tmp.path / "out";
  fs::copy(legacy_spool(), spool, fs::copy_options::recursive);
  fs::create_directories(outside);
  const std::string secret = "OUTSIDE-SECRET-7f3a";
  write_file(outside / "secret.eml", "From: x@y\r\nSubject: " + secret + "\r\n\r\n" + secret + "\r\n");
  // A mailbox outside the spool that following `evil` would discover.
  fs::copy(spool / "C/user/carl/Sent", outside / "mbox", fs::copy_options::recursive);
  write_file(outside / "mbox" / "1.", "From: x@y\r\nSubject: " + secret + "\r\n\r\nx\r\n");
  fs::copy_file(spool / "C/user/carl/Sent/cyrus.index", outside / "cyrus.index");

  const fs::path inbox = spool / "C/user/carl";
  fs::remove(inbox / "1.");
  fs::create_symlink(outside / "secret.eml", inbox / "1.");        // message file -> file outside
  fs::remove(inbox / "2.");
  REQUIRE(mkfifo((inbox / "2.").c_str(), 0600) == 0);               // message file is a FIFO
  fs::remove(inbox / "3.");
  fs::create_directory(inbox / "3.");                                // message file is a directory
  fs::create_directory_symlink(outside / "mbox", inbox / "evil");    // folder -> directory outside
  fs::remove(inbox / "Sent/cyrus.index");
  fs::create_symlink(outside / "cyrus.index", inbox / "Sent/cyrus.index");
  fs::remove(inbox / "Archive/cyrus.header");
  REQUIRE(mkfifo((inbox / "Archive/cyrus.header").c_str(), 0600) == 0);
  const auto outside_before = snapshot(outside);

  HangGuard guard;
  AuditOptions aopt;
  aopt.threads = 2;
  const AuditReport audit = run_audit(spool_only(spool), aopt);
  const std::string json = audit_report_json(audit);
  CHECK(json.find("symlink_in_spool") != std::string::npos);
  CHECK(json.find("special_file_in_spool") != std::string::npos);
  CHECK(json.find(secret) == std::string::npos);
  CHECK(json.find("evil/") == std::string::npos);  // nothing below the link was walked
  for (const auto& u : audit.users)
    for (const auto& f : u.folders) {
      INFO(f.directory);
      CHECK(f.directory.find(outside.string()) == std::string::npos);
      if (f.directory == inbox.string()) {
        CHECK(f.count.written + f.count.repaired == 0);  // its three message files are all hostile
        CHECK(f.count.missing + f.count.quarantined == f.count.messages);
      }
    }

  ConvertOptions copt;
  copt.out = out;
  copt.threads = 2;
  const ConvertReport conv = run_convert(spool_only(spool), copt);
  CHECK_FALSE(conv.fatal);
  check_absent(out, secret);
  check_private(out);
  CHECK(snapshot(outside) == outside_before);
  CHECK(entries_of(tmp.path) == std::set<std::string>{"spool", "outside", "out"});
}

TEST_CASE("folder names that decode to .., hold / or control characters stay inside --out") {
  test::TempDir tmp;
  const fs::path spool = tmp.path / "spool", out = tmp.path / "box" / "out";
  fs::create_directories(spool);
  fs::copy(legacy_spool() / "C", spool / "C", fs::copy_options::recursive);
  fs::create_directories(out.parent_path());
  const fs::path carl = spool / "C/user/carl";
  // Legacy directories are named by path: each becomes a folder of carl with the hostile name.
  for (const char* name : {"&AC4ALg-", "&AC8-etc", "a&AC8-..&AC8-..&AC8-b", "..&AC8-x", "ctl\x01\x1f\x7f", "nl\nx",
                           "&AAA-nul", "&AFw-back"}) {
    fs::copy(carl / "Sent", carl / name, fs::copy_options::recursive);
  }
  ConvertOptions copt;
  copt.out = out;
  copt.threads = 2;
  for (auto format : {OutputFormat::maildir, OutputFormat::mbox}) {
    copt.format = format;
    fs::remove_all(out);
    HangGuard guard;
    const ConvertReport conv = run_convert(spool_only(spool), copt);
    CHECK_FALSE(conv.fatal);
    CHECK(entries_of(tmp.path / "box") == std::set<std::string>{"out"});
    CHECK(entries_of(tmp.path) == std::set<std::string>{"spool", "box"});
    check_private(out);
    for (const auto& e : fs::recursive_directory_iterator(out)) {
      const std::string rel = fs::relative(e.path(), out).string();
      INFO(rel);
      CHECK(rel.find("..") != 0);
      for (unsigned char c : e.path().filename().string()) CHECK((c >= 0x20 && c != 0x7f));
    }
    for (const auto& u : conv.users)
      for (const auto& f : u.folders) {
        INFO(f.name_raw << " -> " << f.output);
        CHECK(f.output.find("../") == std::string::npos);
        CHECK(f.output.rfind("/", 0) != 0);
      }
  }
}

TEST_CASE("a read-only source keeps its content and mtimes through audit and convert") {
  test::TempDir tmp;
  const fs::path spool = tmp.path / "spool", out = tmp.path / "out";
  fs::copy(legacy_spool(), spool, fs::copy_options::recursive);
  const auto before = snapshot(spool);
  REQUIRE(std::system(("chmod -R a-w '" + spool.string() + "'").c_str()) == 0);
  struct Restore {  // so TempDir can remove it
    fs::path p;
    ~Restore() { [[maybe_unused]] int rc = std::system(("chmod -R u+w '" + p.string() + "'").c_str()); }
  } restore{spool};
  const auto read_only = snapshot(spool);

  AuditOptions aopt;
  aopt.threads = 2;
  aopt.mime = true;
  const AuditReport audit = run_audit(spool_only(spool), aopt);
  CHECK(audit.folders > 0);
  ConvertOptions copt;
  copt.out = out;
  copt.threads = 2;
  const ConvertReport conv = run_convert(spool_only(spool), copt);
  CHECK_FALSE(conv.fatal);
  CHECK(conv.folders > 0);
  CHECK(snapshot(spool) == read_only);
  // Only the permission bits changed by our chmod differ from the original copy.
  for (auto& [path, v] : before) {
    INFO(path);
    REQUIRE(read_only.count(path));
    CHECK(v.substr(v.find(' ')) == read_only.at(path).substr(read_only.at(path).find(' ')));
  }
  check_private(out);
}
