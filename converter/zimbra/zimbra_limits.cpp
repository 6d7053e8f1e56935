#include "converter/zimbra/zimbra_limits.h"

namespace cyrconv {

bool quarantine_zimbra_long_line(const MessageCheckResult& check, std::uint64_t limit, AuditMessage& m) {
  if (limit == 0 || check.longest_line <= limit || (m.action != MessageAction::write && m.action != MessageAction::repair)) return false;
  const std::string detail = "a line of " + std::to_string(check.longest_line) + " bytes at offset " +
                             std::to_string(check.longest_line_at) + "; Zimbra refuses lines over " +
                             std::to_string(limit) +
                             " bytes (zimbra_lmtp_max_line_length; zimbra_lmtp_validate_messages=false accepts any): "
                             "raise the server's limit and give --zimbra-max-line-length to write it";
  m.action = MessageAction::quarantine;
  m.changes.clear();
  m.reason = "zimbra_line_too_long: " + detail;
  m.findings.push_back(Finding{Finding::Severity::error, "zimbra_line_too_long", m.file, check.longest_line_at, m.uid, detail});
  return true;
}

std::optional<std::string> zimbra_quota_problem(std::uint64_t user_bytes, std::uint64_t quota) {
  if (quota == 0 || user_bytes <= quota) return std::nullopt;
  return std::to_string(user_bytes) + " bytes of messages and calendar/contact objects exceed --zimbra-quota " +
         std::to_string(quota) +
         ": Zimbra would stop the import at the quota (QUOTA_EXCEEDED) and leave the rest unread; this user's "
         "archive is not made: raise the account's zimbraMailQuota and convert again with the new --zimbra-quota";
}

}  // namespace cyrconv
