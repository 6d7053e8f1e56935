#pragma once
// Dates in a message header, for a mailbox rebuilt from its files without an index: Cyrus
// `reconstruct` has no INTERNALDATE to keep, so the delivery time is taken from the first
// Received: field (the text after its last ';'), else from Date:. RFC 5322 date-time with the
// obsolete forms (two-digit years, zone names, missing seconds or weekday).
#include <cstdint>
#include <optional>
#include <string_view>

namespace cyrconv {

// Seconds since the epoch (UTC) of an RFC 5322 date-time; nullopt when it is not one.
std::optional<std::int64_t> parse_rfc5322_date(std::string_view text);

struct HeaderDate {
  enum class Source { received, date };
  Source source = Source::received;
  std::int64_t seconds = 0;
};

// The date of the first Received: field that parses, else of the Date: field, looking only at
// the header section of `head` (the start of a message; folded lines unfolded).
std::optional<HeaderDate> message_header_date(std::string_view head);

}  // namespace cyrconv
