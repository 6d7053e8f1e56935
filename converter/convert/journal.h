#pragma once
// The journal of one user's output: what each folder's last completed conversion was, what an
// incremental run in progress decided, and the options the output was made with. It lives in
// <user root>/journal/ and is what lets a killed run resume and a newer snapshot add to an
// earlier output without writing a message twice or losing one (README "Re-runs").
//
//   journal/options.json   format and the options that change bytes, set by the first run
//   journal/<side>.done    a folder's last completed conversion (written last, atomically)
//   journal/<side>.pending an incremental run's UID decision for a folder, until it is done
//
// Every file is replaced atomically (temporary name + rename), fsynced under --sync folder.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "writers/output_file.h"

namespace cyrconv {

// The options whose change would make a re-run write other bytes than the first run did.
struct JournalOptions {
  std::string format;      // maildir, mbox
  std::string eol;         // lf, crlf
  std::string profile;     // naming profile
  std::string on_corrupt;
  bool skip_deleted = false;
  bool gzip = false;
  bool operator==(const JournalOptions&) const = default;
};

struct FolderDone {
  std::string folder;                // Cyrus internal name
  std::string target;                // target path the names plan gave
  std::uint32_t uidvalidity = 0;     // of the source (and of the target folder)
  std::uint32_t source_uidnext = 0;  // the source's UIDNEXT when converted
  std::uint32_t target_uidnext = 0;  // the UIDNEXT written to the target
  std::uint64_t manifest_lines = 0;
  // Where the folder's output is, relative to the user root ("Maildir/.Work", "mail/Work"), and the
  // source mailbox's unique id: what --follow-source needs to move or rename it later
  // (converter/follow/follow_source.h). Empty in journals written before they were recorded.
  std::string output;
  std::string uniqueid;
};

struct FolderPending {
  std::uint32_t uidvalidity = 0;
  std::uint32_t source_uidnext = 0;  // of the snapshot being added
  std::uint32_t first_free_uid = 0;  // new messages are numbered from here when their own UID is taken
};

std::filesystem::path journal_dir(const std::filesystem::path& user_root);

// Reads a file of the output tree whole (journal, uidlist, keywords, manifest; never mail):
// nullopt with `error` empty when it does not exist, nullopt with `error` set when unreadable.
std::optional<std::string> read_output_text(const std::filesystem::path& path, std::string& error);

// nullopt when absent; `error` set (and nullopt) when present but unreadable.
std::optional<JournalOptions> read_journal_options(const std::filesystem::path& user_root, std::string& error);
WriteStatus write_journal_options(const std::filesystem::path& user_root, const JournalOptions& o, bool sync);
// "" when equal, else what differs ("--eol crlf, this output was made with lf").
std::string describe_options_change(const JournalOptions& was, const JournalOptions& now);

std::optional<FolderDone> read_folder_done(const std::filesystem::path& user_root, const std::string& side,
                                           std::string& error);
WriteStatus write_folder_done(const std::filesystem::path& user_root, const std::string& side, const FolderDone& d,
                              bool sync);

std::optional<FolderPending> read_folder_pending(const std::filesystem::path& user_root, const std::string& side,
                                                 std::string& error);
WriteStatus write_folder_pending(const std::filesystem::path& user_root, const std::string& side,
                                 const FolderPending& p, bool sync);
// Our own decision file, once the folder's .done records the result.
void remove_folder_pending(const std::filesystem::path& user_root, const std::string& side);

}  // namespace cyrconv
