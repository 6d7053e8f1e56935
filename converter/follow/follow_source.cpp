#include "converter/follow/follow_source.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "converter/follow/follow_source_moves.h"
#include "converter/convert/journal.h"
#include "converter/plan/output_layout.h"
#include "converter/verify/output_reader.h"
#include "converter/convert/prior_output.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

Finding finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

struct DoneEntry {
  std::string side;
  FolderDone done;
};

// Every journal/<side>.done of the user, by side name.
std::vector<DoneEntry> read_all_done(const fs::path& user_root, std::vector<Finding>& findings) {
  std::vector<DoneEntry> out;
  DIR* d = ::opendir(journal_dir(user_root).c_str());
  if (!d) return out;
  std::vector<std::string> sides;
  while (dirent* e = ::readdir(d)) {
    const std::string n = e->d_name;
    if (n.size() > 5 && n.compare(n.size() - 5, 5, ".done") == 0) sides.push_back(n.substr(0, n.size() - 5));
  }
  ::closedir(d);
  std::sort(sides.begin(), sides.end());
  for (const auto& side : sides) {
    std::string error;
    auto done = read_folder_done(user_root, side, error);
    if (!done) {
      findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible",
                                 (journal_dir(user_root) / (side + ".done")).string(), 0,
                                 "journal entry unreadable (" + error + "): the folder is left as it is"));
      continue;
    }
    out.push_back({side, std::move(*done)});
  }
  return out;
}

// The folder's output, relative to the user root: recorded in the journal, else the directory
// (Maildir) or file (mbox) of the first written message in its manifest.
std::string output_of(const fs::path& user_root, const DoneEntry& e, bool maildir) {
  if (!e.done.output.empty()) return e.done.output;
  const EarlierManifest m = read_earlier_manifest(user_root / "manifests" / (e.side + ".jsonl"));
  for (const auto& r : m.records) {
    if (r.output_file.empty() || r.output_file.rfind("quarantine/", 0) == 0) continue;
    fs::path p(r.output_file);
    return (maildir ? p.parent_path().parent_path() : p).string();
  }
  return {};
}

std::string output_for(const FolderNameResult& n, bool maildir) {
  if (maildir) return n.maildirpp.empty() ? std::string("Maildir") : "Maildir/" + n.maildirpp;
  return "mail/" + (n.mbox_path.empty() ? std::string("INBOX") : n.mbox_path);
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// The folder at `output` is ours alone: what the journal says we finished, nothing else in it.
bool only_ours(const FollowInput& in, const DoneEntry& e, const std::string& output, std::string& why) {
  const fs::path path = in.user_root / output;
  PriorFolder p = inspect_prior_folder(in.user_root, e.side, in.maildir, path, e.done.uidvalidity, in.gzip);
  if (p.state == PriorFolder::State::done && in.maildir) {
    // The journal entry says finished; what is in the folder now is checked as for a folder
    // without one (a side name no journal has): mail the target received makes it not ours.
    p = inspect_prior_folder(in.user_root, e.side + ".follow-source-probe", true, path, e.done.uidvalidity, false);
    if (p.state != PriorFolder::State::foreign && p.state != PriorFolder::State::unreadable) return true;
  } else if (p.state == PriorFolder::State::done) {
    return true;  // mbox: a file the target appended to is not told apart (docs/reference.md)
  }
  why = p.why.empty() ? path.string() + ": not a completed conversion of this folder" : p.why;
  return false;
}

// The written messages of an unchanged folder that the source no longer lists.
void plan_expunged(const FollowInput& in, const DoneEntry& e, const std::string& output, const std::string& internal,
                   std::vector<FollowMove>& moves, FollowResult& r) {
  const fs::path manifest = in.user_root / "manifests" / (e.side + ".jsonl");
  const EarlierManifest m = read_earlier_manifest(manifest);
  if (!m.error.empty()) {
    ++r.impossible;
    r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", manifest.string(), 0,
                                 m.error + ": expunged messages are left where they are"));
    return;
  }
  std::vector<std::uint32_t> live;
  std::string error;
  if (!in.live_uids(internal, live, error)) {
    ++r.impossible;
    r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", internal, 0,
                                 error + ": expunged messages are left where they are"));
    return;
  }
  std::sort(live.begin(), live.end());
  const std::string prefix = output + "/";
  std::uint64_t mbox_kept = 0;
  for (std::size_t i = 0; i < m.records.size(); ++i) {
    const ManifestRecord& rec = m.records[i];
    if (rec.kind != Disposition::written && rec.kind != Disposition::repaired) continue;
    if (std::binary_search(live.begin(), live.end(), rec.source_uid)) continue;
    if (!in.maildir && (in.gzip || !rec.mbox_offset)) {
      ++mbox_kept;  // a gzip file is not rewritten (nor is a line without its offset)
      continue;
    }
    if (in.maildir && rec.output_file.rfind(prefix, 0) != 0) continue;  // not in this folder's Maildir
    FollowMove mv;
    mv.kind = FollowMove::Kind::message;
    mv.side = e.side;
    mv.from = in.maildir ? rec.output_file : output;  // an mbox line has no output_file
    mv.line = m.lines[i];
    mv.uid = rec.uid;
    moves.push_back(std::move(mv));
  }
  if (mbox_kept)
    r.findings.push_back(finding(Finding::Severity::info, "follow_source_mbox_messages_kept", manifest.string(), 0,
                                 std::to_string(mbox_kept) +
                                     " message(s) expunged in the source stay in the gzip mbox file (a --gzip "
                                     "folder file is not rewritten; they are counted as kept_not_in_source)"));
}

// Whether the source folder `internal` lists every UID the earlier manifest of `e` has as written.
bool holds_written(const FollowInput& in, const DoneEntry& e, const std::string& internal) {
  const EarlierManifest m = read_earlier_manifest(in.user_root / "manifests" / (e.side + ".jsonl"));
  std::vector<std::uint32_t> live;
  std::string error;
  if (!m.error.empty() || !in.live_uids(internal, live, error)) return false;
  std::sort(live.begin(), live.end());
  bool any = false;
  for (const auto& r : m.records) {
    if (r.kind != Disposition::written && r.kind != Disposition::repaired) continue;
    if (!std::binary_search(live.begin(), live.end(), r.source_uid)) return false;
    any = true;
  }
  return any;
}

// The moves that make the user's output follow the source (nothing done yet).
std::vector<FollowMove> plan_moves(const FollowInput& in, FollowResult& r) {
  std::vector<FollowMove> moves;
  const std::vector<DoneEntry> dones = read_all_done(in.user_root, r.findings);
  std::map<std::string, const FollowFolder*> by_internal;
  std::set<std::string> sides_now;
  for (const auto& f : in.folders) {
    by_internal[f.internal] = &f;
    if (f.name) sides_now.insert(side_file_name(*f.name));
  }
  std::set<std::string> done_sides;
  for (const auto& e : dones) done_sides.insert(e.side);
  std::set<const FollowFolder*> rename_targets;
  for (const auto& e : dones) {
    if (e.done.folder.find(orphan_suffix) != std::string::npos) continue;  // recovery folders stay
    const std::string output = output_of(in.user_root, e, in.maildir);
    if (output.empty()) continue;  // nothing was ever written there
    const bool there = exists_no_follow(in.user_root / output) ||
                       (!in.maildir && in.gzip && exists_no_follow(in.user_root / (output + ".gz")));
    if (!there) continue;  // nothing of it is left to move
    const auto now = by_internal.find(e.done.folder);
    if (now != by_internal.end() && (!now->second->name || !now->second->uidvalidity))
      continue;  // still in the store, not converted by this run: left alone
    if (now != by_internal.end() && now->second->uidvalidity == e.done.uidvalidity) {
      if (now->second->name && side_file_name(*now->second->name) == e.side)
        plan_expunged(in, e, output, e.done.folder, moves, r);
      continue;
    }
    std::string why;
    if (in.maildir && output == "Maildir") {
      // The INBOX of Maildir++ is the root that holds every other folder: never moved as a whole.
      ++r.impossible;
      r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", (in.user_root / output).string(),
                                   0, "the INBOX was re-created or removed in the source; the Maildir root holds "
                                      "every folder, so it stays (the new INBOX goes to a sibling)"));
      continue;
    }
    if (!only_ours(in, e, output, why)) {
      ++r.impossible;
      r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", (in.user_root / output).string(),
                                   0, why + ": holds what cyrconv did not write, so it stays (" +
                                          (now != by_internal.end() ? "the re-created folder goes to a sibling"
                                                                    : "deleted or renamed in the source") + ")"));
      continue;
    }
    FollowMove mv;
    mv.side = e.side;
    mv.from = output;
    if (now != by_internal.end()) {  // same name, new UIDVALIDITY: re-created
      mv.kind = FollowMove::Kind::replace_recreated;
      mv.detail = "UIDVALIDITY " + std::to_string(e.done.uidvalidity) + " -> " + std::to_string(now->second->uidvalidity);
      moves.push_back(std::move(mv));
      continue;
    }
    // Renamed: the folder the source now has with this one's identity, whose own target is free.
    std::vector<const FollowFolder*> same;
    for (const auto& f : in.folders) {
      if (!f.name || f.name->action != FolderAction::mail_folder || rename_targets.count(&f)) continue;
      if (by_internal.count(f.internal) && std::any_of(dones.begin(), dones.end(), [&](const DoneEntry& d) {
            return d.done.folder == f.internal;
          }))
        continue;  // already converted under its own name
      const bool ids = !f.unique_id.empty() && !e.done.uniqueid.empty();
      if (ids ? f.unique_id == e.done.uniqueid : f.uidvalidity == e.done.uidvalidity) same.push_back(&f);
    }
    if (same.size() > 1 || (same.size() == 1 && (same.front()->unique_id.empty() || e.done.uniqueid.empty())))
      // Without unique ids UIDVALIDITY alone says little (Cyrus gives one per second): the
      // candidate must also still hold every message written from this folder, by UID.
      std::erase_if(same, [&](const FollowFolder* f) { return !holds_written(in, e, f->internal); });
    if (same.size() == 1) {
      const FollowFolder& f = *same.front();
      const std::string to = output_for(*f.name, in.maildir);
      const std::string new_side = side_file_name(*f.name);
      if (exists_no_follow(in.user_root / to) || done_sides.count(new_side)) {
        ++r.impossible;
        r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible",
                                     (in.user_root / to).string(), 0,
                                     "renamed in the source from " + e.done.folder + ", but the new name is taken in "
                                     "the output: both stay"));
        continue;
      }
      rename_targets.insert(&f);
      mv.kind = FollowMove::Kind::rename;
      mv.to = to;
      mv.new_side = new_side;
      mv.new_folder = f.internal;
      mv.new_target = f.name->path;
      mv.new_uniqueid = f.unique_id;
      mv.detail = e.done.folder + " -> " + f.internal;
      moves.push_back(std::move(mv));
      continue;
    }
    mv.kind = FollowMove::Kind::folder_deleted;
    mv.detail = e.done.folder + (same.empty() ? "" : " (several folders have its UIDVALIDITY: not taken as renamed)");
    moves.push_back(std::move(mv));
  }
  return moves;
}

}  // namespace

std::string follow_source_stamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

namespace {

void follow_source_steps(const FollowInput& in, FollowResult& r) {
  // An interrupted list of moves is finished first, whatever this run's options: it was asked for.
  std::string error;
  auto interrupted = read_pending_moves(in.user_root, error);
  if (interrupted && in.dry_run) {
    r.findings.push_back(finding(Finding::Severity::info, "follow_source_pending", in.user_root.string(), 0,
                                 "an interrupted list of moves waits: the next convert finishes it"));
  } else if (interrupted) {
    execute_moves(in, *interrupted, r);
    if (r.findings.empty() || std::none_of(r.findings.begin(), r.findings.end(), [](const Finding& f) {
          return f.severity == Finding::Severity::error;
        }))
      remove_pending_moves(in.user_root);
  } else if (!error.empty()) {
    r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", error, 0,
                                 "the journal of interrupted moves is unreadable: nothing is moved"));
    return;
  }
  FollowResult plan_result;
  const std::vector<FollowMove> moves = plan_moves(in, plan_result);
  for (auto& f : plan_result.findings) r.findings.push_back(std::move(f));
  r.impossible += plan_result.impossible;
  if (moves.empty()) return;
  if (!in.apply || in.dry_run) {
    std::uint64_t messages = 0, folders = 0;
    for (const auto& m : moves) (m.kind == FollowMove::Kind::message ? messages : folders) += 1;
    r.findings.push_back(finding(
        Finding::Severity::info, "follow_source_available", in.user_root.string(), 0,
        "the source removed, renamed or re-created what an earlier run wrote: --follow-source would move " +
            std::to_string(messages) + " message(s) and " + std::to_string(folders) +
            " folder(s) (docs/reference.md \"Following the source at cutover\"); without it they stay"));
    return;
  }
  PendingMoves pending{in.stamp, moves};
  // A stamp already used (two runs within a second) gets a suffix: holding folders never merge.
  for (int n = 2; exists_no_follow(in.user_root / holding_dir_name / pending.stamp); ++n)
    pending.stamp = in.stamp + "-" + std::to_string(n);
  if (auto st = write_pending_moves(in.user_root, pending, in.sync); !st) {
    r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", in.user_root.string(), 0, st.message));
    return;
  }
  const std::size_t before = r.findings.size();
  const std::uint64_t renamed = r.folders_renamed;
  execute_moves(in, pending, r);
  const bool ok = std::none_of(r.findings.begin() + static_cast<std::ptrdiff_t>(before), r.findings.end(),
                               [](const Finding& f) { return f.severity == Finding::Severity::error; });
  if (!ok) return;
  remove_pending_moves(in.user_root);
  // A folder renamed just now is checked for expunged messages under its new name.
  if (r.folders_renamed != renamed) {
    FollowResult again;
    std::vector<FollowMove> more = plan_moves(in, again);
    std::erase_if(more, [](const FollowMove& m) { return m.kind != FollowMove::Kind::message; });
    if (!more.empty()) {
      pending.moves = std::move(more);
      if (auto st = write_pending_moves(in.user_root, pending, in.sync); !st) {
        r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", in.user_root.string(), 0, st.message));
        return;
      }
      execute_moves(in, pending, r);
      remove_pending_moves(in.user_root);
    }
  }
}

}  // namespace

FollowResult follow_source(const FollowInput& in) {
  FollowResult r;
  follow_source_steps(in, r);
  if (r.messages_moved || r.folders_moved || r.folders_renamed || r.folders_replaced)
    r.findings.push_back(finding(Finding::Severity::info, "follow_source", (in.user_root / holding_dir_name).string(), 0,
                                 std::to_string(r.messages_moved) + " message(s) and " + std::to_string(r.folders_moved) +
                                     " deleted folder(s) moved to the holding area, " +
                                     std::to_string(r.folders_renamed) + " folder(s) renamed, " +
                                     std::to_string(r.folders_replaced) + " re-created folder(s) replaced"));
  return r;
}

}  // namespace cyrconv
