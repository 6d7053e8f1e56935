// Issue 9, resource limits: a folder tree a hundred and more levels deep that is made of real
// mailboxes (not just empty directories, which hostile_input_test.cpp cuts off at the walk limit)
// goes through convert in bounded time: every message accounted for, every name inside --out,
// and with --owner (as root) the whole nested tree, mbox's X.sbd/ levels included, gets its
// owner. Deeper than a Maildir++ name can hold (255 bytes: about 127 one-letter levels), those
// folders are reported one by one (naming_missing, not converted) and the rest converted.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "converter/convert/convert.h"
#include "converter/plan/output_layout.h"
#include "writers/output_file.h"
#include "writers/convert_report.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

// Legacy name-based layout: spool/C/user/carl/d/d/.../d, each level a copy of carl's Sent.
void make_deep_spool(const fs::path& spool, int depth) {
  const fs::path sent = test::fixtures_dir() / "cyrus36-legacy" / "spool" / "C" / "user" / "carl" / "Sent";
  fs::path dir = spool / "C" / "user" / "carl";
  for (int i = 0; i <= depth; ++i) {
    fs::create_directories(dir);
    for (const char* f : {"cyrus.header", "cyrus.index", "1."}) fs::copy_file(sent / f, dir / f);
    dir /= "d";
  }
}

}  // namespace

TEST_CASE("a folder tree 300 levels deep: the levels no name can hold are reported each, the rest converted") {
  test::TempDir tmp;
  make_deep_spool(tmp.path / "spool", 300);
  SourceInputs in;
  in.partitions.emplace_back("default", tmp.path / "spool");
  ConvertOptions o;
  o.format = OutputFormat::mbox;
  o.out = tmp.path / "out";
  o.quiet = true;
  o.check_space = false;
  const auto t0 = std::chrono::steady_clock::now();
  ConvertReport r = run_convert(in, o);
  CHECK(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 60.0);
  CHECK_FALSE(r.fatal);
  std::size_t unnamed = 0, converted = 0;
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      bool missing = false;
      for (const auto& fd : f.findings)
        missing = missing || (fd.kind == "naming_missing" && fd.detail.find("no name fits the dovecot limits") != std::string::npos);
      if (missing) {
        ++unnamed;
        CHECK(f.count.not_converted == f.count.messages);  // counted, not silently skipped
      } else {
        converted += f.count.written;
      }
    }
  CHECK(unnamed > 100);     // the levels past the Maildir++ name limit, each reported
  CHECK(converted > 100);   // the levels above it converted
  CHECK(r.totals.messages == 301);
  CHECK(r.totals.written + r.totals.not_converted == 301);
}

TEST_CASE("a mailbox tree 120 levels deep converts in bounded time, every message accounted for") {
  constexpr int depth = 120;
  test::TempDir tmp;
  make_deep_spool(tmp.path / "spool", depth);
  for (OutputFormat format : {OutputFormat::mbox, OutputFormat::maildir}) {
    CAPTURE(static_cast<int>(format));
    const fs::path out = tmp.path / (format == OutputFormat::mbox ? "out-mbox" : "out-maildir");
    SourceInputs in;
    in.partitions.emplace_back("default", tmp.path / "spool");
    ConvertOptions o;
    o.format = format;
    o.out = out;
    o.quiet = true;
    o.check_space = false;
    o.sync = SyncPolicy::none;
    const bool root = ::geteuid() == 0;
    if (root) {
      o.owner.kind = OwnerMap::Kind::file;
      o.owner.fallback = OwnerId{4401, 4402, "test"};
    }
    const auto t0 = std::chrono::steady_clock::now();
    ConvertReport r = run_convert(in, o);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(seconds < 120.0);  // loose: sanitizer builds on a loaded machine; a blow-up is far beyond
    REQUIRE_FALSE(r.fatal);
    CHECK(r.folders == depth + 1);
    CHECK(r.totals.messages == depth + 1);
    CHECK(r.totals.written == depth + 1);
    CHECK(r.totals.balanced());
    // Everything below --out, nothing elsewhere; with --owner every entry is the user's.
    std::size_t entries = 0, deepest = 0;
    for (auto it = fs::recursive_directory_iterator(out); it != fs::recursive_directory_iterator(); ++it) {
      ++entries;
      deepest = std::max<std::size_t>(deepest, static_cast<std::size_t>(it.depth()));
      const std::string rel = fs::relative(it->path(), out).lexically_normal().string();
      CHECK(rel.rfind("..", 0) != 0);
      if (root && rel.rfind("carl", 0) == 0) {
        struct stat st {};
        REQUIRE(::lstat(it->path().c_str(), &st) == 0);
        INFO(rel);
        CHECK(st.st_uid == 4401u);
        CHECK(st.st_gid == 4402u);
        CHECK((st.st_mode & 0077) == 0);
      }
    }
    CHECK(entries > static_cast<std::size_t>(depth));
    if (format == OutputFormat::mbox) CHECK(deepest >= static_cast<std::size_t>(depth));  // X.sbd/ per level
    for (const auto& u : r.users)
      for (const auto& f : u.findings) CHECK_MESSAGE(f.kind.rfind("owner_", 0) != 0, f.kind << ": " << f.detail);
  }
}

TEST_CASE("side files of a deep folder keep their names under NAME_MAX, distinct and stable") {
  FolderNameResult a, b;
  std::string path = "INBOX";
  for (int i = 0; i < 120; ++i) path += "/d";
  a.path = path + "/x";
  b.path = path + "/y";
  const std::string sa = side_file_name(a), sb = side_file_name(b);
  CHECK(sa.size() <= 200);
  CHECK(sa != sb);
  CHECK(sa == side_file_name(a));
  CHECK(sa.rfind("INBOX%2Fd%2F", 0) == 0);
  FolderNameResult shortname;
  shortname.path = "Sent/2024";
  CHECK(side_file_name(shortname) == "Sent%2F2024");  // short names unchanged
}

TEST_CASE("an OutputFile whose open failed reports every write as an error instead of looping") {
  test::TempDir tmp;
  OutputFile f;
  const WriteStatus opened = f.open(tmp.path / "no-such-dir", std::string(300, 'n'));
  CHECK_FALSE(opened);
  const WriteStatus w = f.write("some bytes");
  CHECK_FALSE(w);
  CHECK(w.message.find("not open") != std::string::npos);
  OutputFile never;
  CHECK_FALSE(never.write("x"));
}
