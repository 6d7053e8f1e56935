#include <doctest/doctest.h>

#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "tests/test_support.h"
#include "writers/zimbra_archive.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

// Python's tarfile reads each part on its own: "name size" per member, one line each.
std::string python_listing(const fs::path& tgz) {
  const std::string cmd = "python3 -c 'import sys,tarfile\nfor m in tarfile.open(sys.argv[1], \"r:gz\"): print(m.name, m.size)' " +
                          tgz.string();
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

WriteStatus add(ZimbraArchive& a, const std::string& name, std::size_t size, char fill) {
  WriteStatus st = a.begin(TarEntry{name, size, 0, 0600});
  if (st) st = a.write(std::string(size, fill));
  if (st) st = a.end();
  return st;
}

}  // namespace

TEST_CASE("zimbra archive parts: bounded, each a whole archive, an oversize entry alone, names by part") {
  CHECK(ZimbraArchive::tar_budget(0) == UINT64_MAX);
  CHECK(ZimbraArchive::tar_budget(65536) == 65536 - 64 - 1024);
  CHECK(ZimbraArchive::entry_bytes(TarEntry{"a/1.eml", 1, 0, 0600}) == 1024);
  CHECK(ZimbraArchive::entry_bytes(TarEntry{std::string(100, 'n'), 512, 0, 0600}) == 512 + 512 + 512 + 512);

  test::TempDir dir;
  ZimbraArchive a;
  const std::uint64_t limit = 64 * 1024;
  REQUIRE(a.open(dir.path, [](unsigned p) { return "part" + std::to_string(p) + ".tgz"; }, limit));
  std::vector<std::string> placed;
  // Random-looking bytes do not compress: the budget, not gzip, must keep each part in bounds.
  for (int i = 0; i < 12; ++i) {
    std::string body(20000, 'x');
    std::uint32_t v = 2166136261u + static_cast<std::uint32_t>(i);
    for (auto& c : body) c = static_cast<char>((v = v * 16777619u + 12345u) >> 24);
    REQUIRE(a.begin(TarEntry{"Inbox/" + std::to_string(i + 1) + ".eml", body.size(), 0, 0600}));
    REQUIRE(a.write(body));
    REQUIRE(a.end());
    placed.push_back(a.current_name());
  }
  REQUIRE(add(a, "Big/1.eml", 100000, 'b'));  // larger than a part: one of its own
  const std::string big_part = a.current_name();
  REQUIRE(add(a, "Inbox/13.eml", 10, 'c'));
  CHECK(a.current_name() != big_part);
  REQUIRE(a.commit(false));
  CHECK(a.entries() == 14);
  CHECK(a.parts() >= 5);
  CHECK(placed.front() == "part1.tgz");
  // Two 20 KB entries and the end fit the tar budget of 64 KiB (whole 10 KiB records) ...
  CHECK(placed[1] == "part1.tgz");
  CHECK(placed[2] == "part2.tgz");  // ... a third does not
  std::size_t listed = 0;
  for (unsigned p = 1; p <= a.parts(); ++p) {
    const fs::path f = dir.path / ("part" + std::to_string(p) + ".tgz");
    REQUIRE(fs::exists(f));
    if ("part" + std::to_string(p) + ".tgz" != big_part) CHECK(fs::file_size(f) <= limit);
    const std::string l = python_listing(f);
    CHECK(!l.empty());
    for (char c : l) listed += c == '\n';
  }
  CHECK(listed == 14);
  CHECK(python_listing(dir.path / big_part) == "Big/1.eml 100000\n");
}

namespace {

// RLIMIT_FSIZE lowered (SIGXFSZ ignored): every write past `bytes` in a file fails with EFBIG,
// a write failure as a full disk gives one, without any hook in the code under test.
struct FileSizeLimit {
  rlimit old{};
  void (*old_handler)(int);
  explicit FileSizeLimit(rlim_t bytes) {
    old_handler = std::signal(SIGXFSZ, SIG_IGN);
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    rlimit low = old;
    low.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &low) == 0);
  }
  ~FileSizeLimit() {
    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, old_handler);
  }
};

// Runs nothing until wait(), then everything in reverse order: the last part is compressed
// first. With `file_limit`, the compressions run under a FileSizeLimit of that many bytes.
struct ReverseCompressor final : PartCompressor {
  std::vector<std::function<void()>> queued;
  unsigned submitted = 0;
  rlim_t file_limit = 0;
  void submit(std::function<void()> work) override {
    ++submitted;
    queued.push_back(std::move(work));
  }
  void wait() override {
    std::optional<FileSizeLimit> limit;
    if (file_limit) limit.emplace(file_limit);
    while (!queued.empty()) {
      auto w = std::move(queued.back());
      queued.pop_back();
      w();
    }
  }
};

// Runs each part's compression at once, as the writing thread does with every slot taken.
struct InlineCompressor final : PartCompressor {
  rlim_t file_limit = 0;
  void submit(std::function<void()> work) override {
    std::optional<FileSizeLimit> limit;
    if (file_limit) limit.emplace(file_limit);
    work();
  }
  void wait() override {}
};

// Entries of mixed sizes, text that compresses and, from the 13th on, some noise that does not
// (part 1 compresses small); some larger than the scratch file's memory buffer (256 KiB), so
// staged parts go through the disk.
WriteStatus fill(ZimbraArchive& a) {
  std::uint32_t v = 12345;
  for (int i = 0; i < 40; ++i) {
    const std::size_t size = 1000 + static_cast<std::size_t>(i % 7) * 61000 + (i % 13 == 0 ? 300000 : 0);
    std::string body(size, ' ');
    for (std::size_t k = 0; k < size; ++k)
      body[k] = i % 3 == 1 && i >= 12 ? static_cast<char>((v = v * 1103515245u + 12345u) >> 24)
                           : "Subject: hello world\r\n"[k % 22];
    const std::string name = (i % 5 == 0 ? std::string(120, 'd') + "/" : std::string("Inbox/")) + std::to_string(i) + ".eml";
    WriteStatus st = a.begin(TarEntry{name, body.size(), 1700000000 + i, i % 2 ? 0600u : 0400u});
    if (st) st = a.write(std::string_view(body).substr(0, size / 3));
    if (st) st = a.write(std::string_view(body).substr(size / 3));
    if (st) st = a.end();
    if (!st) return st;
  }
  return {};
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> n;
  for (const auto& e : fs::directory_iterator(dir)) n.push_back(e.path().filename().string());
  std::sort(n.begin(), n.end());
  return n;
}

ZimbraArchive::Namer part_names() {
  return [](unsigned p) { return "part" + std::to_string(p) + ".tgz"; };
}

}  // namespace

TEST_CASE("zimbra archive parts: staged parts compressed in reverse order equal a streamed archive byte for byte") {
  test::TempDir streamed, staged, later;
  const std::uint64_t limit = 1024 * 1024;
  ZimbraArchive a;
  REQUIRE(a.open(streamed.path, part_names(), limit));
  REQUIRE(fill(a));
  REQUIRE(a.commit(false));
  REQUIRE(a.parts() >= 4);

  ReverseCompressor all, rest;
  ZimbraArchive b, c;
  REQUIRE(b.open(staged.path, part_names(), limit, PartStaging{&all, true}));
  REQUIRE(c.open(later.path, part_names(), limit, PartStaging{&rest, false}));
  REQUIRE(fill(b));
  REQUIRE(fill(c));
  CHECK(all.queued.size() == a.parts() - 1);  // ended parts wait; the last ends in commit
  REQUIRE(b.commit(false));
  REQUIRE(c.commit(false));
  CHECK(all.submitted == a.parts());       // every part staged
  CHECK(rest.submitted == a.parts() - 1);  // part 1 streamed
  CHECK(b.parts() == a.parts());
  CHECK(c.parts() == a.parts());
  REQUIRE(names_in(staged.path) == names_in(streamed.path));
  REQUIRE(names_in(later.path) == names_in(streamed.path));
  for (const auto& n : names_in(streamed.path)) {
    CAPTURE(n);
    const std::string want = test::read_file(streamed.path / n);
    CHECK(test::read_file(staged.path / n) == want);
    CHECK(test::read_file(later.path / n) == want);
  }
  CHECK(python_listing(staged.path / "part2.tgz") == python_listing(streamed.path / "part2.tgz"));
}

TEST_CASE("zimbra archive parts: a compression that fails while parts wait fails the commit and names no part") {
  test::TempDir dir;
  ReverseCompressor later;
  // Parts with noise compress to more than 64 KiB: writing their .tgz fails; part 1 (text) fits.
  later.file_limit = 64 * 1024;
  ZimbraArchive a;
  REQUIRE(a.open(dir.path, part_names(), 1024 * 1024, PartStaging{&later, true}));
  REQUIRE(fill(a));
  const WriteStatus st = a.commit(false);
  CHECK_FALSE(st);
  CHECK(st.error == EFBIG);
  CHECK(st.message.find(".tgz: write: File too large") != std::string::npos);
  CHECK(st.message.find("part1.tgz") == std::string::npos);
  a.abort();
  CHECK(names_in(dir.path).empty());  // no part, no temporary
}

TEST_CASE("zimbra archive parts: a failed compression stops the archive at its next entry and names no part") {
  test::TempDir dir;
  InlineCompressor now;
  now.file_limit = 64 * 1024;
  ZimbraArchive a;
  REQUIRE(a.open(dir.path, part_names(), 1024 * 1024, PartStaging{&now, true}));
  // The first part with noise fails its compression when it ends: the next entry is refused with
  // that error, the remaining entries never written.
  const WriteStatus st = fill(a);
  CHECK_FALSE(st);
  CHECK(st.error == EFBIG);
  CHECK(st.message.find(".tgz: write: File too large") != std::string::npos);
  CHECK(a.entries() < 40);
  CHECK(a.parts() >= 2);
  CHECK_FALSE(a.commit(false));
  a.abort();
  CHECK(names_in(dir.path).empty());
}
