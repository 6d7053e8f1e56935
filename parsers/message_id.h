#pragma once
// The first Message-ID header field of a message, found while its bytes stream past (any
// chunking), with fixed memory: only the field's value is kept, up to `max_value` bytes.
#include <cstddef>
#include <string>
#include <string_view>

namespace cyrconv {

class MessageIdScanner {
 public:
  static constexpr std::size_t max_value = 1000;  // RFC 5322's line limit; longer is not searchable

  void reset();
  void feed(std::string_view chunk);
  // The value unfolded, trimmed, one enclosing '<' '>' removed: what Zimbra indexes as msgid
  // (ParsedMessage, IndexDocument.addMessageId). Empty when the header has no such field, or
  // when it was longer than max_value.
  std::string value() const;
  bool too_long() const { return too_long_; }

 private:
  void end_field();
  enum class State { line_start, name, skip_line, value, header_done };
  State state_ = State::line_start;
  std::string name_;   // current field name, while it may still be "Message-ID"
  std::string value_;
  bool found_ = false;
  bool capturing_ = false;
  bool too_long_ = false;
};

}  // namespace cyrconv
