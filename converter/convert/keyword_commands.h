#pragma once
// Keywords that Maildir file names cannot carry. A folder's `dovecot-keywords` gives letters to 26
// keywords at most, so a folder that used more has messages whose other keywords live only in the
// manifests. Dovecot keeps any number of keywords in its index: per user, convert writes
// `apply-keywords.sh`, `doveadm flags add` commands that put the rest there once the Maildir is in
// place (README "Keywords beyond 26 per folder"). Adding a keyword twice is harmless, so the
// script can be run again; a re-run of convert writes it afresh from the manifests.
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "converter/verify/output_reader.h"

namespace cyrconv {

// One folder's keywords without a letter, with the target UIDs that carry each.
struct FolderExtraKeywords {
  std::string mailbox;  // Dovecot's name: UTF-8, '/' between levels (README's Dovecot settings)
  std::map<std::string, std::vector<std::uint32_t>> uids_of_keyword;  // UIDs ascending, unique
};

// The keywords of the folder's messages in the Maildir (written or repaired) that no letter in
// `letters` stands for.
FolderExtraKeywords extra_keywords(std::string mailbox, const std::map<char, std::string>& letters,
                                   const std::vector<ManifestRecord>& records);

// IMAP sequence-set syntax of ascending unique UIDs: "1,3:5,9". Several sets when one would pass
// `max_chars` (a command line's argument has a limit), each at most that long.
std::vector<std::string> uid_sets(std::span<const std::uint32_t> uids, std::size_t max_chars = 60000);

// The script for one user: `sh apply-keywords.sh [DOVECOT-USER]` (default `user`); the DOVEADM
// environment variable may give another doveadm command line ("doveadm -c /path/dovecot.conf").
// Each folder is found by its exact name: doveadm's `mailbox` search key treats `*` and `%` as
// wildcards, so the script looks the folder's GUID up and adds by `mailbox-guid`.
std::string apply_keywords_script(const std::string& user, const std::vector<FolderExtraKeywords>& folders);

// The report finding's kind and text for a user with `extra` keyword additions in the script.
inline constexpr const char* keywords_need_doveadm_kind = "keywords_need_doveadm";
std::string keywords_need_doveadm_detail(std::uint64_t extra);

// One Maildir folder convert wrote for a user.
struct KeywordFolder {
  std::string mailbox;               // as for FolderExtraKeywords
  std::filesystem::path maildir;     // the folder's directory (its dovecot-keywords)
  std::filesystem::path manifest;    // its manifest
};

// Reads each folder's dovecot-keywords and (only when all 26 letters are taken) its manifest, and
// writes `user_root/apply-keywords.sh` when some keyword needs it or an earlier run wrote one.
// Returns what could not be read or written ("PATH: why"); `extra` counts the keyword additions.
std::vector<std::string> write_apply_keywords(const std::filesystem::path& user_root, const std::string& user,
                                              const std::vector<KeywordFolder>& folders, bool sync,
                                              std::uint64_t& extra);

}  // namespace cyrconv
