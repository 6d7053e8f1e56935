#include "parsers/header_fields.h"
#include "parsers/hex.h"

#include <mimetic/rfc822/addresslist.h>

#include <cstring>
#include <exception>

#include "parsers/message_check.h"
#include "parsers/message_date.h"

namespace cyrconv {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

constexpr std::array<std::string_view, header_field_count> names{"date", "from", "to", "cc", "message-id"};
constexpr std::size_t longest_name = 10;  // "message-id"

// Leading and trailing white space and RFC 5322 comments "( ... )" (nested, \-quoted) removed.
std::string_view strip_cfws(std::string_view v) {
  for (;;) {
    while (!v.empty() && (is_wsp(v.front()) || v.front() == '\r' || v.front() == '\n')) v.remove_prefix(1);
    while (!v.empty() && (is_wsp(v.back()) || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    if (!v.empty() && v.front() == '(') {
      int depth = 0;
      std::size_t i = 0;
      for (; i < v.size(); ++i) {
        if (v[i] == '\\') {
          ++i;
        } else if (v[i] == '(') {
          ++depth;
        } else if (v[i] == ')' && --depth == 0) {
          break;
        }
      }
      if (i >= v.size()) return v;  // unclosed: left for the caller to reject
      v.remove_prefix(i + 1);
      continue;
    }
    if (!v.empty() && v.back() == ')') {
      // A trailing comment: find its '(' (no nesting or quoting inside, the common case).
      const std::size_t open = v.rfind('(');
      if (open == std::string_view::npos || v.find(')', open) != v.size() - 1) return v;
      v.remove_suffix(v.size() - open);
      continue;
    }
    return v;
  }
}

// A byte for a report: itself when printable ASCII, else \xNN (reports are JSON: UTF-8 only).
void append_shown(std::string& out, char ch) {
  const auto c = static_cast<unsigned char>(ch);
  if (c >= 0x20 && c < 0x7f && c != '\\') {
    out += ch;
  } else {
    out += "\\x";
    append_hex_byte(out, c);
  }
}

// The value for a report: its first 80 bytes, quoted.
std::string quoted(std::string_view v) {
  std::string out = "'";
  for (char ch : v.substr(0, 80)) append_shown(out, ch);
  out += v.size() > 80 ? "'..." : "'";
  return out;
}

std::string bad_char(char ch, const char* where) {
  std::string out = "has '";
  append_shown(out, ch);
  return out + "' in its " + where;
}

// RFC 5322 atext, plus 8-bit bytes (RFC 6532 allows UTF-8; header_8bit reports them already).
bool is_atext(unsigned char c) {
  if (c >= 0x80) return true;
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) != std::string_view::npos;
}

// A local part: a quoted string, or dot-separated atoms (the obsolete empty atoms of "a..b" are
// tolerated: old mail has them).
std::string local_part_problem(std::string_view l) {
  if (l.empty()) return "has no local part before '@'";
  if (l.front() == '"') return l.size() >= 2 && l.back() == '"' ? "" : "has an unclosed quote";
  for (char ch : l)
    if (ch != '.' && !is_atext(static_cast<unsigned char>(ch)))
      return bad_char(ch, "local part");
  return {};
}

// A domain: dot-separated labels of letters, digits, '-' ('_' and 8-bit tolerated), or a
// [domain literal].
std::string domain_problem(std::string_view d) {
  if (d.empty()) return "has no domain after '@'";
  if (d.front() == '[') return d.back() == ']' ? "" : "has an unclosed domain literal";
  std::size_t label = 0;
  for (char ch : d) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '.') {
      if (label == 0) return "has an empty label in its domain";
      label = 0;
    } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || ch == '-' ||
               ch == '_' || c >= 0x80) {
      ++label;
    } else {
      return bad_char(ch, "domain");
    }
  }
  return label == 0 ? "has an empty label in its domain" : "";
}

// One mailbox as mimetic split it. `in_group`: an empty member ("undisclosed-recipients:;") is fine.
std::string mailbox_problem(const mimetic::Mailbox& m, bool in_group) {
  // The local part as written (mimetic's canonical form drops the spaces that make "Joe Bloggs
  // joe@x" wrong), the domain canonical (comments and folding white space removed).
  constexpr int as_written = 0;
  const std::string raw_local = m.mailbox(as_written), domain = m.domain();
  const std::string_view local = strip_cfws(raw_local);
  if (local.empty() && domain.empty()) return in_group ? "" : "has an address without '@'";
  if (auto p = local_part_problem(local); !p.empty()) return p;
  return domain_problem(domain);
}

}  // namespace

const char* field_label(HeaderField f) {
  switch (f) {
    case HeaderField::date: return "Date";
    case HeaderField::from: return "From";
    case HeaderField::to: return "To";
    case HeaderField::cc: return "Cc";
    case HeaderField::message_id: return "Message-ID";
  }
  return "?";
}

std::string date_problem(std::string_view value) {
  const std::string_view v = strip_cfws(value);
  if (v.empty()) return "is empty";
  if (!parse_rfc5322_date(v)) return quoted(v) + " is not an RFC 5322 date-time";
  return {};
}

namespace {

bool is_letter_digit(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// "local@domain" of the plainest kind: dot-separated ASCII atoms, a domain of non-empty labels.
bool plain_addr_spec(std::string_view a) {
  const std::size_t at = a.find('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == a.size()) return false;
  bool after_dot = true;
  for (char ch : a.substr(0, at)) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == '.') {
      if (after_dot) return false;
      after_dot = true;
    } else if (c < 0x80 && is_atext(c)) {
      after_dot = false;
    } else {
      return false;
    }
  }
  if (after_dot) return false;
  after_dot = true;
  for (char ch : a.substr(at + 1)) {
    if (ch == '.') {
      if (after_dot) return false;
      after_dot = true;
    } else if (is_letter_digit(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_') {
      after_dot = false;
    } else {
      return false;
    }
  }
  return !after_dot;
}

}  // namespace

// Most From, To and Cc values are "a@b.c" or "Name Words <a@b.c>", comma-separated: recognised
// here without mimetic (a parse allocates per address; it was 7% of audit on small messages).
// True only for lists mimetic splits the same way and finds no problem in (the tests check it
// against the parse); anything else (quotes, comments, groups, 8-bit bytes, '.' in a name,
// folding) goes to the parse.
bool plain_address_list(std::string_view v) {
  const auto trim = [](std::string_view x) {
    while (!x.empty() && is_wsp(x.front())) x.remove_prefix(1);
    while (!x.empty() && is_wsp(x.back())) x.remove_suffix(1);
    return x;
  };
  for (std::size_t from = 0; from <= v.size();) {
    std::size_t comma = v.find(',', from);
    if (comma == std::string_view::npos) comma = v.size();
    const std::string_view e = trim(v.substr(from, comma - from));
    from = comma + 1;
    if (e.empty()) return false;
    const std::size_t lt = e.find('<');
    if (lt == std::string_view::npos) {
      if (!plain_addr_spec(e)) return false;
      continue;
    }
    if (e.back() != '>') return false;
    for (char ch : e.substr(0, lt)) {
      const auto c = static_cast<unsigned char>(ch);
      if (!is_wsp(ch) && !(c < 0x80 && is_atext(c))) return false;
    }
    if (!plain_addr_spec(e.substr(lt + 1, e.size() - lt - 2))) return false;
  }
  return true;
}

std::string address_list_problem(std::string_view value) {
  const std::string_view v = strip_cfws(value);
  if (v.empty()) return "is empty";
  if (plain_address_list(v)) return {};
  return parsed_address_list_problem(v);
}

std::string parsed_address_list_problem(std::string_view value) {
  const std::string_view v = strip_cfws(value);
  if (v.empty()) return "is empty";
  try {
    // mimetic splits at commas outside quotes, a group (name: members;) staying whole; Address
    // is then a Group of Mailboxes or one Mailbox ("Name <local@domain>" or local@domain).
    const mimetic::AddressList list{std::string(v)};
    if (list.empty()) return quoted(v) + " holds no address";
    for (const mimetic::Address& a : list) {
      if (a.isGroup()) {
        for (const mimetic::Mailbox& m : a.group())
          if (auto p = mailbox_problem(m, true); !p.empty()) return quoted(v) + " " + p;
      } else if (auto p = mailbox_problem(a.mailbox(), false); !p.empty()) {
        return quoted(v) + " " + p;
      }
    }
  } catch (const std::exception&) {
    // mimetic throws (std::length_error) on a group whose member list is empty and unclosed ("a:").
    return quoted(v) + " cannot be split into addresses";
  }
  return {};
}

std::string message_id_problem(std::string_view value) {
  const std::string_view v = strip_cfws(value);
  if (v.empty()) return "is empty";
  // msg-id = "<" id-left "@" id-right ">" (RFC 5322 3.6.4), one of them.
  if (v.front() != '<' || v.back() != '>') return quoted(v) + " is not enclosed in '<' '>'";
  const std::string_view id = v.substr(1, v.size() - 2);
  bool quote = false, literal = false;
  std::size_t at = std::string_view::npos;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const auto c = static_cast<unsigned char>(id[i]);
    if (c == '"' && at == std::string_view::npos) quote = !quote;
    if (quote) continue;
    if (c == '[' && at != std::string_view::npos) literal = true;
    if (c == ']') literal = false;
    if (literal) continue;
    if (c <= 0x20 || c == 0x7f) return quoted(v) + " has white space or a control character";
    if (c == '<' || c == '>') return quoted(v) + " holds more than one msg-id";
    if (c == '@' && at == std::string_view::npos) at = i;
  }
  if (at == std::string_view::npos) return quoted(v) + " has no '@'";
  if (at == 0) return quoted(v) + " has nothing before '@'";
  if (at + 1 == id.size()) return quoted(v) + " has nothing after '@'";
  return {};
}

HeaderFieldScanner::HeaderFieldScanner() {
  name_.reserve(longest_name + 2);
  reset();
}

void HeaderFieldScanner::reset() {
  state_ = State::line_start;
  offset_ = line_at_ = 0;
  name_.clear();
  slot_ = none;
  for (auto& v : value_) v.clear();
  seen_ = {};
  too_long_ = {};
  at_ = {};
}

void HeaderFieldScanner::start_value() {
  for (std::size_t k = 0; k < names.size(); ++k) {
    if (seen_[k] || name_ != names[k]) continue;
    seen_[k] = true;
    at_[k] = line_at_;
    slot_ = static_cast<int>(k);
    return;
  }
  slot_ = none;
}

void HeaderFieldScanner::append(std::string_view bytes) {
  auto& v = value_[static_cast<std::size_t>(slot_)];
  const std::size_t room = max_value - v.size();
  if (bytes.size() > room) too_long_[static_cast<std::size_t>(slot_)] = true;
  v.append(bytes.substr(0, room));
}

// Line by line: a line that is not one of the five fields is skipped with memchr, a value is
// appended a line piece at a time. Each decision depends on one byte, so chunking changes nothing.
void HeaderFieldScanner::feed(std::string_view chunk) {
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  while (p < end && state_ != State::done) {
    switch (state_) {
      case State::line_start:
        if (*p == '\r') {  // "\r\n" is the blank line too
          ++p;
          break;
        }
        line_at_ = offset_ + static_cast<std::uint64_t>(p - chunk.data());
        if (*p == '\n') {  // the blank line: the header ends
          state_ = State::done;
        } else if (is_wsp(*p)) {  // a continuation line of the field before it
          state_ = slot_ == none ? State::skip_line : State::value;
        } else {
          slot_ = none;
          name_.clear();
          state_ = State::name;
        }
        break;
      case State::name:
        for (; p < end; ++p) {
          if (*p == '\n') {  // not a field: the checker reports the line
            state_ = State::line_start;
            ++p;
            break;
          }
          if (*p == ':') {
            while (!name_.empty() && is_wsp(name_.back())) name_.pop_back();  // obsolete "Date :"
            start_value();
            state_ = slot_ == none ? State::skip_line : State::value;
            ++p;
            break;
          }
          if (*p == '\r') continue;
          if (name_.size() > longest_name) {
            state_ = State::skip_line;
            break;
          }
          name_ += lower(*p);
        }
        break;
      case State::skip_line: {
        const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        p = lf ? lf + 1 : end;
        if (lf) state_ = State::line_start;
        break;
      }
      case State::value: {
        const auto* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        append(std::string_view(p, static_cast<std::size_t>((lf ? lf : end) - p)));
        p = lf ? lf + 1 : end;
        if (lf) {
          // Unfolding drops the line end; a CR before it may have come in the previous chunk.
          auto& v = value_[static_cast<std::size_t>(slot_)];
          if (!v.empty() && v.back() == '\r' && !too_long_[static_cast<std::size_t>(slot_)]) v.pop_back();
          state_ = State::line_start;
        }
        break;
      }
      case State::done: break;
    }
  }
  offset_ += chunk.size();
}

void HeaderFieldScanner::finish(std::vector<HeaderFieldProblem>& out) {
  for (std::size_t k = 0; k < header_field_count; ++k) {
    if (!seen_[k] || too_long_[k]) continue;
    const auto f = static_cast<HeaderField>(k);
    std::string p = f == HeaderField::date         ? date_problem(value_[k])
                    : f == HeaderField::message_id ? message_id_problem(value_[k])
                                                   : address_list_problem(value_[k]);
    if (!p.empty()) out.push_back(HeaderFieldProblem{f, at_[k], std::string(field_label(f)) + " " + p});
  }
}

void append_header_field_faults(HeaderFieldScanner& scanner, std::vector<MessageFaultHit>& faults) {
  std::vector<HeaderFieldProblem> problems;  // empty, no allocation, for a good header
  scanner.finish(problems);
  MessageFaultHit address{MessageFault::bad_address, 0, 0, {}};
  for (auto& p : problems) {
    if (p.field == HeaderField::date) {
      faults.push_back(MessageFaultHit{MessageFault::bad_date, p.offset, 1, std::move(p.detail)});
    } else if (p.field == HeaderField::message_id) {
      if (address.count) faults.push_back(std::move(address));
      address.count = 0;
      faults.push_back(MessageFaultHit{MessageFault::bad_message_id, p.offset, 1, std::move(p.detail)});
    } else {
      if (address.count++ == 0) address.offset = p.offset;
      address.detail += (address.detail.empty() ? "" : "; ") + p.detail;
    }
  }
  if (address.count) faults.push_back(std::move(address));
}

}  // namespace cyrconv
