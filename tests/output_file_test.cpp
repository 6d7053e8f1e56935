// OutputFile on both of its paths: the unnamed O_TMPFILE file and the named temporary file a
// file system without O_TMPFILE gets (forced here through the test switch).
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "writers/output_file.h"

namespace fs = std::filesystem;
using cyrconv::OutputFile;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

void put(const fs::path& p, const std::string& s) { std::ofstream(p, std::ios::binary) << s; }

// Resets the switch however the test case ends.
struct TmpfileSwitch {
  explicit TmpfileSwitch(bool on) { cyrconv::set_output_file_tmpfile_for_test(on); }
  ~TmpfileSwitch() { cyrconv::set_output_file_tmpfile_for_test(true); }
};

// Whether `dir` supports O_TMPFILE at all (tmpfs, ext4, xfs, btrfs do; NFS and overlay may not).
bool tmpfile_supported(const fs::path& dir) {
  OutputFile f;
  return f.open(dir, "probe") && f.unnamed();
}

void check_all_modes(bool tmpfile) {
  cyrconv::test::TempDir tmp;
  const TmpfileSwitch sw(tmpfile);
  const bool unnamed = tmpfile && tmpfile_supported(tmp.path);
  if (tmpfile && !unnamed) MESSAGE("O_TMPFILE not supported in " << tmp.path << ": only the fallback is exercised");
  const fs::path final = tmp.path / "1.msg";

  SUBCASE("refuse: the file appears only on commit, with its bytes and mtime; nothing else is left") {
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    CHECK(f.unnamed() == unnamed);
    REQUIRE(f.write("hello "));
    REQUIRE(f.write("world\n"));
    // The unnamed file has no name at all before commit; the fallback has its temporary name.
    CHECK(names_in(tmp.path) == (unnamed ? std::vector<std::string>{} : std::vector<std::string>{".1.msg.cyrconv-tmp"}));
    REQUIRE(f.commit(final, 1000000000, true, OutputFile::OnExisting::refuse));
    CHECK(cyrconv::test::read_file(final) == "hello world\n");
    struct stat st {};
    REQUIRE(::stat(final.c_str(), &st) == 0);
    CHECK(st.st_mtime == 1000000000);
    CHECK((st.st_mode & 0777) == 0600);
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg"});
  }
  SUBCASE("refuse: an existing file is never replaced") {
    put(final, "theirs");
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("ours"));
    const auto st = f.commit(final, -1, false, OutputFile::OnExisting::refuse);
    CHECK_FALSE(st);
    CHECK(st.error == EEXIST);
    CHECK(st.message.find(final.string()) != std::string::npos);
    f.abort();
    CHECK(cyrconv::test::read_file(final) == "theirs");
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg"});
  }
  SUBCASE("replace: the old file is replaced, no temporary name is left") {
    put(final, "old content");
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("new"));
    REQUIRE(f.commit(final, -1, false, OutputFile::OnExisting::replace));
    CHECK(cyrconv::test::read_file(final) == "new");
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg"});
    // And into an empty place, too.
    REQUIRE(f.open(tmp.path, "2.msg"));
    REQUIRE(f.write("two"));
    REQUIRE(f.commit(tmp.path / "2.msg", -1, false, OutputFile::OnExisting::replace));
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg", "2.msg"});
  }
  SUBCASE("keep_identical: same bytes are kept, other bytes refused") {
    put(final, "same bytes");
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("same bytes"));
    REQUIRE(f.commit(final, -1, false, OutputFile::OnExisting::keep_identical));
    CHECK(f.kept_existing());
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("same bytez"));
    const auto st = f.commit(final, -1, false, OutputFile::OnExisting::keep_identical);
    CHECK_FALSE(st);
    CHECK(st.error == EEXIST);
    f.abort();
    CHECK(cyrconv::test::read_file(final) == "same bytes");
    REQUIRE(f.open(tmp.path, "3.msg"));
    REQUIRE(f.write("fresh"));
    REQUIRE(f.commit(tmp.path / "3.msg", -1, false, OutputFile::OnExisting::keep_identical));
    CHECK_FALSE(f.kept_existing());
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg", "3.msg"});
  }
  SUBCASE("rewind_to drops bytes in the buffer and bytes already on disk") {
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("keep;"));
    const auto mark = f.bytes_written();
    REQUIRE(f.write("drop"));
    REQUIRE(f.rewind_to(mark));
    REQUIRE(f.write(std::string(300 * 1024, 'x')));  // past the buffer: flushed to the file
    REQUIRE(f.rewind_to(mark));
    REQUIRE(f.write("end"));
    REQUIRE(f.commit(final, -1, false, OutputFile::OnExisting::refuse));
    CHECK(cyrconv::test::read_file(final) == "keep;end");
  }
  SUBCASE("an uncommitted file leaves nothing behind") {
    {
      OutputFile f;
      REQUIRE(f.open(tmp.path, "1.msg"));
      REQUIRE(f.write(std::string(300 * 1024, 'y')));
    }
    CHECK(names_in(tmp.path).empty());
  }
  SUBCASE("a leftover temporary name of a killed run does not stop a commit") {
    put(tmp.path / ".1.msg.cyrconv-tmp", "leftover");
    OutputFile f;
    REQUIRE(f.open(tmp.path, "1.msg"));
    REQUIRE(f.write("data"));
    REQUIRE(f.commit(final, -1, false, OutputFile::OnExisting::replace));
    CHECK(cyrconv::test::read_file(final) == "data");
    CHECK(names_in(tmp.path) == std::vector<std::string>{"1.msg"});
  }
  SUBCASE("a missing directory is an error naming it") {
    OutputFile f;
    const auto st = f.open(tmp.path / "nope", "1.msg");
    CHECK_FALSE(st);
    CHECK(st.message.find((tmp.path / "nope").string()) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("OutputFile with O_TMPFILE: every OnExisting mode, rewind, abort") { check_all_modes(true); }

TEST_CASE("OutputFile fallback (named temporary file): every OnExisting mode, rewind, abort") { check_all_modes(false); }
