#pragma once
// What Zimbra would refuse, caught before the archive is written (docs/zimbra.md "What Zimbra
// refuses"): a line over the server's limit (zimbra_lmtp_max_line_length, enforced while
// zimbra_lmtp_validate_messages is true) makes Zimbra refuse the message, and an import that
// hits the account's quota stops there (QUOTA_EXCEEDED) with the rest of the archive unread.
#include <cstdint>
#include <optional>
#include <string>

#include "parsers/message_check.h"
#include "writers/report_model.h"

namespace cyrconv {

// A message to be written whose longest line exceeds `limit` (0: no limit) becomes a
// quarantine, with a finding and a reason naming the line, the limit and the Zimbra setting.
// Returns whether it did.
bool quarantine_zimbra_long_line(const MessageCheckResult& check, std::uint64_t limit, AuditMessage& m);

// The finding detail for a user whose messages exceed `quota` bytes, or nullopt.
std::optional<std::string> zimbra_quota_problem(std::uint64_t user_bytes, std::uint64_t quota);

}  // namespace cyrconv
