// Checks between the plan and the conversion: options of an earlier output, the source's
// changes followed into it, disk space.
#include <tbb/parallel_for.h>

#include <map>

#include "converter/convert/convert_run.h"
#include "converter/convert/prior_output.h"
#include "converter/follow/follow_source.h"
#include "converter/plan/output_layout.h"
#include "converter/source/live_records.h"
#include "converter/source/recover.h"

namespace cyrconv {

namespace fs = std::filesystem;

OutputSpace probe_output_space(const fs::path& out) {
  OutputSpace s;
  s.probe = out;
  std::error_code ec;
  while (!s.probe.empty() && !fs::exists(s.probe, ec) && s.probe.has_parent_path() && s.probe.parent_path() != s.probe)
    s.probe = s.probe.parent_path();
  s.known = ::statvfs(s.probe.c_str(), &s.vfs) == 0;
  if (s.known && s.vfs.f_frsize) s.block = s.vfs.f_frsize;
  return s;
}

// A user's output from an earlier run is resumed or added to (README "Re-runs"), never
// replaced; one made with other byte-changing options is left alone.
void refuse_changed_options(ConvertRun& r) {
  auto& users = r.users;
  auto& jobs = r.jobs;
  const auto& inv = r.prep.inv;
  auto& user_refused = r.user_refused;
  const JournalOptions& journal_options = r.journal_options;
  user_refused.assign(users.size(), false);
  for (std::size_t u = 0; u < users.size(); ++u) {
    std::string error;
    const auto was = read_journal_options(users[u].root, error);
    std::string refusal = error;
    if (was && *was != journal_options)
      refusal = "this output was made with other options: " + describe_options_change(*was, journal_options) +
                "; re-run with the same options or into a new --out";
    if (!refusal.empty()) {
      user_refused[u] = true;
      users[u].findings.push_back(make_finding(Finding::Severity::error, "options_changed", users[u].root.string(), 0, refusal));
    }
  }
  for (auto& job : jobs) {
    if (!user_refused[job.user]) continue;
    const MailboxInventory& mi = inv[job.inventory];
    job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
    job.out.count.not_converted = job.out.count.messages;
    job.name = nullptr;
  }
}

// The earlier output follows the source's expunges, renames, deletions and re-creations
// (--follow-source; counted only without it): converter/follow/follow_source.h.
// A shard of a plan with split folders only counts: other shards write into those folders meanwhile.
void follow_source_changes(ConvertRun& r) {
  const ConvertOptions& opt = r.opt;
  auto& users = r.users;
  const auto& inv = r.prep.inv;
  const auto& user_refused = r.user_refused;
  const auto& plan = r.prep.plan;
  const auto& disc = r.prep.disc;
  const auto& selected = r.prep.selected;
  const auto& states = r.prep.states;
  if (opt.follow_source && !opt.plan_ranges.empty())
    r.report.findings.push_back(make_finding(Finding::Severity::warning, "follow_source_not_applied", opt.out.string(), 0,
                                             "--follow-source is not applied by a shard of a plan that splits folders: "
                                             "run one convert with it on the joined output"));
  const std::string stamp = follow_source_stamp();
  tbb::parallel_for(std::size_t{0}, users.size(), [&](std::size_t u) {
    if (user_refused[u] || r.guest(u)) return;
    FollowInput fi{users[u].root, opt.format == OutputFormat::maildir, opt.gzip, opt.sync != SyncPolicy::none,
                   opt.follow_source && opt.plan_ranges.empty(), opt.dry_run, stamp, {}, {}};
    std::map<std::string, std::size_t> index_of;
    for (std::size_t i = 0; i < selected.size(); ++i)
      if (plan.user_of[i] == u) {
        const bool mail = selected[i]->kind == MailboxKind::email;
        fi.folders.push_back({selected[i]->name.internal(), selected[i]->unique_id,
                              mail ? inv[i].header.uidvalidity : 0,
                              mail ? find_folder_name(users[u].naming, selected[i]->name.internal()) : nullptr});
        index_of[selected[i]->name.internal()] = i;
      }
    // Folders the store still has but this run does not convert (not on disk, unreadable):
    // present, so nothing of theirs is moved.
    for (const auto& mb : disc.mailboxes)
      if (!mb.deleted && mb.name.owner() == users[u].owner && !index_of.count(mb.name.internal()))
        fi.folders.push_back({mb.name.internal(), mb.unique_id, 0, nullptr});
    fi.live_uids = [&](const std::string& internal, std::vector<std::uint32_t>& uids, std::string& error) {
      const std::size_t i = index_of.at(internal);
      LiveRecordReader reader(*selected[i], states.seen_for(*selected[i]), inv[i]);
      std::vector<IndexRecord> window;
      while (reader.next(window))
        for (const auto& rec : window) uids.push_back(rec.uid);
      error = reader.error();
      if (!error.empty()) uids.clear();
      return error.empty();
    };
    for (auto& f : follow_source(fi).findings) users[u].findings.push_back(std::move(f));
  });
}

namespace {

struct SpaceNeed {
  std::uint64_t bytes = 0, files = 0;
};

// What one folder job adds to the output: bytes (whole blocks) and files.
void add_folder_need(const ConvertRun& r, const FolderJob& job, SpaceNeed& need) {
  const ConvertOptions& opt = r.opt;
  const auto& users = r.users;
  const auto& inv = r.prep.inv;
  const OutputSpace& space = r.space;
  const auto& states = r.prep.states;
  std::error_code ec;
  const std::uint64_t folder_overhead = (opt.format == OutputFormat::maildir ? 8 : 3) * space.block;
  std::string error;
  const auto done = read_folder_done(users[job.user].root, side_file_name(*job.name), error);
  const MailboxInventory& mi = inv[job.inventory];
  std::uint64_t folder_bytes = 0, folder_files = 0;
  const auto split = opt.plan_ranges.find({users[job.user].owner, job.mailbox->name.internal()});
  if (split != opt.plan_ranges.end() && (!done || done->uidvalidity != mi.header.uidvalidity)) {
    // A plan-split folder: this shard writes its own ranges only (each file's last block counted whole).
    for (const auto& range : split->second)
      if (range.mine) {
        folder_bytes += range.bytes + (opt.format == OutputFormat::maildir ? range.messages * space.block : 0) +
                        400 * range.messages;
        folder_files += range.messages;
      }
    if (!folder_files) return;
  } else if (!done || done->uidvalidity != mi.header.uidvalidity) {
    folder_bytes = (opt.format == OutputFormat::maildir ? r.prep.block_bytes[job.inventory] : mi.bytes) +
                   400 * mi.live_count;  // each message's manifest line
    folder_files = mi.live_count;
  } else {
    // Added to an earlier conversion: only the messages after it count (records read again).
    LiveRecordReader reader(*job.mailbox, states.seen_for(*job.mailbox), mi);
    std::vector<IndexRecord> window;
    while (reader.next(window))
      for (const auto& rec : window) {
        if (rec.uid < done->source_uidnext) continue;
        folder_bytes += (opt.format == OutputFormat::maildir ? space.blocks(rec.size) : rec.size) + 400;
        ++folder_files;
      }
  }
  if (done && !folder_files) return;  // nothing new: nothing written
  need.bytes += folder_bytes + folder_overhead;
  need.files += folder_files + 8;
  if (done && opt.format == OutputFormat::mbox) {
    // An incremental mbox run writes a copy of the earlier file before replacing it.
    const auto size = fs::file_size(users[job.user].root / "mail" /
                                        (job.name->mbox_path.empty() ? std::string("INBOX") : job.name->mbox_path),
                                    ec);
    if (!ec) need.bytes += size;
  }
  // An mbox folder converted in UID ranges holds the later ranges' segments until they are
  // appended: up to its size once more, for a while.
  if (opt.format == OutputFormat::mbox && opt.on_corrupt != OnCorrupt::fail &&
      ((opt.split_bytes && folder_bytes > opt.split_bytes) || (opt.split_messages && folder_files > opt.split_messages)))
    need.bytes += folder_bytes;
}

}  // namespace

// Disk space: refuse before writing anything when the output file system lacks what the new
// messages need (each file rounded up to a block, plus manifests), unless told not to check.
// Errs on the high side: every file takes whole blocks, and every folder a few of its own
// (Maildir: the folder, cur/ new/ tmp/, uidlist, marker, manifest, journal; mbox: the
// file's last block, manifest, journal). Returns whether it is short.
bool check_disk_space(ConvertRun& r) {
  const OutputSpace& space = r.space;
  if (!((r.opt.check_space || r.opt.dry_run) && space.known)) return false;
  SpaceNeed need;
  for (const auto& job : r.jobs)
    if (!r.user_refused[job.user] && job.name && job.name->action == FolderAction::mail_folder && !job.orphans_of)
      add_folder_need(r, job, need);
  const struct statvfs& vfs = space.vfs;
  const fs::path& probe = space.probe;
  const std::uint64_t needed = need.bytes, files = need.files;
  const std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  const std::uint64_t free_files = static_cast<std::uint64_t>(vfs.f_favail);
  const bool inodes_counted = vfs.f_files != 0;  // some file systems report no inode limit
  r.report.space_needed = needed;
  r.report.space_free = free_bytes;
  if (needed > free_bytes || (inodes_counted && files > free_files)) {
    r.report.findings.push_back(make_finding(
        Finding::Severity::error, "disk_space", probe.string(), 0,
        "the output needs about " + std::to_string(needed) + " bytes and " + std::to_string(files) +
            " files; " + probe.string() + " has " + std::to_string(free_bytes) + " bytes and " +
            std::to_string(free_files) + " files free. Free space, or pass --no-space-check to try anyway"));
    return true;
  }
  return false;
}

}  // namespace cyrconv
