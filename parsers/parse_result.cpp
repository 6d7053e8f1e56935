#include "parsers/parse_result.h"

namespace cyrconv {

std::string ParseError::to_string() const {
  return file + ": offset " + std::to_string(offset) + ": " + message;
}

ParseError parse_error(std::string_view file, std::uint64_t offset, std::string message) {
  return ParseError{std::string(file), offset, std::move(message)};
}

}  // namespace cyrconv
