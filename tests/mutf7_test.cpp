#include <doctest/doctest.h>

#include "parsers/mutf7.h"

using namespace cyrconv;

TEST_CASE("mUTF-7: RFC 3501 examples and names from the Cyrus fixture") {
  CHECK(mutf7_decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-").value() == "~peter/mail/\xE5\x8F\xB0\xE5\x8C\x97/\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  CHECK(mutf7_decode("Tom &- Jerry").value() == "Tom & Jerry");
  CHECK(mutf7_decode("Entw&APw-rfe").value() == "Entw\xC3\xBC" "rfe");
  CHECK(mutf7_decode("&ZeVnLIqe-").value() == "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
  CHECK(mutf7_decode("&MOEw,DDr-").value() == "\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB");  // メール
  CHECK(mutf7_decode("").value().empty());
  // Outside the BMP: U+1F600 as a surrogate pair.
  CHECK(mutf7_decode("&2D3eAA-").value() == "\xF0\x9F\x98\x80");
}

TEST_CASE("mUTF-7: encode is the inverse of decode") {
  for (std::string s : {"INBOX", "Tom & Jerry", "Entw\xC3\xBCrfe", "\xF0\x9F\x98\x80 smile", "a\tb", "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E/x"}) {
    CAPTURE(s);
    auto enc = mutf7_encode(s);
    auto dec = mutf7_decode(enc);
    REQUIRE(dec.ok());
    CHECK(dec.value() == s);
  }
  CHECK(mutf7_encode("Entw\xC3\xBCrfe") == "Entw&APw-rfe");
  CHECK(mutf7_encode("&") == "&-");
}

TEST_CASE("mUTF-7: malformed and non-canonical input is refused with an offset") {
  auto check_bad = [](std::string_view s, std::uint64_t offset) {
    CAPTURE(s);
    auto r = mutf7_decode(s, "folder");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().offset == offset);
    CHECK(r.error().file == "folder");
  };
  check_bad("abc&APw", 3);          // unterminated
  check_bad("&AP!-", 3);            // bad base64 character
  check_bad("&APx-", 4);            // non-zero leftover bits
  check_bad("&AGE-", 3);            // 'a' in base64: non-canonical
  check_bad("&2D0-", 3);            // high surrogate at end (offset of its last base64 char)
  check_bad("&3gA-", 3);            // lone low surrogate
  check_bad("caf\xC3\xA9", 3);      // raw 8-bit
  check_bad("a\tb", 1);             // control character
  check_bad("&APwA-", 5);           // superfluous base64 character
}
