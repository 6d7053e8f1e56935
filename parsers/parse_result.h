#pragma once
// The contract of every parser: bytes in, a value or a ParseError out.
// A ParseError names the file, the byte offset and what was expected there.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cyrconv {

struct ParseError {
  std::string file;           // path or label handed in by the caller
  std::uint64_t offset = 0;   // byte offset where the problem was found
  std::string message;        // what was expected and what was found
  std::string to_string() const;  // "FILE: offset N: MESSAGE"
};

ParseError parse_error(std::string_view file, std::uint64_t offset, std::string message);

template <class T>
class Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(ParseError error) : v_(std::in_place_index<1>, std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const ParseError& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ParseError> v_;
};

}  // namespace cyrconv
