#pragma once
// Per-user databases in the config directory: seen state and subscriptions.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "parsers/mailbox_name.h"
#include "parsers/seen.h"
#include "writers/report_model.h"

namespace cyrconv {

struct UserState {
  std::map<std::string, SeenEntry> seen;  // by mailbox unique id
  std::string seen_file;                  // "" when none was found
  bool subscriptions_found = false;
  std::vector<MailboxName> subscriptions;
  std::string sub_file;
  std::vector<Finding> findings;
};

// `inbox` is the user's INBOX name (user.fred), `inbox_id` its unique id (may be empty).
UserState load_user_state(const std::filesystem::path& config, const MailboxName& inbox, const std::string& inbox_id);

}  // namespace cyrconv
