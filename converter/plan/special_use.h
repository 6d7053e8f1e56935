#pragma once
// Special-use roles from annotations.db: the owner's /private/specialuse value of each mailbox
// (RFC 6154; set by CREATE ... USE or SETMETADATA). Read once during discover so that convert
// and verify name folders from the same facts; an annotation wins over a folder's name.
#include <filesystem>
#include <vector>

#include "converter/source/discover.h"

namespace cyrconv {

// Sets MailboxRef::special_use from <config_dir>/annotations.db. 3.6+ keys records by mailbox
// unique id and writes the owner's private value under "[.OwNeR.]"; older versions key by
// internal name and write the owner's user id. An unreadable database is a warning: roles then
// come from folder names only.
void load_special_use(const std::filesystem::path& config_dir, std::vector<MailboxRef>& mailboxes,
                      std::vector<Finding>& findings);

}  // namespace cyrconv
