#pragma once
// Dovecot-flavoured Maildir++ pieces: folder directories, file names with S= and W= and the
// :2, flags, dovecot-uidlist (version 3), dovecot-keywords and the subscriptions file.
// cyrus-on-disk.md 10.1-10.3; dovecot-notes.md for what real Dovecot does with each.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "writers/output_file.h"

namespace cyrconv {

// IMAP system flags as the writers see them (same bits as Cyrus's index).
namespace imapflag {
inline constexpr std::uint32_t answered = 1u << 0, flagged = 1u << 1, deleted = 1u << 2, draft = 1u << 3,
                               seen = 1u << 4;
}

// Creates dir/{cur,new,tmp} and, for a folder other than INBOX, the maildirfolder marker.
WriteStatus prepare_maildir(const std::filesystem::path& dir, bool is_inbox);

// Deterministic base name: the same message gets the same name on every run.
std::string maildir_base_name(std::uint32_t uidvalidity, std::uint32_t uid, std::int64_t internaldate);
// ":2," info: D F R S T then keyword letters, in ASCII order.
std::string maildir_info_flags(std::uint32_t system_flags, const std::string& keyword_letters);
// base,S=<size>,W=<vsize>:2,<flags>
std::string maildir_file_name(const std::string& base, std::uint64_t size, std::uint64_t vsize,
                              const std::string& info_flags);

struct UidlistEntry {
  std::uint32_t uid = 0;
  std::string base;  // file name up to the first ':'
};
// "3 V<uidvalidity> N<uidnext>" then "<uid> :<base>" lines, ascending UID.
std::string dovecot_uidlist(std::uint32_t uidvalidity, std::uint32_t uidnext, const std::vector<UidlistEntry>& entries);
// "<index> <keyword>" for the letters a.. in order.
std::string dovecot_keywords(const std::vector<std::string>& keywords);
// Dovecot Maildir++ subscriptions file: one storage name per line ('.' separated, mUTF-7).
std::string maildir_subscriptions(const std::vector<std::string>& storage_names);

}  // namespace cyrconv
