// The one SHA-1 helper and the one hex helper (parsers/sha1.h, parsers/hex.h).
#include <doctest/doctest.h>

#include <string>

#include "parsers/hex.h"
#include "parsers/sha1.h"

using namespace cyrconv;

TEST_CASE("sha1: FIPS 180 test vectors, one-shot and streamed in any cut") {
  CHECK(to_hex(sha1("")) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  CHECK(to_hex(sha1("abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  CHECK(to_hex(sha1(two_blocks)) == "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  const std::string million(1000000, 'a');
  CHECK(to_hex(sha1(million)) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

  Sha1 s;
  for (std::size_t cut : {1u, 3u, 63u, 64u, 65u, 4096u}) {
    for (std::size_t i = 0; i < million.size(); i += cut) s.update(std::string_view(million).substr(i, cut));
    CHECK(to_hex(s.finish()) == "34aa973cd4c4daa4f61eeb2bdbad27316534016f");  // finish() starts over
  }
  s.update("ab");
  CHECK(to_hex(s.peek()) == to_hex(sha1("ab")));  // peek leaves the stream going
  s.update("c");
  CHECK(to_hex(s.finish()) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  s.update("junk");
  s.reset();
  CHECK(to_hex(s.finish()) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

TEST_CASE("hex: lower case out, either case in, wrong text refused") {
  CHECK(to_hex(std::string_view("\x00\x0f\xe4\xff", 4)) == "000fe4ff");
  std::string out = "x=";
  append_hex(out, "\xab", 1);
  CHECK(out == "x=ab");
  const Sha1Digest d = sha1("abc");
  CHECK(from_hex<20>(to_hex(d)) == d);
  CHECK(from_hex<20>("A9993E364706816ABA3E25717850C26C9CD0D89D") == d);
  CHECK_FALSE(from_hex<20>("a9993e").has_value());                                     // short
  CHECK_FALSE(from_hex<20>("g9993e364706816aba3e25717850c26c9cd0d89d").has_value());   // not a digit
  CHECK_FALSE(from_hex<2>("12 4").has_value());
  CHECK(to_hex(std::string_view()).empty());
}
