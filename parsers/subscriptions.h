#pragma once
// Per-user subscriptions (USER.sub / sub.db): 1.x-3.4 keys are internal names; 3.6+ files
// carry a version key and INBOX-relative db-names (with the version-2 "NINBOXdy" defect).
#include <string_view>
#include <vector>

#include "parsers/cyrusdb.h"
#include "parsers/mailbox_name.h"
#include "parsers/parse_result.h"

namespace cyrconv {

// `owner` is the user id as Cyrus knows it ("fred", "john.doe", "fred@example.com").
Result<std::vector<MailboxName>> parse_subscriptions(const std::vector<DbRecord>& records,
                                                     std::string_view owner, std::string_view file);

}  // namespace cyrconv
