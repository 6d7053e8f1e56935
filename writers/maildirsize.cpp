#include "writers/maildirsize.h"

namespace cyrconv {

std::string maildirsize(std::optional<std::uint64_t> limit_bytes, std::optional<std::uint64_t> limit_messages,
                        std::uint64_t used_bytes, std::uint64_t used_messages) {
  std::string limits;
  if (limit_bytes) limits += std::to_string(*limit_bytes) + "S";
  if (limit_messages) limits += (limits.empty() ? "" : ",") + std::to_string(*limit_messages) + "C";
  return limits + "\n" + std::to_string(used_bytes) + " " + std::to_string(used_messages) + "\n";
}

}  // namespace cyrconv
