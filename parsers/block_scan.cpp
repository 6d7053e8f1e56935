#include "parsers/block_scan.h"

#if defined(__x86_64__) && defined(__SSE2__)
#include <immintrin.h>
#define CYRCONV_SCAN_X86 1
#endif

namespace cyrconv {

namespace {

// What one 64-byte step found: bit k of `lf`, `cr`, `nul` says byte q[k] is one. A CR is bare
// when the byte after it (bit k + 1 of `lf`, or q[64] for the last one) is not an LF.
inline void take_step(BlockScan& r, const char* p, const char* q, std::uint64_t lf_mask, std::uint64_t cr_mask,
                      std::uint64_t nul_mask, std::uint32_t* lf) {
  const auto at = static_cast<std::uint32_t>(q - p);
  for (std::uint64_t m = lf_mask; m; m &= m - 1) lf[r.lf_count++] = at + static_cast<std::uint32_t>(__builtin_ctzll(m));
  const std::uint64_t next_lf = (lf_mask >> 1) | (static_cast<std::uint64_t>(q[64] == '\n') << 63);
  for (std::uint64_t m = (cr_mask & ~next_lf) | nul_mask; m; m &= m - 1) {
    const char* c = q + __builtin_ctzll(m);
    if (*c == '\0') {
      if (r.nul++ == 0) r.first_nul = c;
    } else if (r.bare_cr++ == 0) {
      r.first_bare_cr = c;
    }
  }
}

// The bytes the vector steps left (fewer than 65).
void scan_tail(BlockScan& r, const char* p, const char* q, const char* end, std::uint32_t* lf) {
  for (; q < end; ++q) {
    if (*q == '\n') {
      lf[r.lf_count++] = static_cast<std::uint32_t>(q - p);
    } else if (*q == '\0') {
      if (r.nul++ == 0) r.first_nul = q;
    } else if (*q == '\r' && end - q > 1 && q[1] != '\n' && r.bare_cr++ == 0) {
      r.first_bare_cr = q;
    }
  }
}

#if defined(CYRCONV_SCAN_X86)
std::uint64_t mask16(__m128i v) { return static_cast<unsigned>(_mm_movemask_epi8(v)); }

// SSE2 (every x86-64): four 16-byte loads a step.
BlockScan scan_sse2(const char* p, const char* end, std::uint32_t* lf) {
  BlockScan r;
  const __m128i cr = _mm_set1_epi8('\r'), nl = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
  const char* q = p;
  for (; end - q > 64; q += 64) {  // q[64], the byte after the step, is read too
    std::uint64_t l = 0, c = 0, z = 0;
    for (int k = 0; k < 4; ++k) {
      const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(q + 16 * k));
      l |= mask16(_mm_cmpeq_epi8(x, nl)) << (16 * k);
      c |= mask16(_mm_cmpeq_epi8(x, cr)) << (16 * k);
      z |= mask16(_mm_cmpeq_epi8(x, zero)) << (16 * k);
    }
    take_step(r, p, q, l, c, z, lf);
  }
  scan_tail(r, p, q, end, lf);
  return r;
}

__attribute__((target("avx2"))) inline std::uint64_t mask32(__m256i v) {
  return static_cast<unsigned>(_mm256_movemask_epi8(v));
}

// AVX2: two 32-byte loads a step, half the instructions of SSE2 (issue 21: the scan was 8% of audit).
__attribute__((target("avx2"))) BlockScan scan_avx2(const char* p, const char* end, std::uint32_t* lf) {
  BlockScan r;
  const __m256i cr = _mm256_set1_epi8('\r'), nl = _mm256_set1_epi8('\n'), zero = _mm256_setzero_si256();
  const char* q = p;
  for (; end - q > 64; q += 64) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
    const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + 32));
    take_step(r, p, q, mask32(_mm256_cmpeq_epi8(a, nl)) | mask32(_mm256_cmpeq_epi8(b, nl)) << 32,
              mask32(_mm256_cmpeq_epi8(a, cr)) | mask32(_mm256_cmpeq_epi8(b, cr)) << 32,
              mask32(_mm256_cmpeq_epi8(a, zero)) | mask32(_mm256_cmpeq_epi8(b, zero)) << 32, lf);
  }
  scan_tail(r, p, q, end, lf);
  return r;
}

bool has_avx2() {
  __builtin_cpu_init();  // may run before the constructors that would call it
  return __builtin_cpu_supports("avx2");
}
#endif

}  // namespace

BlockScan scan_block(const char* p, const char* end, std::uint32_t* lf) {
#if defined(CYRCONV_SCAN_X86)
  static const bool avx2 = has_avx2();
  return avx2 ? scan_avx2(p, end, lf) : scan_sse2(p, end, lf);
#else
  BlockScan r;
  scan_tail(r, p, p, end, lf);
  return r;
#endif
}

// Both ways, for the tests: every variant this CPU can run must find the same.
std::size_t scan_block_variants() {
#if defined(CYRCONV_SCAN_X86)
  return has_avx2() ? 2 : 1;
#else
  return 1;
#endif
}

BlockScan scan_block_variant(std::size_t variant, const char* p, const char* end, std::uint32_t* lf) {
#if defined(CYRCONV_SCAN_X86)
  if (variant == 1) return scan_avx2(p, end, lf);
  return scan_sse2(p, end, lf);
#else
  (void)variant;
  return scan_block(p, end, lf);
#endif
}

// Bytes >= 0x80 in [p, p + n).
std::uint64_t count_8bit(const char* p, std::size_t n) {
  std::uint64_t c = 0;
  std::size_t i = 0;
#if defined(CYRCONV_SCAN_X86)
  for (; i + 16 <= n; i += 16)  // 8-bit bytes are rare: popcount (a libgcc call without -mpopcnt) seldom runs
    if (const auto m = static_cast<unsigned>(_mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)))))
      c += static_cast<unsigned>(__builtin_popcount(m));
#endif
  for (; i < n; ++i) c += static_cast<unsigned char>(p[i]) >= 0x80;
  return c;
}

}  // namespace cyrconv
