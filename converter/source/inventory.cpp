#include "converter/source/inventory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "converter/source/mailbox_error.h"
#include "converter/source/recover.h"
#include "converter/source/source_io.h"
#include "converter/source/uid_listing.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

Finding make_finding(Finding::Severity sev, std::string kind, const fs::path& file, std::uint64_t offset,
                     std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), file.string(), offset, uid, std::move(detail)};
}

// Message files are "<uid>." with no leading zero (cyrus-on-disk.md 5.1).
std::optional<std::uint32_t> message_file_uid(std::string_view name) {
  if (name.size() < 2 || name.back() != '.' || name[0] < '1' || name[0] > '9') return std::nullopt;
  std::uint32_t uid = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size() - 1, uid);
  if (ec != std::errc() || ptr != name.data() + name.size() - 1) return std::nullopt;
  return uid;
}

Finding::Severity severity_of(IndexProblem::Kind k) {
  switch (k) {
    case IndexProblem::Kind::trailing_garbage:
    case IndexProblem::Kind::suspect_layout: return Finding::Severity::warning;
    default: return Finding::Severity::error;
  }
}

// Lists `dir`'s message files into `files` (4 bytes each, no name kept); a message name that is
// not a regular file is a finding, in name order as a sorted listing gives them.
std::string collect_message_files(const fs::path& dir, std::vector<std::uint32_t>& files,
                                  std::vector<Finding>& findings) {
  std::vector<std::pair<std::string, std::uint32_t>> odd;  // rare: symlinks, directories named "<UID>."
  std::string error = list_message_uids(dir, files, [&](std::string_view name, DirEntry::Type) {
    if (auto uid = message_file_uid(name)) odd.emplace_back(std::string(name), *uid);
  });
  std::sort(odd.begin(), odd.end());
  for (const auto& [name, uid] : odd)
    findings.push_back(make_finding(Finding::Severity::error, "message_not_regular_file", dir / name, 0, uid,
                                    "message path is a symlink, directory or special file: not read"));
  return error;
}

// Lets go of the mapped index bytes before `end` (whole pages): a walked window of records costs
// no resident memory after it is read. The mapping stays valid; a later touch reads the page again.
struct MappedWindow {
  const char* base;
  std::size_t released = 0;
  void release_before(std::uint64_t end) {
    static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    constexpr std::size_t window = 1u << 20;
    const std::size_t upto = static_cast<std::size_t>(end) / page * page;
    if (upto < released + window) return;
    ::madvise(const_cast<char*>(base) + released, upto - released, MADV_DONTNEED);
    released = upto;
  }
};

void apply_seen_set(std::vector<IndexRecord>& live, const UidSet& set) {
  for (auto& r : live)
    if (set.contains(r.uid)) r.system_flags |= sysflag::seen;
}

void apply_seen(const MailboxRef& mb, MailboxInventory& inv, const SeenState& seen, const fs::path& dir) {
  const bool shared_seen = inv.header.options & index_option_shared_seen;
  if (inv.header.minor_version >= 12) {
    inv.seen_source = shared_seen ? "index (shared seen)" : "index";
    return;
  }
  // Before 2.4 the index holds no \Seen: the owner's seen db (or "anyone" for shared seen),
  // else a leftover 1.x cyrus.seen in the mailbox directory.
  for (auto& r : inv.live) r.system_flags &= ~sysflag::seen;
  const auto* db = shared_seen ? seen.anyone : seen.owner;
  if (db && !mb.unique_id.empty()) {
    if (auto it = db->find(mb.unique_id); it != db->end()) {
      apply_seen_set(inv.live, it->second.seen);
      inv.seen_source = shared_seen ? "seen_db (anyone)" : "seen_db";
      return;
    }
  }
  SourceOpen f = SourceOpen::map(dir / "cyrus.seen");
  if (f.status == SourceOpen::Status::ok) {
    auto parsed = parse_cyrus_seen_file(f.file.bytes(), (dir / "cyrus.seen").string());
    if (!parsed) {
      inv.findings.push_back(make_finding(Finding::Severity::error, "seen_unreadable", dir / "cyrus.seen",
                                          parsed.error().offset, 0, parsed.error().message));
    } else {
      const std::string owner = mb.name.owner();
      for (const auto& e : parsed.value()) {
        if (e.key == owner || (shared_seen && e.key == "anyone")) {
          apply_seen_set(inv.live, e.seen);
          inv.seen_source = "cyrus.seen";
          return;
        }
      }
    }
  }
  inv.seen_source = "none";
}

}  // namespace

void count_folder_files(AuditAccounting& c, const MailboxInventory& inv) {
  c.count_files(inv.message_files, inv.listed_files, inv.orphan_files, inv.expunged_present, false,
                inv.recovered ? inv.live_count : 0);
}

fs::path message_file_path(const MailboxRef& mb, const IndexRecord& r) {
  const fs::path& dir = (r.system_flags & sysflag::archived) && !mb.archive_dir.empty() ? mb.archive_dir : mb.dir;
  return dir / (std::to_string(r.uid) + ".");
}

namespace {

// The expunged UIDs cyrus.expunge (2.3 delayed expunge) lists; none (and a finding) when it
// cannot be read.
std::vector<std::uint32_t> read_expunge_uids(const fs::path& dir, MailboxInventory& inv) {
  std::vector<std::uint32_t> uids;
  const fs::path expunge_path = dir / "cyrus.expunge";
  SourceOpen expunge_file = SourceOpen::map(expunge_path);
  if (expunge_file.status == SourceOpen::Status::ok) {
    MappedWindow window{expunge_file.file.bytes().data()};
    auto ex = walk_cyrus_expunge(expunge_file.file.bytes(), expunge_path.string(),
                                 [&](const IndexRecord& r, std::uint64_t offset) {
                                   uids.push_back(r.uid);
                                   window.release_before(offset);
                                 });
    if (!ex) {
      uids.clear();
      inv.findings.push_back(make_finding(Finding::Severity::error, "expunge_unreadable", expunge_path, ex.error().offset, 0,
                                          ex.error().message));
    }
  } else if (expunge_file.status != SourceOpen::Status::missing) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "expunge_unreadable", expunge_path, 0, 0, expunge_file.message));
  }
  return uids;
}

// The message files of the mailbox directory and of its archive partition twin, sorted.
struct MessageFiles {
  std::vector<std::uint32_t> spool, archive;
};
MessageFiles list_message_files(const MailboxRef& mb, MailboxInventory& inv) {
  MessageFiles f;
  if (std::string error = collect_message_files(mb.dir, f.spool, inv.findings); !error.empty())
    inv.findings.push_back(make_finding(Finding::Severity::error, "directory_unreadable", mb.dir, 0, 0, error));
  // ARCHIVED messages (3.0+) sit on the archive partition; list it once too when given.
  if (!mb.archive_dir.empty()) {
    std::vector<Finding> archive_findings;
    if (collect_message_files(mb.archive_dir, f.archive, archive_findings).empty())
      for (auto& fd : archive_findings) inv.findings.push_back(std::move(fd));
    else
      f.archive.clear();
  }
  std::sort(f.spool.begin(), f.spool.end());
  std::sort(f.archive.begin(), f.archive.end());
  inv.message_files = f.spool.size() + f.archive.size();
  return f;
}

// Why a parsed index cannot be used at all, or "" when it can: every CRC wrong (rot or a
// rewrite caught half-way), or an index copied from another mailbox: it expects another
// cyrus.header and either its UIDVALIDITY is not the one mailboxes.db gives or most of the
// directory's files are not its records.
std::string unusable_index(const MailboxRef& mb, const IndexHeader& h, bool any_record_crc_ok,
                           const std::vector<IndexRecord>& live_records, const std::vector<std::uint32_t>& files) {
  if (h.has_crcs && !h.header_crc_ok && !any_record_crc_ok) return "its header CRC and every record CRC are wrong";
  if (!h.has_crcs || !mb.header || h.header_file_crc == mb.header_crc) return {};
  if (mb.db_uidvalidity && h.uidvalidity != mb.db_uidvalidity)
    return "it belongs to another mailbox: UIDVALIDITY " + std::to_string(h.uidvalidity) + ", mailboxes.db gives " +
           std::to_string(mb.db_uidvalidity) + ", and it expects another cyrus.header";
  std::vector<std::uint32_t> live;
  live.reserve(live_records.size());
  for (const auto& r : live_records) live.push_back(r.uid);
  std::sort(live.begin(), live.end());
  std::size_t listed = 0;
  for (std::uint32_t uid : files) listed += std::binary_search(live.begin(), live.end(), uid);
  if (files.size() - listed > listed)
    return "it belongs to another mailbox: it expects another cyrus.header and lists only " + std::to_string(listed) +
           " of the " + std::to_string(files.size()) + " message files";
  return {};
}

// The live records of an index walked once, the mapped bytes released behind the walk; the
// UIDs of its expunged records (v12+ keep them) in `expunged`.
struct WalkedIndex {
  std::vector<IndexRecord> live;
  std::vector<std::uint32_t> expunged;
  bool any_record_crc_ok = false;
};
Result<IndexWalk> walk_live_records(const MappedFile& file, const fs::path& path, WalkedIndex& out,
                                    std::size_t expect_live) {
  MappedWindow window{file.bytes().data()};
  return walk_cyrus_index(
      file.bytes(), path.string(),
      [&](const IndexRecord& r, std::uint64_t offset) {
        out.any_record_crc_ok = out.any_record_crc_ok || r.crc_ok;
        if (r.live())
          out.live.push_back(r);
        else
          out.expunged.push_back(r.uid);
        window.release_before(offset);
      },
      [&](const IndexHeader& h, std::size_t records) {
        out.live.reserve(expect_live ? expect_live : std::min<std::size_t>(h.exists, records));
      });
}

// The inventory of a mailbox without a usable index: its files, as reconstruct would.
void recover_inventory(const MailboxRef& mb, MailboxInventory& inv, const MessageFiles& mf,
                       const std::vector<std::uint32_t>& expunged, const std::string& why) {
  const std::vector<std::uint32_t>& files = mf.spool;
  RecoveredRecords rec = recover_from_files(mb, files, mf.archive, expunged, why);
  inv.recovered = true;
  inv.header = rec.header;
  inv.live = std::move(rec.live);
  inv.bytes = rec.bytes;
  for (auto& f : rec.findings) inv.findings.push_back(std::move(f));
  for (std::uint32_t uid : files)
    if (std::binary_search(expunged.begin(), expunged.end(), uid)) {
      ++inv.expunged_present;
      inv.expunged_files.push_back(uid);
    }
  inv.listed_files = inv.live.size();
  inv.seen_source = "none (no index)";
  inv.live_count = inv.live.size();
}

}  // namespace

namespace {

MailboxInventory read_inventory(const MailboxRef& mb, const SeenState& seen) {
  MailboxInventory inv;
  const fs::path& dir = mb.dir;
  if (!mb.on_disk) return inv;
  if (mb.header) {
    inv.flag_names = mb.header->user_flags;
  } else {
    inv.findings.push_back(make_finding(Finding::Severity::error, "header_unreadable", dir / "cyrus.header", 0, 0,
                                        mb.header_error));
  }

  // 2.3 delayed expunge: records moved to cyrus.expunge; the index wins on overlap.
  std::vector<std::uint32_t> expunged_uids = read_expunge_uids(dir, inv);
  std::sort(expunged_uids.begin(), expunged_uids.end());
  // One listing of the directory: which message files exist.
  const MessageFiles mf = list_message_files(mb, inv);
  const std::vector<std::uint32_t>& files = mf.spool;
  const std::vector<std::uint32_t>& archived_files = mf.archive;

  const fs::path index_path = dir / "cyrus.index";
  SourceOpen index_file = SourceOpen::map(index_path);
  if (index_file.status != SourceOpen::Status::ok) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unreadable", index_path, 0, 0, index_file.message));
    recover_inventory(mb, inv, mf, expunged_uids, index_file.message);
    return inv;
  }
  WalkedIndex walked;
  auto parsed = walk_live_records(index_file.file, index_path, walked, 0);
  if (!parsed) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unreadable", index_path, parsed.error().offset, 0,
                                        parsed.error().message));
    recover_inventory(mb, inv, mf, expunged_uids, parsed.error().message);
    return inv;
  }
  IndexWalk& index = parsed.value();
  if (std::string why = unusable_index(mb, index.header, walked.any_record_crc_ok, walked.live, files); !why.empty()) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unusable", index_path, 0, 0, why));
    walked = WalkedIndex{};
    recover_inventory(mb, inv, mf, expunged_uids, why);
    return inv;
  }
  inv.index_read = true;
  inv.header = index.header;
  for (const auto& p : index.problems)
    inv.findings.push_back(make_finding(severity_of(p.kind), std::string("index_") + to_string(p.kind), index_path,
                                        p.offset, p.uid, p.detail));
  if (index.header.has_crcs && mb.header && index.header.header_file_crc != mb.header_crc)
    inv.findings.push_back(make_finding(Finding::Severity::warning, "header_file_crc_mismatch", dir / "cyrus.header", 0, 0,
                                        "cyrus.index expects cyrus.header to have CRC32 " +
                                            std::to_string(index.header.header_file_crc) + ", the file has " +
                                            std::to_string(mb.header_crc)));

  inv.live = std::move(walked.live);
  expunged_uids.insert(expunged_uids.end(), walked.expunged.begin(), walked.expunged.end());
  walked = WalkedIndex{};
  std::sort(expunged_uids.begin(), expunged_uids.end());
  expunged_uids.erase(std::unique(expunged_uids.begin(), expunged_uids.end()), expunged_uids.end());

  // The live UIDs, to look files up in: the records themselves when the index is in UID order
  // (Cyrus writes it so), a sorted copy only for a damaged one.
  const bool ascending = std::is_sorted(inv.live.begin(), inv.live.end(),
                                        [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; });
  std::vector<std::uint32_t> live_uids;
  if (!ascending) {
    live_uids.reserve(inv.live.size());
    for (const auto& r : inv.live) live_uids.push_back(r.uid);
    std::sort(live_uids.begin(), live_uids.end());
  }
  auto is_live = [&](std::uint32_t uid) {
    if (!ascending) return std::binary_search(live_uids.begin(), live_uids.end(), uid);
    auto it = std::lower_bound(inv.live.begin(), inv.live.end(), uid,
                               [](const IndexRecord& r, std::uint32_t u) { return r.uid < u; });
    return it != inv.live.end() && it->uid == uid;
  };
  for (const auto& r : inv.live) {
    inv.bytes += r.size;
    const bool archived = r.system_flags & sysflag::archived;
    const bool present = archived ? std::binary_search(archived_files.begin(), archived_files.end(), r.uid) ||
                                        std::binary_search(files.begin(), files.end(), r.uid)
                                  : std::binary_search(files.begin(), files.end(), r.uid);
    if (!present) {
      ++inv.missing_files;
      inv.findings.push_back(make_finding(Finding::Severity::error, "message_file_missing",
                                          dir / (std::to_string(r.uid) + "."), 0, r.uid,
                                          archived ? (mb.archive_dir.empty()
                                                          ? "the index marks the message ARCHIVED: its file is on the "
                                                            "archive partition, which was not given (--archive-partition)"
                                                          : "the index marks the message ARCHIVED but its file is "
                                                            "missing from the spool and the archive partition")
                                                   : "the index lists a live message but its file is missing"));
    }
  }
  for (std::uint32_t uid : files) {
    if (is_live(uid)) {
      ++inv.listed_files;
      continue;
    }
    if (std::binary_search(expunged_uids.begin(), expunged_uids.end(), uid)) {
      ++inv.expunged_present;
      inv.expunged_files.push_back(uid);
      continue;
    }
    ++inv.orphan_files;
    inv.findings.push_back(make_finding(Finding::Severity::warning, "orphan_message_file", dir / (std::to_string(uid) + "."),
                                        0, uid, "message file with no record in cyrus.index or cyrus.expunge"));
  }

  for (std::uint32_t uid : archived_files)
    if (is_live(uid)) ++inv.listed_files;
  apply_seen(mb, inv, seen, dir);
  inv.live_count = inv.live.size();
  return inv;
}

}  // namespace

MailboxInventory inventory_mailbox(const MailboxRef& mb, const SeenState& seen) {
  try {
    return read_inventory(mb, seen);
  } catch (const std::exception&) {
    rethrow_naming_mailbox(&mb);
  }
}

LiveRecords reload_live_records(const MailboxRef& mb, const SeenState& seen, const MailboxInventory& planned) {
  LiveRecords out;
  if (planned.recovered) {
    // Rebuilt from the files again: the same records unless the directory changed.
    MailboxInventory again = inventory_mailbox(mb, seen);
    if (!again.recovered || again.live.size() != planned.live_count || again.header.last_uid != planned.header.last_uid) {
      out.error = mb.dir.string() + ": the message files changed since they were first listed (" +
                  std::to_string(planned.live_count) + " then, " + std::to_string(again.live.size()) +
                  " now): the source must be a snapshot no one writes to";
      return out;
    }
    out.live = std::move(again.live);
    return out;
  }
  const fs::path index_path = mb.dir / "cyrus.index";
  SourceOpen index_file = SourceOpen::map(index_path);
  if (index_file.status != SourceOpen::Status::ok) {
    out.error = index_file.message;
    return out;
  }
  WalkedIndex walked;
  auto parsed = walk_live_records(index_file.file, index_path, walked, planned.live_count);
  if (!parsed) {
    out.error = index_path.string() + ": " + parsed.error().message;
    return out;
  }
  MailboxInventory again;  // apply_seen works on an inventory
  again.header = parsed.value().header;
  again.live = std::move(walked.live);
  const IndexHeader& was = planned.header;
  if (again.header.uidvalidity != was.uidvalidity || again.header.last_uid != was.last_uid ||
      again.header.num_records != was.num_records || again.live.size() != planned.live_count) {
    out.error = index_path.string() + ": changed since it was first read (UIDVALIDITY " +
                std::to_string(was.uidvalidity) + ", last UID " + std::to_string(was.last_uid) + ", " +
                std::to_string(planned.live_count) + " live records then; " + std::to_string(again.header.uidvalidity) +
                ", " + std::to_string(again.header.last_uid) + ", " + std::to_string(again.live.size()) +
                " now): the source must be a snapshot no one writes to";
    return out;
  }
  apply_seen(mb, again, seen, mb.dir);
  out.live = std::move(again.live);
  return out;
}

}  // namespace cyrconv
