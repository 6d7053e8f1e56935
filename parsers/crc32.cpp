#include <zlib.h>

#include "parsers/bytes.h"

namespace cyrconv {

std::uint32_t crc32_of(Bytes b) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large inputs in pieces.
  while (!b.empty()) {
    const std::size_t n = b.size() > (1u << 30) ? (1u << 30) : b.size();
    crc = crc32(crc, reinterpret_cast<const Bytef*>(b.data()), static_cast<uInt>(n));
    b.remove_prefix(n);
  }
  return static_cast<std::uint32_t>(crc);
}

}  // namespace cyrconv
