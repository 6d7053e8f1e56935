#pragma once
// Where Cyrus keeps a mailbox and its owner's databases (cyrus-on-disk.md 6.3, 6.4, 6.8, 7.1).
// Every function returns candidates; callers match them against what is really on disk,
// because 2.x and 3.x disagree on some hashes (trap 29).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/mailbox_name.h"

namespace cyrconv {

char dir_hash_simple(std::string_view s);  // first letter lower-cased, else 'q'
char dir_hash_full(std::string_view s);    // fulldirhash: 'A'..'W'

// Name-based directories: hashed simply, with fulldirhash, and unhashed.
std::vector<std::filesystem::path> legacy_mailbox_dirs(const std::filesystem::path& root,
                                                       const MailboxName& name);
// 3.6+ directories by mailbox id: root/uuid/c1/c2/<id>.
std::filesystem::path uuid_mailbox_dir(const std::filesystem::path& root, std::string_view unique_id);

// Name of a mailbox from its name-based directory, relative to the partition root
// (components as on disk). nullopt when the path cannot be a mailbox name.
std::optional<MailboxName> name_from_legacy_path(const std::vector<std::string>& components);

// Per-user database candidates under the config directory: seen (".seen"/"seen.db") and
// subscriptions (".sub"/"sub.db"). `inbox_id` is the unique id of the user's INBOX.
std::vector<std::filesystem::path> user_db_candidates(const std::filesystem::path& config,
                                                      const MailboxName& inbox,
                                                      std::string_view inbox_id,
                                                      std::string_view legacy_suffix,
                                                      std::string_view uuid_file);

}  // namespace cyrconv
