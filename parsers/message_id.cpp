#include "parsers/message_id.h"

namespace cyrconv {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::string_view field = "message-id";

}  // namespace

void MessageIdScanner::reset() { *this = MessageIdScanner(); }

void MessageIdScanner::end_field() {
  capturing_ = false;
  found_ = true;
}

void MessageIdScanner::feed(std::string_view chunk) {
  for (char c : chunk) {
    if (state_ == State::header_done) return;
    if (c == '\r') continue;  // line ends are LF or CRLF
    switch (state_) {
      case State::line_start:
        if (c == '\n') {  // the blank line: end of the header
          if (capturing_) end_field();
          state_ = State::header_done;
          break;
        }
        if (is_wsp(c)) {  // a continuation line
          if (capturing_) {
            state_ = State::value;
            if (value_.size() < max_value) value_ += ' ';
          } else {
            state_ = State::skip_line;
          }
          break;
        }
        if (capturing_) end_field();
        name_.clear();
        state_ = State::name;
        [[fallthrough]];
      case State::name:
        if (c == '\n') {
          state_ = State::line_start;
        } else if (c == ':') {
          std::size_t n = name_.size();
          while (n > 0 && is_wsp(name_[n - 1])) --n;  // "Message-ID :" (obsolete syntax)
          if (!found_ && name_.substr(0, n) == field) {
            capturing_ = true;
            state_ = State::value;
          } else {
            state_ = State::skip_line;
          }
        } else if (name_.size() < field.size() + 4) {
          name_ += lower(c);
        } else {
          state_ = State::skip_line;
        }
        break;
      case State::skip_line:
        if (c == '\n') state_ = State::line_start;
        break;
      case State::value:
        if (c == '\n') {
          state_ = State::line_start;
        } else if (value_.size() < max_value) {
          value_ += c;
        } else {
          too_long_ = true;
        }
        break;
      case State::header_done:
        return;
    }
  }
}

std::string MessageIdScanner::value() const {
  if (too_long_) return {};
  std::size_t b = 0, e = value_.size();
  while (b < e && is_wsp(value_[b])) ++b;
  while (e > b && is_wsp(value_[e - 1])) --e;
  std::string_view v(value_.data() + b, e - b);
  if (!v.empty() && v.front() == '<') v.remove_prefix(1);
  if (!v.empty() && v.back() == '>') v.remove_suffix(1);
  return std::string(v);
}

}  // namespace cyrconv
