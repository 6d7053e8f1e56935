// MboxWriter (writers/mbox_writer.h): --gzip compresses the mbox as it is written, a rewound
// message never reaches the stream, and the bytes equal those of compressing the plain file
// afterwards (what earlier versions wrote).
#include <doctest/doctest.h>

#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <fstream>
#include <sstream>
#include <string>

#include "test_support.h"
#include "writers/gzip_file.h"
#include "writers/mbox_writer.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

std::string gunzip(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  boost::iostreams::filtering_istream unzip;
  unzip.push(boost::iostreams::gzip_decompressor());
  unzip.push(in);
  std::ostringstream out;
  boost::iostreams::copy(unzip, out);
  return out.str();
}

std::string message(int n, std::size_t body) {
  std::string m = "From sender@example.org Thu Jan  1 00:00:00 1970\nSubject: " + std::to_string(n) + "\n\n";
  while (m.size() < body) m += "line " + std::to_string(m.size()) + " of message " + std::to_string(n) + "\n";
  return m + "\n";
}

}  // namespace

TEST_CASE("mbox --gzip: compressed as written, rewound messages left out, the same bytes as compressing afterwards") {
  test::TempDir dir;
  GzipOutputFile gz;
  ScratchFile pending;
  REQUIRE(gz.open(dir.path, "INBOX.gz"));
  REQUIRE(pending.open(dir.path));
  MboxWriter w(&gz, &pending);
  std::string expected;
  int n = 0;
  // Small and large (beyond the scratch's 256 KiB in memory) messages; every third is rewound
  // (quarantined or failed after it was streamed); one settled write between them (a joined range).
  for (std::size_t size : {100u, 300000u, 5000u, 700000u, 40u, 1000u}) {
    const std::string m = message(++n, size);
    const std::uint64_t mark = w.bytes_written();
    REQUIRE(w.write_message(m.substr(0, m.size() / 2)));
    REQUIRE(w.write_message(m.substr(m.size() / 2)));
    CHECK(w.bytes_written() == mark + m.size());
    if (n % 3 == 0) {
      REQUIRE(w.rewind_to(mark));
      CHECK(w.bytes_written() == mark);
      continue;
    }
    REQUIRE(w.settle());
    expected += m;
    if (n == 2) {
      const std::string joined = message(100, 20000);
      REQUIRE(w.write(joined));
      expected += joined;
    }
  }
  CHECK(w.bytes_written() == expected.size());
  // Rewinding into settled bytes cannot be done on a stream.
  CHECK_FALSE(w.rewind_to(0));
  REQUIRE(gz.commit(dir.path / "INBOX.gz", false));
  CHECK(gunzip(dir.path / "INBOX.gz") == expected);

  // The way earlier versions made it: the plain file, compressed afterwards. Same bytes.
  {
    std::ofstream plain(dir.path / "plain", std::ios::binary);
    plain << expected;
  }
  REQUIRE(gzip_into_place(dir.path / "plain", dir.path / "after.gz", false));
  CHECK(test::read_file(dir.path / "after.gz") == test::read_file(dir.path / "INBOX.gz"));
}
