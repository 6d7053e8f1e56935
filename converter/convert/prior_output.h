#pragma once
// What is already where a folder's output goes, before convert writes there: nothing, the
// unfinished output of an interrupted run (resume), a completed conversion (incremental run), or
// something cyrconv did not write (mail delivered by other software), which is never merged
// into. Plus the pieces an incremental run needs to add to a completed folder without replacing
// anything: the earlier manifest, the uidlist with a new UIDNEXT, the mbox X-IMAPbase, and the
// three-way flag merge. README "Re-runs".
#include <cstdint>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "converter/convert/earlier_manifest.h"
#include "converter/convert/journal.h"
#include "converter/verify/output_reader.h"

namespace cyrconv {

struct PriorFolder {
  enum class State { none, partial, done, foreign, unreadable };
  State state = State::none;
  std::string why;                      // foreign / unreadable: what was found, with its path
  std::optional<FolderDone> done;       // state done
  std::optional<FolderPending> pending;
};

// `folder_path`: the Maildir folder directory, or the mbox file (without .gz).
PriorFolder inspect_prior_folder(const std::filesystem::path& user_root, const std::string& side, bool maildir,
                                 const std::filesystem::path& folder_path, std::uint32_t uidvalidity, bool gzip);

// "<digits>.V<uidvalidity>U<digits>.cyrconv,S=...": a message file cyrconv names for this UIDVALIDITY.
bool is_our_maildir_name(std::string_view name, std::uint32_t uidvalidity);

// EarlierManifest and read_earlier_manifest: converter/convert/earlier_manifest.h.

// The uidlist text with its header's N field set to `uidnext` and every other field and line kept
// as they are (Dovecot may have added its own), except the lines of UIDs in `rewritten` (which an
// interrupted run of the same additions already listed); nullopt with `error` when not version 3.
std::optional<std::string> uidlist_with_uidnext(std::string_view existing, std::uint32_t uidnext, std::string& error,
                                                const std::set<std::uint32_t>& rewritten = {});

// The first X-IMAPbase header of an mbox (the first message's header): UIDVALIDITY, last UID and
// where the 10-digit last-UID field starts, so a copy can carry a new value in place.
struct MboxImapBase {
  std::uint32_t uidvalidity = 0, last_uid = 0;
  std::size_t last_uid_offset = 0;
};
std::optional<MboxImapBase> find_mbox_imapbase(std::string_view head);

struct FlagState {
  std::uint32_t system = 0;              // imapflag bits
  std::vector<std::string> keywords;     // sorted, unique
};
// What the target should carry when the source went from `source_was` to `source_now` and the
// target now has `target_now`: the source's changes applied, the target's own changes kept.
FlagState merge_flag_change(const FlagState& target_now, const FlagState& source_was, const FlagState& source_now);

// "\\Seen" ... -> imapflag bits (unknown names ignored).
std::uint32_t system_flags_from_names(const std::vector<std::string>& names);

}  // namespace cyrconv
