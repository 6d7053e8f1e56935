#pragma once
// One run preparation for the subcommands that convert or check a whole store (convert,
// convert --format zimbra-tgz, verify; audit selects no users and names nothing): discover ->
// select the users' folders -> read their seen state and subscriptions -> inventory -> plan
// names -> folder jobs.
// Plain data out; nothing is written.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "converter/plan/plan_names.h"
#include "writers/convert_report.h"

namespace cyrconv {

struct RunPrepOptions {
  std::vector<std::string> users;       // empty: every user and the shared folders
  const std::set<std::string>* guests = nullptr;  // a shard's guests: their DELETED folders are not listed
  NamingProfile profile = NamingProfile::dovecot;
  const RenameMap* rename_map = nullptr;
  int io_depth = 1;
  // Not 0: RunPreparation::block_bytes is computed with this block size (convert's space check).
  std::uint64_t block = 0;
};

struct RunPreparation {
  Discovery disc;
  // Discovery's findings, then users --users names that have no folder, then refused names.
  std::vector<Finding> findings;
  std::vector<const MailboxRef*> selected;   // folders to convert (into disc.mailboxes)
  std::vector<ConvertFolder> not_converted;  // DELETED folders: reported, not converted
  SourceStates states;
  // Parallel to `selected`. A mail folder keeps only its summary (its records are read again when
  // it is converted): memory holds the folders in progress, not the store's records.
  std::vector<MailboxInventory> inv;
  std::vector<std::uint64_t> block_bytes;    // per folder: its messages as files of whole blocks
  NamePlan plan;                             // refused(): nothing may be written
};

RunPreparation prepare_run(const SourceInputs& inputs, const RunPrepOptions& options);

// What every subcommand knows of a user it writes for.
struct RunUser {
  std::string owner;
  std::string root_rel;
  std::filesystem::path root;  // absolute output root of this user
  const UserState* state = nullptr;
  NamingOutcome naming;
  std::vector<Finding> findings;
};

// The users of `prep.plan`, their naming moved out of it, rooted below `out`.
std::vector<RunUser> take_run_users(RunPreparation& prep, const std::filesystem::path& out);

// One folder to convert: a selected folder, or the recovery folder of its orphan files.
struct FolderJob {
  const MailboxRef* mailbox = nullptr;     // null for a recovery folder of orphans
  const MailboxRef* orphans_of = nullptr;  // recovery folder: the folder whose orphans it holds
  std::size_t inventory = 0;               // index into the inventories (and `selected`)
  std::size_t user = 0;
  const FolderNameResult* name = nullptr;  // into the user's naming; null: none was planned
  std::uint64_t bytes = 0;
  ConvertFolder out;                       // the report's entry, filled as it is converted
};

// Jobs in `selected` order, each followed by its recovery folder. `naming[u]` is user u's
// (where it now lives). `guest(u)`: a shard guest, which gets a job only for folders for which
// `guest_converts(u, folder)` holds and no recovery folders; null: nobody is a guest.
std::vector<FolderJob> plan_folder_jobs(const RunPreparation& prep, const std::vector<const NamingOutcome*>& naming,
                                        const std::function<bool(std::size_t)>& guest = nullptr,
                                        const std::function<bool(std::size_t, std::size_t)>& guest_converts = nullptr);

// The named target of `internal` among a user's folders, or null.
const FolderNameResult* find_folder_name(const NamingOutcome& naming, const std::string& internal);

}  // namespace cyrconv
