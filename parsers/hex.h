#pragma once
// Hex of bytes and back: the one place digests, byte dumps and %XX / \xNN escapes spell hex.
// Header-only so that parsers/ and writers/ share it without a link dependency.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cyrconv {

inline constexpr char hex_digits[] = "0123456789abcdef";
inline constexpr char hex_digits_upper[] = "0123456789ABCDEF";

// Appends the two hex digits of one byte (the NN of a %NN or \xNN escape).
inline void append_hex_byte(std::string& out, unsigned char c, bool upper = false) {
  const char* digits = upper ? hex_digits_upper : hex_digits;
  out += digits[c >> 4];
  out += digits[c & 15];
}

// Bytes for an error message: printable ASCII as it is, any other byte as \xNN; cut after
// `limit` bytes, with "..." (keys and values of Cyrus databases hold NULs and binary numbers).
inline std::string printable_bytes(std::string_view s, std::size_t limit = 120) {
  std::string out;
  for (char c : s.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7F) {
      out += c;
    } else {
      out += "\\x";
      append_hex_byte(out, u, true);
    }
  }
  if (s.size() > limit) out += "...";
  return out;
}

// Appends the lower-case hex of n bytes at p to `out`.
inline void append_hex(std::string& out, const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  const std::size_t at = out.size();
  out.resize(at + 2 * n);
  char* o = out.data() + at;
  for (std::size_t i = 0; i < n; ++i) {
    o[2 * i] = hex_digits[b[i] >> 4];
    o[2 * i + 1] = hex_digits[b[i] & 15];
  }
}

inline std::string to_hex(std::string_view bytes) {
  std::string s;
  append_hex(s, bytes.data(), bytes.size());
  return s;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  std::string s;
  append_hex(s, bytes.data(), N);
  return s;
}

// The N bytes spelled by exactly 2N hex digits (either case); nullopt for any other text.
template <std::size_t N>
std::optional<std::array<std::uint8_t, N>> from_hex(std::string_view hex) {
  if (hex.size() != 2 * N) return std::nullopt;
  const auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::array<std::uint8_t, N> out{};
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace cyrconv
