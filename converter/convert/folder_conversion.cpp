#include "converter/convert/folder_conversion.h"

namespace cyrconv {

FolderConversion::FolderConversion(const ConvertOptions& o, const UserPlan& u, FolderJob& j,
                                   const std::vector<std::uint32_t>& orphans, Workers& ws, Progress& p, RunControl& r)
    : opt(o),
      user(u),
      job(j),
      out(j.out),
      orphan_uids(orphans),
      workers(ws),
      w(ws.local()),
      progress(p),
      run(r),
      recovery(j.orphans_of != nullptr),
      source(j.orphans_of ? *j.orphans_of : *j.mailbox),
      mbox_format(o.format == OutputFormat::mbox),
      sync_folder(o.sync != SyncPolicy::none),
      sync_each(o.sync == SyncPolicy::message),
      fo(o, u, j) {}

void convert_folder(const ConvertOptions& opt, const UserPlan& user, FolderJob& job, const MailboxInventory& planned,
                    const SeenState& seen_state, const std::vector<std::uint32_t>& orphan_uids, Workers& workers,
                    Progress& progress, RunControl& run) {
  FolderConversion c(opt, user, job, orphan_uids, workers, progress, run);
  // Which of a shard plan's ranges of the folder are this shard's (none: nothing to do).
  if (!c.take_plan_ranges()) return;
  // The folder's records again (planning kept a summary); a source that changed meanwhile fails it.
  if (!c.reload_records(planned, seen_state)) return;
  c.uidvalidity = c.inv.header.uidvalidity;  // a recovery folder takes its source's
  c.source_uidnext = c.recovery ? (orphan_uids.empty() ? 1 : orphan_uids.back() + 1) : c.inv.header.last_uid + 1;
  c.out.uidvalidity = c.uidvalidity;
  c.list_items();
  // Prepare: the target (new, resumed, incremental, or a sibling), what an earlier run wrote,
  // target UIDs and keywords, and the earlier messages' lines with the flags the source has now.
  c.choose_target();
  c.read_target_state();
  c.match_earlier_lines();
  c.assign_target_uids();
  c.choose_keywords();
  c.carry_earlier_lines();
  if (c.nothing_changed()) return;
  c.open_output();
  // Convert: the new messages in UID ranges, each message read once.
  c.cut_ranges();
  if (c.plan) {
    c.convert_plan_ranges();
    c.gather_ranges();
    return;  // `report merge` joins the parts and finishes the folder
  }
  c.convert_split_ranges();
  const bool lines_lost = c.gather_ranges();
  // Commit: uidlist, mbox, manifest, journal entry.
  c.commit(lines_lost);
}

}  // namespace cyrconv
