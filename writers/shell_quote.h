#pragma once
// A shell word that stands for exactly the given bytes (single quotes; a ' inside becomes '\'').
// For the scripts cyrconv writes for the administrator (apply-keywords.sh, zimbra-import.sh).
#include <string>
#include <string_view>

namespace cyrconv {

inline std::string sh_quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace cyrconv
