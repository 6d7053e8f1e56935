#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <string>

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
