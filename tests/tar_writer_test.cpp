#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/test_support.h"
#include "writers/tar_writer.h"

using namespace cyrconv;

namespace {

struct Collect {
  std::string bytes;
  TarSink sink() {
    return [this](std::string_view b) {
      bytes.append(b);
      return WriteStatus{};
    };
  }
};

std::uint64_t octal(std::string_view field) {
  std::uint64_t v = 0;
  for (char c : field) {
    if (c < '0' || c > '7') break;
    v = v * 8 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

// Python's tarfile as the independent reader: "name size mtime mode type" per member.
std::string python_listing(const std::string& archive) {
  cyrconv::test::TempDir dir;
  const auto path = dir.path / "a.tar";
  std::ofstream(path, std::ios::binary) << archive;
  const std::string cmd =
      "PYTHONIOENCODING=utf-8 python3 -c 'import sys,tarfile\n"
      "t = tarfile.open(sys.argv[1], encoding=\"utf-8\")\n"
      "for m in t:\n"
      "    print(m.name, m.size, m.mtime, oct(m.mode), m.type.decode(), t.extractfile(m).read().decode())' " +
      path.string();
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  REQUIRE(pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("tar writer: headers Zimbra's and Python's readers take, padded to whole blocks and records") {
  Collect c;
  TarWriter tar(c.sink());
  REQUIRE(tar.begin(TarEntry{"Inbox/1.eml", 5, 1330990447, 0400}));
  REQUIRE(tar.write("hel"));
  REQUIRE(tar.write("lo"));
  REQUIRE(tar.end());
  REQUIRE(tar.finish());
  CHECK(c.bytes.size() == TarWriter::record);  // 1 header + 1 data block + 2 end blocks, padded
  const std::string_view h(c.bytes.data(), 512);
  CHECK(h.substr(0, 12) == std::string_view("Inbox/1.eml\0", 12));
  CHECK(octal(h.substr(100, 8)) == 0400);  // owner-write clear: Zimbra imports it unread
  CHECK(octal(h.substr(124, 12)) == 5);
  CHECK(octal(h.substr(136, 12)) == 1330990447);
  CHECK(h[156] == '0');
  CHECK(h.substr(257, 8) == std::string_view("ustar  \0", 8));
  CHECK(h.substr(265, 64) == std::string(64, '\0'));  // no user or group names of this machine
  unsigned sum = 0;
  for (std::size_t i = 0; i < 512; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  CHECK(octal(h.substr(148, 8)) == sum);
  CHECK(c.bytes.substr(512, 5) == "hello");
  CHECK(python_listing(c.bytes) == "Inbox/1.eml 5 1330990447 0o400 0 hello\n");
}

TEST_CASE("tar writer: a name of 100 bytes or more goes first in a GNU long-name entry, UTF-8 intact") {
  std::string name = "Archiv/";
  for (int i = 0; i < 30; ++i) name += "Entwürfe/";  // multi-byte characters across the 100-byte cut
  name += "7.eml";
  REQUIRE(name.size() > 100);
  Collect c;
  TarWriter tar(c.sink());
  REQUIRE(tar.begin(TarEntry{name, 2, 86400, 0600}));
  REQUIRE(tar.write("ok"));
  REQUIRE(tar.end());
  REQUIRE(tar.finish());
  // Zimbra's TarInputStream: an 'L' entry named ././@LongLink whose data (less its last byte) is the name.
  CHECK(c.bytes.substr(0, 14) == std::string("././@LongLink\0", 14));
  CHECK(c.bytes[156] == 'L');
  CHECK(octal(std::string_view(c.bytes).substr(124, 12)) == name.size() + 1);
  CHECK(c.bytes.substr(512, name.size() + 1) == name + '\0');
  CHECK(python_listing(c.bytes) == name + " 2 86400 0o600 0 ok\n");
}

TEST_CASE("tar writer: refuses sizes it cannot keep, and data that does not match the size announced") {
  Collect c;
  TarWriter tar(c.sink());
  CHECK_FALSE(tar.begin(TarEntry{"big.eml", TarWriter::max_size + 1, 0, 0600}));
  CHECK_FALSE(tar.begin(TarEntry{"", 1, 0, 0600}));
  REQUIRE(tar.begin(TarEntry{"a.eml", 3, 0, 0600}));
  CHECK_FALSE(tar.write("four"));
  CHECK(tar.write("ab"));
  const WriteStatus short_entry = tar.end();
  CHECK_FALSE(short_entry);
  CHECK(short_entry.message.find("2 bytes written, 3 announced") != std::string::npos);
}

TEST_CASE("tar writer: a failing sink stops the writer with the sink's message") {
  TarWriter tar([](std::string_view) { return WriteStatus{false, "/out/x: disk full"}; });
  const WriteStatus st = tar.begin(TarEntry{"a.eml", 1, 0, 0600});
  CHECK_FALSE(st);
  CHECK(st.message == "/out/x: disk full");
}
