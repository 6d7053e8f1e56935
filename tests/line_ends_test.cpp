// The checker finds each chunk's line ends once and the encoder reuses them (issue 21): the
// positions must be exactly the chunk's LFs, the checker's counts must not change with the new
// one-pass scan, and the encoder must write the same bytes with or without them.
#include <doctest/doctest.h>

#include <random>
#include <string>
#include <vector>

#include "parsers/block_scan.h"
#include "parsers/message_check.h"
#include "writers/message_encoder.h"

using namespace cyrconv;

namespace {

// Messages made of pieces that matter to the scan: CRLF and bare LF/CR, NULs, "From " lines,
// mbox-owned fields, long runs without a line end (crossing the scan's 64-byte steps).
std::string random_message(std::mt19937& rng) {
  static const std::vector<std::string> pieces = {
      "Subject: x\r\n", "From: a@b\r\n", "Status: RO\r\n", "\r\n", "\n", "\r", std::string(1, '\0'), "From here\r\n",
      ">From x\n", "body line\r\n", std::string(70, 'a'), std::string(130, 'b') + "\r\n", "\r\r\n", "caf\xc3\xa9\r\n"};
  std::string m = "Date: x\r\nMessage-ID: <a@b>\r\n";
  const int n = static_cast<int>(rng() % 60);
  for (int i = 0; i < n; ++i) m += pieces[rng() % pieces.size()];
  return m;
}

std::vector<std::uint32_t> lf_positions(std::string_view s) {
  std::vector<std::uint32_t> v;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] == '\n') v.push_back(static_cast<std::uint32_t>(i));
  return v;
}

struct Out {
  std::string bytes;
  std::uint64_t size, crlf_size, quoted, renamed;
  bool operator==(const Out&) const = default;
};

Out encode(std::string_view msg, OutputEncoding enc, const std::vector<std::size_t>& cuts, bool shared) {
  MessageChecker checker;
  MessageEncoder e(enc);
  Out o;
  std::size_t from = 0;
  for (std::size_t k = 0; k <= cuts.size(); ++k) {
    const std::string_view chunk = msg.substr(from, (k < cuts.size() ? cuts[k] : msg.size()) - from);
    checker.feed(chunk);
    if (shared) {
      const LineEnds ends = checker.line_ends();
      if (!chunk.empty()) {
        REQUIRE(ends.describe(chunk));
        CHECK(std::vector<std::uint32_t>(ends.lf.begin(), ends.lf.end()) == lf_positions(chunk));
      }
      e.encode(chunk, o.bytes, ends);
    } else {
      e.encode(chunk, o.bytes);
    }
    from = k < cuts.size() ? cuts[k] : from;
  }
  e.finish(o.bytes);
  o.size = e.output_size();
  o.crlf_size = e.crlf_size();
  o.quoted = e.quoted_lines();
  o.renamed = e.renamed_headers();
  return o;
}

}  // namespace

TEST_CASE("line ends shared by checker and encoder: same bytes for every encoding and cut") {
  std::mt19937 rng(21);
  std::vector<OutputEncoding> encodings(4);
  encodings[1].crlf_to_lf = false;                                                // Maildir --eol crlf
  encodings[2].mboxrd_quote = encodings[2].rename_mbox_headers = true;            // mbox
  encodings[2].header_trailer = "X-UID: 1\n";
  encodings[3].drop_nul = encodings[3].fix_line_ends = true;                      // a repair
  for (int round = 0; round < 1500; ++round) {
    const std::string msg = random_message(rng);
    std::vector<std::size_t> cuts;
    for (std::size_t at = 0; (at += 1 + rng() % 97) < msg.size();) cuts.push_back(at);
    for (const OutputEncoding& enc : encodings) CHECK(encode(msg, enc, cuts, true) == encode(msg, enc, cuts, false));
  }
}

TEST_CASE("the one-pass scan counts NULs, bare CRs and line ends as before, wherever the chunks are cut") {
  std::mt19937 rng(2112);
  for (int round = 0; round < 1500; ++round) {
    const std::string msg = random_message(rng);
    std::uint64_t nul = 0, bare = 0, lf = 0, crlf = 0;
    for (std::size_t i = 0; i < msg.size(); ++i) {
      nul += msg[i] == '\0';
      bare += msg[i] == '\r' && (i + 1 == msg.size() || msg[i + 1] != '\n');
      if (msg[i] == '\n') (i > 0 && msg[i - 1] == '\r' ? crlf : lf) += 1;
    }
    const MessageCheckResult whole = check_message(msg);
    CHECK(whole.nul_bytes == nul);
    CHECK(whole.bare_cr == bare);
    CHECK(whole.lf_lines == lf);
    CHECK(whole.crlf_lines == crlf);
    MessageChecker c;
    for (std::size_t at = 0; at < msg.size();) {
      const std::size_t n = 1 + rng() % 80;
      c.feed(std::string_view(msg).substr(at, n));
      at += n;
    }
    const MessageCheckResult cut = c.finish();
    CHECK(cut.sha1 == whole.sha1);
    CHECK(cut.nul_bytes == nul);
    CHECK(cut.bare_cr == bare);
    CHECK(cut.lf_lines == lf);
    CHECK(cut.crlf_lines == crlf);
    CHECK(cut.longest_line == whole.longest_line);
    REQUIRE(cut.faults.size() == whole.faults.size());
    for (std::size_t i = 0; i < cut.faults.size(); ++i) {
      CHECK(cut.faults[i].fault == whole.faults[i].fault);
      CHECK(cut.faults[i].offset == whole.faults[i].offset);
      CHECK(cut.faults[i].count == whole.faults[i].count);
    }
  }
}

TEST_CASE("line ends are offered only for the chunk they were found in") {
  MessageChecker c;
  CHECK_FALSE(c.line_ends().describe("x"));  // nothing fed yet
  const std::string a = "a\nb\n", b = "a\nb\n";
  c.feed(a);
  CHECK(c.line_ends().describe(a));
  CHECK_FALSE(c.line_ends().describe(b));  // equal bytes elsewhere are not the same chunk
  c.reset();
  CHECK_FALSE(c.line_ends().describe(a));
  // A chunk longer than one scan block (256 KiB) offers none, and is still checked whole.
  std::string big;
  while (big.size() < 600 * 1024) big += "Subject: 0123456789 0123456789 0123456789\r\n";
  c.feed(big);
  CHECK_FALSE(c.line_ends().describe(big));
  const MessageCheckResult r = c.finish();
  CHECK(r.crlf_lines == lf_positions(big).size());
  CHECK(r.lf_lines == 0);
  // The encoder, handed line ends of another chunk, searches for itself: output unchanged.
  MessageEncoder e;
  std::string out;
  MessageChecker other;
  other.feed(a);
  e.encode("x\r\ny\r\n", out, other.line_ends());
  CHECK(out == "x\ny\n");
}

TEST_CASE("every block scan variant this CPU runs (SSE2, AVX2) finds the bytes a plain loop finds") {
  std::mt19937 rng(64);
  const char alphabet[] = {'\r', '\n', '\0', 'a', '\r', '\n', '-', '\x80'};
  for (int round = 0; round < 3000; ++round) {
    std::string s(rng() % 300, 'x');
    for (char& ch : s)
      if (rng() % 3 == 0) ch = alphabet[rng() % sizeof alphabet];
    std::vector<std::uint32_t> lf;
    std::uint64_t nul = 0, bare = 0;
    const char *first_nul = nullptr, *first_bare = nullptr;
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\n') lf.push_back(static_cast<std::uint32_t>(i));
      if (s[i] == '\0' && nul++ == 0) first_nul = s.data() + i;
      // A CR in the block's last byte is left to the next block.
      if (s[i] == '\r' && i + 1 < s.size() && s[i + 1] != '\n' && bare++ == 0) first_bare = s.data() + i;
    }
    for (std::size_t v = 0; v < scan_block_variants(); ++v) {
      CAPTURE(v);
      std::vector<std::uint32_t> got(s.size() + 1);
      const BlockScan r = scan_block_variant(v, s.data(), s.data() + s.size(), got.data());
      got.resize(r.lf_count);
      CHECK(got == lf);
      CHECK(r.nul == nul);
      CHECK(r.bare_cr == bare);
      CHECK(r.first_nul == first_nul);
      CHECK(r.first_bare_cr == first_bare);
    }
  }
  CHECK(scan_block_variants() >= 1);
}
