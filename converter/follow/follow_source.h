#pragma once
// --follow-source: before a re-run converts a user's folders, make what an earlier run wrote
// follow the source's structural changes since then (README step 8, docs/reference.md "Following
// the source at cutover"). Only what cyrconv wrote (known from the journal and the manifests) is
// touched, and nothing is unlinked: it is moved into OUT/<user>/removed-by-source/<stamp>/<side>/.
//
//   message expunged in Cyrus   its Maildir file (the target's name, if Dovecot renamed it) and
//                               manifest line move to the holding area
//                               (mbox: the folder file is rewritten without it, its bytes and
//                               manifest line go to the holding area; converter/follow/follow_source_mbox.cpp)
//   folder renamed in Cyrus     (same unique id; without one, same UIDVALIDITY) the output folder,
//                               manifest, quarantine and journal entry are renamed; no copy
//   folder deleted in Cyrus     the output folder moves whole to the holding area
//   folder re-created in Cyrus  (same name, new UIDVALIDITY) the stale output folder moves to the
//                               holding area, so the new one is written under the real name
//
// A folder holding mail cyrconv did not write is never moved (finding follow_source_impossible;
// convert then behaves as without the option). Every move is journaled first
// (journal/follow-source.pending) and a later run finishes an interrupted list before anything else.
// Without the option the same plan is made and only counted (finding follow_source_available).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "converter/plan/folder_naming.h"
#include "writers/report_model.h"

namespace cyrconv {

// One folder of the user in the snapshot being converted, as this run names it. Every folder the
// store has must be listed: one this run does not convert (name null or UIDVALIDITY 0) is left
// alone, never taken for deleted.
struct FollowFolder {
  std::string internal;           // Cyrus internal name
  std::string unique_id;          // "" when the store has none (before 3.x)
  std::uint32_t uidvalidity = 0;  // 0: unknown (header unreadable, not a mail folder)
  const FolderNameResult* name = nullptr;
};

// The UIDs the source folder lists now; false with `error` when its index cannot be read again.
using LiveUidsFn = std::function<bool(const std::string& internal, std::vector<std::uint32_t>& uids, std::string& error)>;

struct FollowInput {
  std::filesystem::path user_root;
  bool maildir = true;
  bool gzip = false;
  bool sync = false;
  bool apply = false;       // --follow-source given: move; otherwise count only
  bool dry_run = false;     // convert --dry-run: touch nothing, not even an interrupted list of moves
  std::string stamp;        // this run's stamp (UTC, "20261207T031500Z") for a new list of moves
  std::vector<FollowFolder> folders;
  LiveUidsFn live_uids;
};

struct FollowResult {
  std::uint64_t messages_moved = 0, folders_moved = 0, folders_renamed = 0, folders_replaced = 0;
  std::uint64_t impossible = 0;  // folders or messages left where they are (not only ours, unreadable)
  std::vector<Finding> findings;
};

FollowResult follow_source(const FollowInput& in);

// "20261207T031500Z" for now.
std::string follow_source_stamp();

// What the holding area of one user holds: every manifest line there is a message whose file
// must be in the same holding folder (by name, or by base name for a file Dovecot renamed).
struct HoldingCensus {
  std::uint64_t messages = 0;         // manifest lines of written messages in the holding area
  std::uint64_t present = 0;          // of those, files found there
  std::vector<std::string> missing;   // "<path>: uid N: ..." for each not found
};
HoldingCensus census_holding_area(const std::filesystem::path& user_root);

inline constexpr const char* holding_dir_name = "removed-by-source";

}  // namespace cyrconv
