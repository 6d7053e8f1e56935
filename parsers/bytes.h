#pragma once
// Byte views and big-endian loads. Cyrus stores every integer big-endian.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace cyrconv {

using Bytes = std::string_view;  // a read-only view of file bytes

// Callers check bounds before loading; these never read past off + width.
inline std::uint16_t load_be16(Bytes b, std::size_t off) {
  auto u = [&](std::size_t i) { return static_cast<std::uint16_t>(static_cast<unsigned char>(b[off + i])); };
  return static_cast<std::uint16_t>((u(0) << 8) | u(1));
}
inline std::uint32_t load_be32(Bytes b, std::size_t off) {
  auto u = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(b[off + i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}
inline std::uint64_t load_be64(Bytes b, std::size_t off) {
  return (static_cast<std::uint64_t>(load_be32(b, off)) << 32) | load_be32(b, off + 4);
}

// Standard CRC-32 (zlib, IEEE 802.3), as Cyrus uses for index, header and twoskip checks.
std::uint32_t crc32_of(Bytes b);

}  // namespace cyrconv
