#pragma once
// Streaming integrity and structure check of one message file. The caller reads the file once
// and feeds it chunk by chunk; the checker computes the SHA-1 and size and finds line-ending,
// NUL, header and MIME faults with fixed memory whatever the message size (headers and MIME
// part headers keep bounded state; long lines are measured, not stored). Convert will feed
// the same checker from the same read that produces the output bytes.
//
// MIME structure is tracked here, not with mimetic: mimetic's MimeEntity loads a whole
// message (bodies as strings) before anything can be checked, which breaks the fixed-memory
// rule and would need a second pass over the bytes.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/line_ends.h"

namespace cyrconv {

// Faults the checker can find in a message's bytes. Names are the report's "kind" strings.
enum class MessageFault {
  zero_length,
  nul_bytes,
  bare_cr,
  bare_lf,             // every line ends in LF alone
  mixed_line_endings,  // some CRLF, some bare LF
  no_blank_line_after_header,
  header_line_not_field,
  line_too_long,       // over 998 octets before the line end (RFC 5322 2.1.1)
  header_8bit,         // 8-bit bytes in top-level header fields
  mime_missing_boundary,     // multipart Content-Type without a boundary parameter
  mime_boundary_not_found,   // multipart whose boundary never occurs
  mime_unclosed_multipart,   // multipart without its close delimiter (or closed by an outer one)
  mime_bad_base64,           // base64 body with characters or padding that do not decode
  missing_date,
  missing_from,
  missing_message_id,
  bad_date,        // Date that is not an RFC 5322 date-time (parsers/header_fields.h)
  bad_address,     // From, To or Cc that does not parse as addresses
  bad_message_id,  // Message-ID that is not one <id-left@id-right>
};
const char* to_string(MessageFault);

struct MessageFaultHit {
  MessageFault fault;
  std::uint64_t offset = 0;  // first byte where it was seen
  std::uint64_t count = 0;   // occurrences (bytes, lines, parts) where meaningful
  std::string detail;
};

struct MessageCheckResult {
  std::uint64_t size = 0;
  std::array<std::uint8_t, 20> sha1{};
  std::uint64_t header_size = 0;  // bytes up to and including the blank line (0: none found)
  std::uint64_t crlf_lines = 0, lf_lines = 0, bare_cr = 0, nul_bytes = 0, long_lines = 0;
  // The longest line's bytes before its line end, and where it starts (Zimbra's line limit).
  std::uint64_t longest_line = 0, longest_line_at = 0;
  std::vector<MessageFaultHit> faults;  // in MessageFault order, one entry per class found
  bool has(MessageFault f) const;
};

struct MessageCheckOptions {
  bool mime = true;  // MIME structure and base64 checks
};

class MessageChecker {
 public:
  explicit MessageChecker(MessageCheckOptions options = {});
  ~MessageChecker();
  MessageChecker(const MessageChecker&) = delete;
  MessageChecker& operator=(const MessageChecker&) = delete;

  void reset();             // start a new message; keeps allocated buffers
  void feed(Bytes chunk);   // next bytes of the file, any size
  // The LF positions of the chunk last fed (empty after reset(), or when that chunk was longer
  // than one scan block, 256 KiB): the encoder takes them instead of searching again.
  LineEnds line_ends() const;
  MessageCheckResult finish();

  struct State;  // bounded per-message state, reused across messages

 private:
  void feed_block(Bytes block);
  MessageCheckOptions options_;
  std::unique_ptr<State> s_;
};

// Convenience for tests and small inputs: the whole message in one buffer.
MessageCheckResult check_message(Bytes message, MessageCheckOptions options = {});

}  // namespace cyrconv
