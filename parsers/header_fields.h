#pragma once
// Syntax of the top-level Date, From, To, Cc and Message-ID fields, checked while the message's
// bytes stream past the checker (parsers/message_check.h), so the file is still read once. Only
// the first occurrence of each of these five fields is kept, each up to max_value bytes, and the
// values are parsed lazily in finish(): nothing else of the header is stored.
//
// Addresses are split with mimetic's RFC 822 types (AddressList -> Address -> Group / Mailbox);
// each mailbox's local part and domain are then judged here, because mimetic never reports an
// error (it fills in what it can). Dates use parse_rfc5322_date (parsers/message_date.h), the
// parser `recover` dates messages with: mimetic's DateTime cannot fail (anything it cannot read
// becomes 1 Jan 1970), so it cannot tell a bad Date from a good one. mimetic's MessageId keeps the
// text as given, so the msg-id syntax is checked here too.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

struct MessageFaultHit;  // parsers/message_check.h

enum class HeaderField : std::uint8_t { date, from, to, cc, message_id };
inline constexpr std::size_t header_field_count = 5;
const char* field_label(HeaderField);  // "Date", "From", "To", "Cc", "Message-ID"

struct HeaderFieldProblem {
  HeaderField field;
  std::uint64_t offset = 0;  // where the field's first line starts in the message
  std::string detail;        // what is wrong; the value quoted printable-ASCII only
};

// One field value, unfolded (CR LF removed, the folding white space kept): empty when it is
// well-formed, else what is wrong. Never throws.
std::string date_problem(std::string_view value);
std::string address_list_problem(std::string_view value);
std::string message_id_problem(std::string_view value);
// For the tests: address_list_problem answers the plainest lists itself (plain_address_list)
// and parses the rest with mimetic (parsed_address_list_problem); both must agree.
bool plain_address_list(std::string_view value);
std::string parsed_address_list_problem(std::string_view value);

class HeaderFieldScanner {
 public:
  static constexpr std::size_t max_value = 64 * 1024;  // a longer value is not judged

  HeaderFieldScanner();
  void reset();  // a new message; keeps the allocated buffers
  // Next bytes of the message, any chunking; nothing is looked at after the header's blank line.
  void feed(std::string_view chunk);
  bool header_done() const { return state_ == State::done; }
  // Judges the fields collected so far (the header may end without a blank line) and appends
  // one problem per bad field, in HeaderField order.
  void finish(std::vector<HeaderFieldProblem>& out);

 private:
  enum class State : std::uint8_t { line_start, name, value, skip_line, done };
  static constexpr int none = -1;
  void start_value();
  void append(std::string_view bytes);

  State state_ = State::line_start;
  std::uint64_t offset_ = 0;   // bytes fed so far
  std::uint64_t line_at_ = 0;  // start of the current line
  std::string name_;           // the current line's field name, lower-cased, while it may match
  int slot_ = none;            // field whose value is being collected
  std::array<std::string, header_field_count> value_;
  std::array<bool, header_field_count> seen_{};
  std::array<bool, header_field_count> too_long_{};
  std::array<std::uint64_t, header_field_count> at_{};
};

// The checker's hook: finishes `scanner` and appends bad_date, bad_address (From, To and Cc
// together: count = bad fields, offset = the first) and bad_message_id, in that order.
void append_header_field_faults(HeaderFieldScanner& scanner, std::vector<MessageFaultHit>& faults);

}  // namespace cyrconv
