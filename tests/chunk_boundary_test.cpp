// The checker and the encoder take a message in chunks of any size and must give the same
// answer wherever the chunks are cut. Their fast paths look at whole lines inside one chunk and
// fall back to byte-by-byte states at a cut, so every cut point of inputs that put a CRLF, a
// "From " line, a renamed header field, a boundary or a long line across a cut is compared
// with the one-shot result (and the one-shot result with what it must be).
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "parsers/hex.h"
#include "parsers/message_check.h"
#include "tests/test_support.h"
#include "writers/message_encoder.h"

using namespace cyrconv;

namespace {

struct Encoded {
  std::string out;
  std::uint64_t size = 0, crlf_size = 0, quoted = 0, renamed = 0;
  char last = 0;
  bool added_line_end = false;
  bool operator==(const Encoded&) const = default;
};

// Encodes `in` cut at the given offsets (ascending), with an empty chunk fed at each cut too.
Encoded encode_cut(std::string_view in, const OutputEncoding& enc, std::initializer_list<std::size_t> cuts) {
  MessageEncoder e(enc);
  Encoded r;
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    e.encode(in.substr(from, cut - from), r.out);
    e.encode({}, r.out);
    from = cut;
  }
  e.encode(in.substr(from), r.out);
  e.finish(r.out);
  r.size = e.output_size();
  r.crlf_size = e.crlf_size();
  r.quoted = e.quoted_lines();
  r.renamed = e.renamed_headers();
  r.last = e.last_output();
  r.added_line_end = e.added_line_end();
  return r;
}

// Every cut into two, and into three with the second cut 1-4 bytes after the first.
void check_every_cut(std::string_view in, const OutputEncoding& enc, const Encoded& whole) {
  for (std::size_t i = 0; i <= in.size(); ++i) {
    CAPTURE(i);
    CHECK(encode_cut(in, enc, {i}) == whole);
    for (std::size_t d = 1; d <= 4 && i + d <= in.size(); ++d) CHECK(encode_cut(in, enc, {i, i + d}) == whole);
  }
}

OutputEncoding mbox_encoding() {
  OutputEncoding e;
  e.mboxrd_quote = true;
  e.rename_mbox_headers = true;
  e.header_trailer = "X-UID: 1\n";
  return e;
}

// Everything a check reports, as one comparable string.
std::string describe(const MessageCheckResult& r) {
  std::string s = std::to_string(r.size) + " " + to_hex(r.sha1) + " h" + std::to_string(r.header_size) + " crlf" +
                  std::to_string(r.crlf_lines) + " lf" + std::to_string(r.lf_lines) + " cr" + std::to_string(r.bare_cr) +
                  " nul" + std::to_string(r.nul_bytes) + " long" + std::to_string(r.long_lines);
  for (const auto& f : r.faults)
    s += std::string("\n") + to_string(f.fault) + "@" + std::to_string(f.offset) + "x" + std::to_string(f.count) + ": " + f.detail;
  return s;
}

std::string check_cut(MessageChecker& c, std::string_view in, std::initializer_list<std::size_t> cuts) {
  c.reset();
  std::size_t from = 0;
  for (std::size_t cut : cuts) {
    c.feed(in.substr(from, cut - from));
    from = cut;
  }
  c.feed(in.substr(from));
  return describe(c.finish());
}

}  // namespace

TEST_CASE("chunk boundaries: mbox encoding (CRLF, ^>*From  quoting, renamed fields, trailer) at every cut") {
  const std::string in =
      "Status: RO\r\nX-UID: 5\r\n>From: odd\r\nFrom x@y\r\nSubject: From here\r\n folded Status: no\r\nX-Keywords:\r\n\r\n"
      "From me\r\n>From you\r\nbody\rbare\r\n>>From x\r\nFro\r\nFrom";
  const OutputEncoding enc = mbox_encoding();
  const Encoded whole = encode_cut(in, enc, {});
  CHECK(whole.out ==
        "X-Cyrconv-Orig-Status: RO\nX-Cyrconv-Orig-X-UID: 5\n>From: odd\n>From x@y\nSubject: From here\n folded Status: no\n"
        "X-Cyrconv-Orig-X-Keywords:\nX-UID: 1\n\n>From me\n>>From you\nbody\rbare\n>>>From x\nFro\nFrom");
  CHECK(whole.quoted == 4);
  CHECK(whole.renamed == 3);
  CHECK(whole.size == whole.out.size());
  check_every_cut(in, enc, whole);
  // The same bytes through the reference byte-by-byte path.
  MessageEncoder bytewise(enc);
  std::string out;
  for (char ch : in) bytewise.encode(std::string_view(&ch, 1), out);
  bytewise.finish(out);
  CHECK(out == whole.out);
}

TEST_CASE("chunk boundaries: CRLF to LF and CRLF kept, with bare CRs and LFs, at every cut") {
  const std::string in = "A: b\r\n\r\nx\r\r\ny\r\nbare\nlf\r\rcr\r\n\r";
  OutputEncoding lf;
  const Encoded to_lf = encode_cut(in, lf, {});
  CHECK(to_lf.out == "A: b\n\nx\r\ny\nbare\nlf\r\rcr\n\r");
  // Every LF counts as CRLF unless a CR is already before it in the output.
  CHECK(to_lf.crlf_size == to_lf.out.size() + 5);
  check_every_cut(in, lf, to_lf);

  OutputEncoding keep;
  keep.crlf_to_lf = false;
  const Encoded kept = encode_cut(in, keep, {});
  CHECK(kept.out == in);
  CHECK(kept.crlf_size == in.size() + 1);
  check_every_cut(in, keep, kept);

  // A trailer on a message that is all header, its last line without a line end.
  OutputEncoding trailer;
  trailer.header_trailer = "X-UID: 3\n";
  const std::string all_header = "A: b\r\nStatus: c\r";
  const Encoded t = encode_cut(all_header, trailer, {});
  CHECK(t.out == "A: b\nStatus: c\r\nX-UID: 3\n");
  CHECK(t.added_line_end);
  check_every_cut(all_header, trailer, t);
}

TEST_CASE("chunk boundaries: a header field name longer than the rename look-ahead") {
  const std::string in = "X-A-Very-Long-Field-Name: 1\r\nContent-Length: 9\r\nX-Sixteen-chars:: 2\r\n\r\nb\r\n";
  const OutputEncoding enc = mbox_encoding();
  const Encoded whole = encode_cut(in, enc, {});
  CHECK(whole.out == "X-A-Very-Long-Field-Name: 1\nX-Cyrconv-Orig-Content-Length: 9\nX-Sixteen-chars:: 2\nX-UID: 1\n\nb\n");
  CHECK(whole.renamed == 1);
  check_every_cut(in, enc, whole);
}

TEST_CASE("chunk boundaries: the message check gives the same result at every cut") {
  std::string in =
      "From: a@b\r\nDate: x\r\nMessage-ID: <m>\r\nSubject: caf\xc3\xa9\r\nContent-Type: multipart/mixed;\r\n"
      " boundary=\"BB\"\r\n\r\npre\r\n--BB\r\nContent-Transfer-Encoding: base64\r\n\r\nPGh0bWw+Cg==\r\n--BB\r\n"
      "Content-Type: text/plain\r\n\r\nbare\rcr and nul";
  in += std::string(1, '\0') + " x\r\r\n" + std::string(1100, 'y') + "\r\nlf only\n--BB--\r\nend\r";
  MessageChecker c;
  const std::string whole = check_cut(c, in, {});
  const MessageCheckResult r = check_message(in);
  CHECK(describe(r) == whole);
  CHECK(r.size == in.size());
  CHECK(r.bare_cr == 3);  // "bare\r", the first CR of "\r\r\n", the final CR
  CHECK(r.nul_bytes == 1);
  CHECK(r.lf_lines == 1);
  CHECK(r.long_lines == 1);
  CHECK(r.has(MessageFault::mixed_line_endings));
  CHECK(r.has(MessageFault::header_8bit));
  CHECK_FALSE(r.has(MessageFault::mime_boundary_not_found));
  CHECK_FALSE(r.has(MessageFault::mime_unclosed_multipart));
  CHECK_FALSE(r.has(MessageFault::mime_bad_base64));
  CHECK(r.header_size == in.find("\r\n\r\n") + 4);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    CAPTURE(i);
    CHECK(check_cut(c, in, {i}) == whole);
    for (std::size_t d : {1u, 2u, 3u, 1030u})
      if (i + d <= in.size()) CHECK(check_cut(c, in, {i, i + d}) == whole);
  }
}

TEST_CASE("chunk boundaries: every real fixture message checks the same whatever the chunking") {
  MessageChecker c;
  std::size_t messages = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cyrconv::test::fixtures_dir() / "cyrus36-default" / "spool")) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.empty() || name.back() != '.' || name[0] < '1' || name[0] > '9') continue;
    const std::string bytes = cyrconv::test::read_file(e.path());
    ++messages;
    const std::string whole = describe(check_message(bytes));
    for (std::size_t piece : {1u, 2u, 3u, 64u, 1000u}) {
      c.reset();
      for (std::size_t i = 0; i < bytes.size(); i += piece) c.feed(std::string_view(bytes).substr(i, piece));
      CHECK(describe(c.finish()) == whole);
    }
  }
  CHECK(messages > 100);
}
