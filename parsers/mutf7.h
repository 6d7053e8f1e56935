#pragma once
// IMAP modified UTF-7 (RFC 3501 5.1.3) folder names <-> UTF-8.
#include <string>
#include <string_view>

#include "parsers/parse_result.h"

namespace cyrconv {

// Fails on an unterminated or malformed &...- sequence, bad base64, odd bits, a lone
// surrogate, or a raw byte outside 0x20-0x7E; the error offset is inside `name`.
Result<std::string> mutf7_decode(std::string_view name, std::string_view file = "folder name");
std::string mutf7_encode(std::string_view utf8);

}  // namespace cyrconv
