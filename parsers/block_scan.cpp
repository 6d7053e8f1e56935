#include "parsers/block_scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace cyrconv {

BlockScan scan_block(const char* p, const char* end, std::uint32_t* lf) {
  BlockScan r;
  const auto nul = [&r](const char* q) {
    if (r.nul++ == 0) r.first_nul = q;
  };
  const auto bare = [&r](const char* q) {
    if (r.bare_cr++ == 0) r.first_bare_cr = q;
  };
  const char* q = p;
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r'), nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  const auto mask64 = [](__m128i a, __m128i b, __m128i c, __m128i d) {
    return static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(a))) |
           static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(b))) << 16 |
           static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(c))) << 32 |
           static_cast<std::uint64_t>(static_cast<unsigned>(_mm_movemask_epi8(d))) << 48;
  };
  for (; end - q > 64; q += 64) {  // q[64], the byte after the step, is read too
    __m128i x[4], lfs[4], odd[4];
    for (int k = 0; k < 4; ++k) {
      x[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * k));
      const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * k + 1));
      lfs[k] = _mm_cmpeq_epi8(x[k], nl);
      // A bare CR, or a NUL: both rare, told apart below.
      odd[k] = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(next, nl), _mm_cmpeq_epi8(x[k], cr)), _mm_cmpeq_epi8(x[k], zero));
    }
    const auto at = static_cast<std::uint32_t>(q - p);
    for (std::uint64_t m = mask64(lfs[0], lfs[1], lfs[2], lfs[3]); m; m &= m - 1)
      lf[r.lf_count++] = at + static_cast<std::uint32_t>(__builtin_ctzll(m));
    for (std::uint64_t m = mask64(odd[0], odd[1], odd[2], odd[3]); m; m &= m - 1) {
      const char* c = q + __builtin_ctzll(m);
      if (*c == '\0') nul(c); else bare(c);
    }
  }
#endif
  for (; q < end; ++q) {
    if (*q == '\n') lf[r.lf_count++] = static_cast<std::uint32_t>(q - p);
    else if (*q == '\0') nul(q);
    else if (*q == '\r' && end - q > 1 && q[1] != '\n') bare(q);
  }
  return r;
}

}  // namespace cyrconv
