#pragma once
// The checker's scan of one block of a chunk (parsers/message_check.cpp). One pass over the
// block finds what does not depend on lines: every LF (its offset goes to `lf`), NUL bytes, and
// CRs not followed by an LF. A CR in the block's last byte is left
// out: what follows it is in the next block or chunk. SSE2 (every x86-64) or AVX2 (chosen at run
// time) compares 64 bytes per step into LF, CR and NUL bit masks; a CR is bare unless the next
// bit of the LF mask is set. A step holds no NUL and no bare CR nearly always, so it costs a few
// instructions plus one store per LF.
#include <cstddef>
#include <cstdint>

namespace cyrconv {

struct BlockScan {
  std::uint64_t nul = 0, bare_cr = 0;
  const char* first_nul = nullptr;
  const char* first_bare_cr = nullptr;
  std::size_t lf_count = 0;
};

// `lf` must hold one slot per byte of [p, end). Runs the widest variant the CPU has.
BlockScan scan_block(const char* p, const char* end, std::uint32_t* lf);

// Bytes >= 0x80 in [p, p + n) (the checker counts them in top-level header lines).
std::uint64_t count_8bit(const char* p, std::size_t n);

// For tests: how many variants this CPU runs (SSE2, AVX2), and one of them by number.
std::size_t scan_block_variants();
BlockScan scan_block_variant(std::size_t variant, const char* p, const char* end, std::uint32_t* lf);

}  // namespace cyrconv
