#pragma once
// A folder's name as its owner sees it, for reports: every subcommand shows folders this way.
#include <string>

#include "parsers/mailbox_name.h"

namespace cyrconv {

// Folder name as its owner sees it: "INBOX", "Sent/2024"; shared and deleted folders by
// their whole name. UTF-8 when the modified UTF-7 decodes; `valid` false otherwise.
std::string display_folder_name(const MailboxName& name, bool& valid, CaretMeaning caret);

}  // namespace cyrconv
