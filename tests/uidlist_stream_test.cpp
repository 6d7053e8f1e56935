// An earlier uidlist read line by line (converter/convert/uidlist_stream.h) gives what the whole
// text gives: parse_dovecot_uidlist's header, errors and largest UID, uidlist_with_uidnext's copy.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "converter/convert/prior_output.h"
#include "converter/convert/uidlist_stream.h"
#include "converter/verify/output_reader.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

void write_text(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Long enough that lines cross the reader's 64 KiB chunks.
std::string long_uidlist(bool ascending) {
  std::string t = "3 V7 N90001 G0123\n";
  for (std::uint32_t i = 1; i <= 9000; ++i) {
    const std::uint32_t uid = ascending ? i : (i * 7919u) % 9001u;
    t += std::to_string(uid) + " W" + std::to_string(i) + " :1700000000.V7U" + std::to_string(uid) + ".cyrconv,S=1\n";
  }
  return t;
}

}  // namespace

TEST_CASE("scan_uidlist: header, errors and largest UID as parse_dovecot_uidlist gives them") {
  test::TempDir tmp;
  const fs::path p = tmp.path / "dovecot-uidlist";
  const std::string texts[] = {
      "3 V42 N5\n1 :a\n4 W9 :b\n",
      "3 V42 N5\n1 :a\n4 W9 :b",          // no final newline
      "3 V42 N5\n1 :a\n\n4 :b\n",         // an empty line
      "3 V42 N5\n1 :a\n1 :b\n",           // a UID twice
      "3 V42 N5\n4 :a\n1 :b\n4 :c\n",     // out of order and twice
      "3 V42 N5\nnonsense\n2 :x\n",       // a line that is no entry
      "2 V42 N5\n1 :a\n",                 // another version
      "3 V42 Nx\n",                       // a bad N field
      "",                                 // empty
      "\n1 :a\n",                         // no header
      long_uidlist(true),
      long_uidlist(false),
  };
  for (const auto& text : texts) {
    CAPTURE(text.substr(0, 60));
    write_text(p, text);
    const ParsedUidlist whole = parse_dovecot_uidlist(text);
    const UidlistScan s = scan_uidlist(p, [](std::string_view base) { return base != "x"; });
    CHECK(s.read.exists);
    CHECK(s.read.error.empty());
    CHECK(s.read.bytes == text.size());
    CHECK(s.version == whole.version);
    CHECK(s.uidvalidity == whole.uidvalidity);
    CHECK(s.uidnext == whole.uidnext);
    CHECK(s.clean == whole.errors.empty());
    CHECK(s.max_uid.has_value() == !whole.base_of_uid.empty());
    if (s.max_uid) CHECK(*s.max_uid == whole.base_of_uid.rbegin()->first);
    bool ours = true;
    for (const auto& [uid, base] : whole.base_of_uid) ours = ours && base != "x";
    if (whole.errors.empty()) CHECK(s.all_bases_ours == ours);
  }
  CHECK_FALSE(scan_uidlist(tmp.path / "none").read.exists);
}

TEST_CASE("copy_uidlist_with_uidnext writes what uidlist_with_uidnext returns") {
  test::TempDir tmp;
  const fs::path p = tmp.path / "dovecot-uidlist";
  const std::string texts[] = {
      "3 V42 N5 G0123abcd\n1 :a\n4 W9 :b\n", "3 V42\n", "3 V42 N5\n1 :a\n\nx y\n4 :b", "3 V42 N5", long_uidlist(true),
  };
  const std::set<std::uint32_t> rewritten{4, 77};
  int n = 0;
  for (const auto& text : texts) {
    CAPTURE(text.substr(0, 60));
    write_text(p, text);
    std::string error;
    const auto want = uidlist_with_uidnext(text, 90, error, rewritten);
    REQUIRE(want);
    OutputFile out;
    REQUIRE(out.open(tmp.path, "copy"));
    REQUIRE(copy_uidlist_with_uidnext(p, 90, rewritten, out));
    const fs::path copy = tmp.path / ("copy" + std::to_string(n++));
    REQUIRE(out.commit(copy, -1, false, OutputFile::OnExisting::refuse));
    CHECK(read_text(copy) == *want);
  }
  // Not version 3: refused with the file named, as uidlist_with_uidnext refuses the text.
  write_text(p, "2 V42 N5\n1 :a\n");
  OutputFile out;
  REQUIRE(out.open(tmp.path, "copy"));
  const WriteStatus st = copy_uidlist_with_uidnext(p, 90, {}, out);
  CHECK_FALSE(st);
  CHECK(st.message == p.string() + ": not a version 3 dovecot-uidlist");
}
