// IMAP modified UTF-7 (RFC 3501 5.1.3). Strict decoding: non-canonical forms are refused so
// that a name maps to exactly one UTF-8 string.
#include "parsers/mutf7.h"

#include "parsers/utf8.h"

#include <cstdint>

namespace cyrconv {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

// Next code point of `s` at `i`; invalid UTF-8 yields U+FFFD and skips one byte.
std::uint32_t next_utf8(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  auto cont = [&](std::size_t k) { return i + k < s.size() && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80; };
  auto cb = [&](std::size_t k) { return static_cast<std::uint32_t>(static_cast<unsigned char>(s[i + k]) & 0x3F); };
  if (b0 < 0x80) { ++i; return b0; }
  if (b0 >= 0xC2 && b0 < 0xE0 && cont(1)) {
    std::uint32_t cp = ((b0 & 0x1Fu) << 6) | cb(1);
    i += 2;
    return cp;
  }
  if (b0 >= 0xE0 && b0 < 0xF0 && cont(1) && cont(2)) {
    std::uint32_t cp = ((b0 & 0x0Fu) << 12) | (cb(1) << 6) | cb(2);
    if (cp >= 0x800 && (cp < 0xD800 || cp > 0xDFFF)) { i += 3; return cp; }
  }
  if (b0 >= 0xF0 && b0 < 0xF5 && cont(1) && cont(2) && cont(3)) {
    std::uint32_t cp = ((b0 & 0x07u) << 18) | (cb(1) << 12) | (cb(2) << 6) | cb(3);
    if (cp >= 0x10000 && cp <= 0x10FFFF) { i += 4; return cp; }
  }
  ++i;
  return 0xFFFD;
}

}  // namespace

Result<std::string> mutf7_decode(std::string_view name, std::string_view file) {
  std::string out;
  std::size_t i = 0;
  while (i < name.size()) {
    const char c = name[i];
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7E)
      return parse_error(file, i, "byte outside printable ASCII in a modified UTF-7 name");
    if (c != '&') {
      out += c;
      ++i;
      continue;
    }
    const std::size_t start = i;
    ++i;
    if (i < name.size() && name[i] == '-') {  // "&-" is a literal '&'
      out += '&';
      ++i;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    std::uint32_t high = 0;  // pending high surrogate
    std::size_t high_at = 0;
    while (true) {
      if (i >= name.size()) return parse_error(file, start, "unterminated '&' sequence (no closing '-')");
      const char b = name[i];
      if (b == '-') break;
      const int v = b64_value(b);
      if (v < 0) return parse_error(file, i, std::string("invalid modified base64 character '") + b + "'");
      bits = ((bits << 6) | static_cast<std::uint32_t>(v)) & 0x3FFFFF;
      nbits += 6;
      if (nbits >= 16) {
        nbits -= 16;
        const std::uint32_t unit = (bits >> nbits) & 0xFFFF;
        if (high) {
          if (unit < 0xDC00 || unit > 0xDFFF) return parse_error(file, high_at, "high surrogate not followed by a low surrogate");
          append_utf8(out, 0x10000 + ((high - 0xD800) << 10) + (unit - 0xDC00));
          high = 0;
        } else if (unit >= 0xD800 && unit <= 0xDBFF) {
          high = unit;
          high_at = i;
        } else if (unit >= 0xDC00 && unit <= 0xDFFF) {
          return parse_error(file, i, "lone low surrogate");
        } else if (unit >= 0x20 && unit <= 0x7E) {
          return parse_error(file, i, "printable ASCII encoded in base64 (non-canonical modified UTF-7)");
        } else {
          append_utf8(out, unit);
        }
      }
      ++i;
    }
    if (high) return parse_error(file, high_at, "high surrogate at end of '&' sequence");
    if (nbits >= 6) return parse_error(file, i, "'&' sequence has a superfluous base64 character");
    if ((bits & ((1u << nbits) - 1)) != 0) return parse_error(file, i, "non-zero padding bits at end of '&' sequence");
    ++i;  // the '-'
  }
  return out;
}

std::string mutf7_encode(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0x20 && c <= 0x7E) {
      out += c == '&' ? std::string("&-") : std::string(1, static_cast<char>(c));
      ++i;
      continue;
    }
    // A run of characters outside printable ASCII becomes one base64 block of UTF-16BE.
    out += '&';
    std::uint32_t bits = 0;
    int nbits = 0;
    auto put_unit = [&](std::uint32_t u) {
      bits = (bits << 16) | u;
      nbits += 16;
      while (nbits >= 6) {
        nbits -= 6;
        out += kAlphabet[(bits >> nbits) & 0x3F];
      }
      bits &= (1u << nbits) - 1;
    };
    while (i < utf8.size()) {
      const auto b = static_cast<unsigned char>(utf8[i]);
      if (b >= 0x20 && b <= 0x7E) break;
      std::uint32_t cp = next_utf8(utf8, i);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        put_unit(0xD800 + (cp >> 10));
        put_unit(0xDC00 + (cp & 0x3FF));
      } else {
        put_unit(cp);
      }
    }
    if (nbits) out += kAlphabet[(bits << (6 - nbits)) & 0x3F];
    out += '-';
  }
  return out;
}

}  // namespace cyrconv
