// Reader for Cyrus's dlist text syntax (docs/cyrus-on-disk.md 8.6).
// A recursive-descent parser over a byte view; recursion is capped by max_dlist_depth so
// hostile nesting yields a ParseError instead of exhausting the stack.
#include "parsers/dlist.h"

#include <optional>
#include <string>

namespace cyrconv {

namespace {

constexpr int max_dlist_depth = 64;

class DlistReader {
 public:
  DlistReader(Bytes text, std::string_view file, std::uint64_t base)
      : text_(text), file_(file), base_(base) {}

  Result<DlistValue> parse_top() {
    DlistValue v;
    if (!parse_value(v, 0)) return std::move(*error_);
    return v;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  bool fail(std::string message) {
    error_ = parse_error(file_, base_ + pos_, std::move(message));
    return false;
  }

  static bool ends_atom(char c) {
    return c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n' || c == '\t';
  }

  // Cyrus separates items by one SP; tolerate runs of blanks as its stream reader does.
  void skip_blanks() {
    while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
  }

  // A string: quoted, literal or atom. `nil` is set when the token was a bare NIL.
  bool parse_string(std::string& out, bool& nil) {
    nil = false;
    if (at_end()) return fail("expected a value, found end of data");
    const char c = peek();
    if (c == '"') return parse_quoted(out);
    if (c == '{') return parse_literal(out);
    const std::size_t start = pos_;
    while (!at_end() && !ends_atom(peek())) ++pos_;
    if (pos_ == start) return fail(std::string("expected a value, found byte '") + c + "'");
    out.assign(text_.substr(start, pos_ - start));
    nil = (out == "NIL");
    if (nil) out.clear();
    return true;
  }

  bool parse_quoted(std::string& out) {
    ++pos_;  // opening quote
    out.clear();
    while (!at_end()) {
      char c = peek();
      ++pos_;
      if (c == '"') return true;
      if (c == '\\') {
        if (at_end()) break;
        c = peek();
        ++pos_;
      }
      out.push_back(c);
    }
    return fail("unterminated quoted string");
  }

  // {n} or {n+}, then CRLF (or a bare LF), then exactly n bytes.
  bool parse_literal(std::string& out) {
    ++pos_;  // '{'
    std::uint64_t n = 0;
    std::size_t digits = 0;
    while (!at_end() && peek() >= '0' && peek() <= '9') {
      if (n > (std::uint64_t{1} << 40)) return fail("literal length too large");
      n = n * 10 + static_cast<std::uint64_t>(peek() - '0');
      ++pos_;
      ++digits;
    }
    if (digits == 0) return fail("expected literal length digits after '{'");
    if (!at_end() && peek() == '+') ++pos_;
    if (at_end() || peek() != '}') return fail("expected '}' closing the literal length");
    ++pos_;
    if (!at_end() && peek() == '\r') ++pos_;
    if (at_end() || peek() != '\n') return fail("expected CRLF after literal length");
    ++pos_;
    if (n > text_.size() - pos_) return fail("literal of " + std::to_string(n) + " bytes runs past end of data");
    out.assign(text_.substr(pos_, static_cast<std::size_t>(n)));
    pos_ += static_cast<std::size_t>(n);
    return true;
  }

  // Items of a list or kvlist up to the closing ')'. Keys are read only for kvlists.
  bool parse_items(DlistValue& v, bool with_keys, int depth) {
    for (;;) {
      skip_blanks();
      if (at_end()) return fail("expected ')' closing the list, found end of data");
      if (peek() == ')') {
        ++pos_;
        return true;
      }
      if (with_keys) {
        std::string key;
        bool nil = false;
        if (peek() == '(' || peek() == '%') return fail("expected a kvlist key, found a list");
        if (!parse_string(key, nil)) return false;
        if (nil) key = "NIL";  // a key is never null; keep the text
        v.keys.push_back(std::move(key));
        if (at_end() || (peek() != ' ' && peek() != '\t'))
          return fail("expected SP between kvlist key and value");
        skip_blanks();
      }
      v.items.emplace_back();
      if (!parse_value(v.items.back(), depth + 1)) return false;
      if (!at_end() && peek() != ')' && peek() != ' ' && peek() != '\t')
        return fail("expected SP or ')' after a list item");
    }
  }

  bool parse_value(DlistValue& v, int depth) {
    if (depth >= max_dlist_depth) return fail("dlist nested deeper than " + std::to_string(max_dlist_depth));
    if (at_end()) return fail("expected a dlist value, found end of data");
    const char c = peek();
    if (c == '(') {
      ++pos_;
      v.kind = DlistValue::Kind::list;
      return parse_items(v, false, depth);
    }
    if (c == '%') {
      ++pos_;
      if (at_end() || peek() != '(') {
        // %{...} file references exist only in the sync protocol, never on disk.
        return fail("expected '(' after '%' (kvlist)");
      }
      ++pos_;
      v.kind = DlistValue::Kind::kvlist;
      return parse_items(v, true, depth);
    }
    bool nil = false;
    if (!parse_string(v.text, nil)) return false;
    v.kind = nil ? DlistValue::Kind::nil : DlistValue::Kind::string;
    return true;
  }

  Bytes text_;
  std::string_view file_;
  std::uint64_t base_;
  std::size_t pos_ = 0;
  std::optional<ParseError> error_;
};

}  // namespace

const DlistValue* DlistValue::find(std::string_view key) const {
  if (kind != Kind::kvlist) return nullptr;
  const std::size_t n = keys.size() < items.size() ? keys.size() : items.size();
  for (std::size_t i = 0; i < n; ++i)
    if (keys[i] == key) return &items[i];
  return nullptr;
}

std::string_view DlistValue::string_at(std::string_view key) const {
  const DlistValue* v = find(key);
  if (!v || v->kind != Kind::string) return {};
  return v->text;
}

Result<DlistValue> parse_dlist(Bytes text, std::string_view file, std::uint64_t base_offset) {
  return DlistReader(text, file, base_offset).parse_top();
}

}  // namespace cyrconv
