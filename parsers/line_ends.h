#pragma once
// The LF positions of one chunk of a message, found once by the checker's scan and handed to the
// encoder so that the two do not each search every line end (issue 21). Header-only: writers/
// uses it without linking parsers/.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace cyrconv {

struct LineEnds {
  const char* data = nullptr;  // the chunk they were found in
  std::size_t size = 0;
  std::span<const std::uint32_t> lf;  // offsets of every '\n' in the chunk, ascending

  // Whether these are the line ends of `chunk` (same bytes in the same place); anything else,
  // and an empty LineEnds, makes the user search for itself.
  bool describe(std::string_view chunk) const { return data != nullptr && data == chunk.data() && size == chunk.size(); }
};

}  // namespace cyrconv
