#pragma once
// Plan pass, source side shared by convert and verify: which discovered folders are converted,
// whose they are, each user's seen state and subscriptions, and the target name of every folder
// (all of a user's folders named at once, plus a recovery folder beside each folder with orphan
// files). verify recomputes exactly what convert planned by calling the same functions.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "converter/plan/folder_naming.h"
#include "converter/source/inventory.h"
#include "converter/plan/rename_map.h"
#include "converter/source/user_state.h"

namespace cyrconv {

// A folder convert writes (or exports): not in the DELETED hierarchy, on disk, and owned by
// one of `wanted` (empty: everyone, shared folders included).
bool selected_for_conversion(const MailboxRef& mailbox, const std::set<std::string>& wanted);

// Seen state and subscriptions of every owner among `selected` (loaded once per user), plus
// the pre-2.4 "anyone" seen database. io_depth > 1: that many users' databases per worker are
// read at once (converter/source/io_fanout.h).
struct SourceStates {
  std::map<std::string, std::unique_ptr<UserState>> by_owner;
  std::optional<UserState> anyone;
  SeenState seen_for(const MailboxRef& mailbox) const;
};
SourceStates load_source_states(const SourceInputs& inputs, const std::vector<const MailboxRef*>& selected,
                                int io_depth = 1);

struct PlannedUser {
  std::string owner;     // "" for shared folders
  std::string root_rel;  // output root relative to --out (output_layout.h user_root_relative)
  NamingOutcome naming;
};

struct NamePlan {
  std::vector<PlannedUser> users;                 // in order of first appearance in `selected`
  std::vector<std::size_t> user_of;               // per selected folder: index into users
  std::vector<std::vector<std::uint32_t>> orphans;  // per selected folder: orphan file UIDs
  std::vector<std::string> rename_map_errors;     // the map itself collides: nothing named
  std::vector<std::string> naming_errors;         // a user's names could not be planned
  bool refused() const { return !rename_map_errors.empty() || !naming_errors.empty(); }

  const FolderNameResult* name_of(std::size_t user, const std::string& internal_name) const;
  // The recovery folder of folder `selected_index`'s orphan files, when it has any.
  const FolderNameResult* recovery_name_of(std::size_t user, const std::string& internal_name) const;
};

// `inventories` parallel to `selected`. Orphans are taken from the inventory findings.
NamePlan plan_names(const std::vector<const MailboxRef*>& selected, const std::vector<MailboxInventory>& inventories,
                    NamingProfile profile, const RenameMap& rename_map, CaretMeaning caret);

}  // namespace cyrconv
