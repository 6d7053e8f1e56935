#include "writers/utf8_repair.h"

namespace cyrconv {

std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n, bool& incomplete) {
  incomplete = false;
  const unsigned b0 = p[0];
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  unsigned lo = 0x80, hi = 0xBF;  // the second byte's range
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < len; ++i) {
    if (i >= n) {
      incomplete = true;
      return 0;
    }
    const unsigned b = p[i];
    const unsigned l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
    if (b < l || b > h) return 0;
  }
  return len;
}

Utf8RepairBuf::int_type Utf8RepairBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  out_.clear();
  while (out_.empty()) {
    const std::size_t carried = raw_.size();
    raw_.resize(carried + (64 << 10));
    in_.read(raw_.data() + carried, static_cast<std::streamsize>(raw_.size() - carried));
    raw_.resize(carried + static_cast<std::size_t>(in_.gcount()));
    const bool at_end = in_.gcount() == 0;
    if (raw_.empty()) return traits_type::eof();
    const auto* p = reinterpret_cast<const unsigned char*>(raw_.data());
    const std::size_t n = raw_.size();
    std::size_t i = 0;
    while (i < n) {
      if (p[i] < 0x80) {  // ASCII: most of a report
        std::size_t j = i;
        while (j < n && p[j] < 0x80) ++j;
        out_.append(raw_.data() + i, j - i);
        i = j;
        continue;
      }
      bool incomplete = false;
      const std::size_t len = utf8_sequence_length(p + i, n - i, incomplete);
      if (incomplete && !at_end) break;  // wait for the rest of it
      if (len == 0) {
        out_ += "\xEF\xBF\xBD";
        ++replaced_;
        ++i;
      } else {
        out_.append(raw_.data() + i, len);
        i += len;
      }
    }
    raw_.erase(raw_.begin(), raw_.begin() + static_cast<std::ptrdiff_t>(i));
  }
  setg(out_.data(), out_.data(), out_.data() + out_.size());
  return traits_type::to_int_type(*gptr());
}

}  // namespace cyrconv
