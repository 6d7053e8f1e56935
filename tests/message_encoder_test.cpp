#include <doctest/doctest.h>

#include <filesystem>
#include <vector>

#include "tests/test_support.h"
#include "writers/message_encoder.h"

using namespace cyrconv;

namespace {

// Encodes `in` cut into pieces of `piece` bytes, so state across chunk boundaries is exercised.
std::string encode(std::string_view in, OutputEncoding enc, std::size_t piece, MessageEncoder* keep = nullptr) {
  MessageEncoder e(enc);
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += piece) e.encode(in.substr(i, piece), out);
  e.finish(out);
  if (keep) *keep = e;
  return out;
}

OutputEncoding make(bool crlf_to_lf, bool quote) {
  OutputEncoding e;
  e.crlf_to_lf = crlf_to_lf;
  e.mboxrd_quote = quote;
  return e;
}

OutputEncoding repairing(bool crlf_to_lf, std::int64_t blank_line_before) {
  OutputEncoding e = make(crlf_to_lf, false);
  e.drop_nul = e.fix_line_ends = true;
  e.blank_line_before = blank_line_before;
  return e;
}

}  // namespace

TEST_CASE("message encoder: CRLF to LF, bare CR and LF kept, sizes counted as CRLF") {
  const std::string in = "Subject: x\r\n\r\nline\r\nbare lf\nbare cr\rend\r";
  for (std::size_t piece : {1u, 2u, 3u, 7u, 1000u}) {
    MessageEncoder e;
    CHECK(encode(in, make(true, false), piece, &e) == "Subject: x\n\nline\nbare lf\nbare cr\rend\r");
    CHECK(e.output_size() == in.size() - 3);
    // Every LF counts as CRLF: the three CRLFs and the bare LF.
    CHECK(e.crlf_size() == in.size() + 1);
  }
  MessageEncoder keep;
  CHECK(encode(in, make(false, false), 5, &keep) == in);
  CHECK(keep.crlf_size() == in.size() + 1);
}

TEST_CASE("message encoder: mboxrd quoting of ^>*From  lines, across chunk boundaries") {
  const std::string in = "From: a\r\n\r\nFrom here\r\n>From there\r\n>>From x\r\nFro\r\n>Fr\r\n From no\r\nFrom";
  const std::string want = "From: a\n\n>From here\n>>From there\n>>>From x\nFro\n>Fr\n From no\nFrom";
  for (std::size_t piece : {1u, 2u, 4u, 9u, 1000u}) {
    MessageEncoder e;
    CHECK(encode(in, make(true, true), piece, &e) == want);
    CHECK(e.quoted_lines() == 3);
  }
}

TEST_CASE("message encoder repairs: NULs dropped, lone CR and LF made line ends, missing blank line inserted") {
  const std::string in = std::string("A: 1\r\nbody\0x\rcr\nlf\r\n", 20);
  OutputEncoding lf = repairing(true, 6);
  CHECK(encode(in, lf, 1) == "A: 1\n\nbodyx\ncr\nlf\n");
  CHECK(encode(in, lf, 100) == "A: 1\n\nbodyx\ncr\nlf\n");
  OutputEncoding crlf = repairing(false, 6);
  CHECK(encode(in, crlf, 1) == "A: 1\r\n\r\nbodyx\r\ncr\r\nlf\r\n");
  CHECK(encode(in, crlf, 3) == "A: 1\r\n\r\nbodyx\r\ncr\r\nlf\r\n");
  CHECK(encode("x\r", crlf, 1) == "x\r\n");
  // Without repairs nothing but the CRLF conversion happens.
  CHECK(encode(in, OutputEncoding{}, 4) == std::string("A: 1\nbody\0x\rcr\nlf\n", 18));
}

TEST_CASE("message encoder: mbox-owned header fields are renamed in the header only") {
  OutputEncoding enc;
  enc.mboxrd_quote = true;
  enc.rename_mbox_headers = true;
  const std::string in =
      "Status: RO\r\nSubject: x\r\nx-uid: 7\r\n  continued Status: no\r\nContent-Length: 5\r\nX-Statusfoo: 1\r\n"
      "\r\nStatus: body stays\r\nFrom me\r\n";
  enc.header_trailer = "X-UID: 1\n";
  const std::string want =
      "X-Cyrconv-Orig-Status: RO\nSubject: x\nX-Cyrconv-Orig-x-uid: 7\n  continued Status: no\n"
      "X-Cyrconv-Orig-Content-Length: 5\nX-Statusfoo: 1\nX-UID: 1\n\nStatus: body stays\n>From me\n";
  for (std::size_t piece : {1u, 2u, 5u, 1000u}) {
    MessageEncoder e;
    CHECK(encode(in, enc, piece, &e) == want);
    CHECK(e.renamed_headers() == 3);
  }
}

TEST_CASE("message encoder: the header trailer goes before the blank line, or after an all-header message") {
  OutputEncoding enc = make(true, true);
  enc.header_trailer = "X-UID: 1\n";
  CHECK(encode(" folded first\r\nA: b\r\n\r\nbody\r\n", enc, 3) == " folded first\nA: b\nX-UID: 1\n\nbody\n");
  CHECK(encode("A: b\r\nC: d", enc, 2) == "A: b\nC: d\nX-UID: 1\n");
  CHECK(encode("", enc, 1) == "X-UID: 1\n");
  OutputEncoding repair = repairing(true, 5);
  repair.header_trailer = "X-UID: 2\n";
  CHECK(encode("A: b\nbody\n", repair, 1) == "A: b\nX-UID: 2\n\nbody\n");
}

TEST_CASE("message encoder: every real fixture message encodes the same whatever the chunking") {
  std::vector<OutputEncoding> modes{make(true, false), make(false, false), repairing(true, -1), repairing(false, -1)};
  OutputEncoding mbox = make(true, true);
  mbox.rename_mbox_headers = true;
  mbox.header_trailer = "X-UID: 9\nStatus: RO\n";
  modes.push_back(mbox);
  std::size_t messages = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cyrconv::test::fixtures_dir() / "cyrus36-default" / "spool")) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.empty() || name.back() != '.' || name[0] < '1' || name[0] > '9') continue;
    const std::string bytes = cyrconv::test::read_file(e.path());
    ++messages;
    for (const auto& mode : modes) {
      MessageEncoder whole_enc;
      const std::string whole = encode(bytes, mode, bytes.size() + 1, &whole_enc);
      for (std::size_t piece : {1u, 3u, 64u}) {
        MessageEncoder e2;
        CHECK(encode(bytes, mode, piece, &e2) == whole);
        CHECK(e2.crlf_size() == whole_enc.crlf_size());
      }
    }
  }
  CHECK(messages > 100);
}

TEST_CASE("message encoder: a line end added before the header trailer is reported") {
  OutputEncoding enc = make(true, true);
  enc.header_trailer = "X-UID: 1\n";
  MessageEncoder e;
  CHECK(encode("Subject: x\r\nFrom: y", enc, 4, &e) == "Subject: x\nFrom: y\nX-UID: 1\n");
  CHECK(e.added_line_end());
  MessageEncoder f;
  encode("Subject: x\r\n", enc, 4, &f);
  CHECK_FALSE(f.added_line_end());
}
