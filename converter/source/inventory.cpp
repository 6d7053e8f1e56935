#include "converter/source/inventory.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "converter/source/live_records.h"
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
    MappedRelease window{expunge_file.file.bytes().data()};
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
                           const std::vector<std::uint32_t>& live, const std::vector<std::uint32_t>& files) {
  if (h.has_crcs && !h.header_crc_ok && !any_record_crc_ok) return "its header CRC and every record CRC are wrong";
  if (!h.has_crcs || !mb.header || h.header_file_crc == mb.header_crc) return {};
  if (mb.db_uidvalidity && h.uidvalidity != mb.db_uidvalidity)
    return "it belongs to another mailbox: UIDVALIDITY " + std::to_string(h.uidvalidity) + ", mailboxes.db gives " +
           std::to_string(mb.db_uidvalidity) + ", and it expects another cyrus.header";
  std::size_t listed = 0;
  for (std::uint32_t uid : files) listed += std::binary_search(live.begin(), live.end(), uid);
  if (files.size() - listed > listed)
    return "it belongs to another mailbox: it expects another cyrus.header and lists only " + std::to_string(listed) +
           " of the " + std::to_string(files.size()) + " message files";
  return {};
}

// Whether unusable_index may refuse an index with this header: then its records go to the
// caller only after the whole walk (a second one), never twice.
bool may_be_unusable(const MailboxRef& mb, const IndexHeader& h) {
  return h.has_crcs && (!h.header_crc_ok || (mb.header && h.header_file_crc != mb.header_crc));
}

// One walk of the index: the summary of its live records (4 bytes of a UID each, no record
// kept unless asked) and the UIDs of its expunged records (v12+ keep them).
struct IndexPass {
  const MailboxRef& mb;
  const SeenState& seen;
  const InventoryOptions& opt;
  MailboxInventory& inv;
  const std::vector<std::uint32_t>& files;
  const std::vector<std::uint32_t>& archived_files;
  std::vector<std::uint32_t> live_uids, expunged;
  std::vector<std::pair<std::uint32_t, bool>> missing;  // UID, ARCHIVED; index order
  SeenSource seen_source;
  bool any_record_crc_ok = false;
  bool deferred = false;  // records go to the caller after the walk (may_be_unusable)

  void header(const IndexHeader& h, std::size_t records) {
    seen_source = resolve_seen(mb, h, seen);
    deferred = may_be_unusable(mb, h);
    live_uids.reserve(std::min<std::size_t>(h.exists, records));
    if (opt.keep_records && !deferred) inv.live.reserve(std::min<std::size_t>(h.exists, records));
  }
  void record(IndexRecord r) {
    any_record_crc_ok = any_record_crc_ok || r.crc_ok;
    if (!r.live()) {
      expunged.push_back(r.uid);
      return;
    }
    seen_source.apply(r);
    if (!live_uids.empty() && r.uid < live_uids.back()) inv.uid_ascending = false;
    live_uids.push_back(r.uid);
    inv.bytes += r.size;
    for (std::size_t w = 0; w < 4; ++w) inv.used_user_flags[w] |= r.user_flags[w];
    const bool archived = r.system_flags & sysflag::archived;
    const bool present = archived ? std::binary_search(archived_files.begin(), archived_files.end(), r.uid) ||
                                        std::binary_search(files.begin(), files.end(), r.uid)
                                  : std::binary_search(files.begin(), files.end(), r.uid);
    if (!present) missing.emplace_back(r.uid, archived);
    if (!deferred) hand_over(r);
  }
  void hand_over(const IndexRecord& r) {
    if (opt.each_live) opt.each_live(r);
    if (opt.keep_records) inv.live.push_back(r);
  }
};

// The live records of an index whose walk deferred them, handed over now (a second walk).
void hand_over_deferred(const MappedFile& file, const fs::path& path, IndexPass& pass) {
  if (!pass.deferred || (!pass.opt.each_live && !pass.opt.keep_records)) return;
  if (pass.opt.keep_records) pass.inv.live.reserve(pass.live_uids.size());
  MappedRelease window{file.bytes().data()};
  (void)walk_cyrus_index_range(file.bytes(), path.string(), 0, SIZE_MAX, [&](const IndexRecord& r, std::uint64_t offset) {
    if (r.live()) {
      IndexRecord seen_applied = r;
      pass.seen_source.apply(seen_applied);
      pass.hand_over(seen_applied);
    }
    window.release_before(offset);
  });
}

// The inventory of a mailbox without a usable index: its files, as reconstruct would.
void recover_inventory(const MailboxRef& mb, MailboxInventory& inv, const MessageFiles& mf,
                       const std::vector<std::uint32_t>& expunged, const std::string& why, const InventoryOptions& opt) {
  const std::vector<std::uint32_t>& files = mf.spool;
  RecoveredRecords rec = recover_from_files(mb, files, mf.archive, expunged, why);
  inv.recovered = true;
  inv.header = rec.header;
  inv.live = std::move(rec.live);
  inv.bytes = rec.bytes;
  inv.uid_ascending = true;
  inv.used_user_flags = {};
  for (const auto& r : inv.live) {
    inv.uid_ascending = inv.uid_ascending && (&r == &inv.live.front() || (&r)[-1].uid <= r.uid);
    for (std::size_t w = 0; w < 4; ++w) inv.used_user_flags[w] |= r.user_flags[w];
    if (opt.each_live) opt.each_live(r);
  }
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

// The findings of the live records whose file is missing and of the files no record names,
// with their UID lists; files named by a live record counted.
void account_files(const MailboxRef& mb, MailboxInventory& inv, const IndexPass& pass,
                   const std::vector<std::uint32_t>& expunged_uids) {
  const fs::path& dir = mb.dir;
  for (const auto& [uid, archived] : pass.missing) {
    ++inv.missing_files;
    inv.missing_uids.push_back(uid);
    inv.findings.push_back(make_finding(Finding::Severity::error, "message_file_missing",
                                        dir / (std::to_string(uid) + "."), 0, uid,
                                        archived ? (mb.archive_dir.empty()
                                                        ? "the index marks the message ARCHIVED: its file is on the "
                                                          "archive partition, which was not given (--archive-partition)"
                                                        : "the index marks the message ARCHIVED but its file is "
                                                          "missing from the spool and the archive partition")
                                                 : "the index lists a live message but its file is missing"));
  }
  std::sort(inv.missing_uids.begin(), inv.missing_uids.end());
  const std::vector<std::uint32_t>& live = pass.live_uids;  // sorted by now
  auto is_live = [&](std::uint32_t uid) { return std::binary_search(live.begin(), live.end(), uid); };
  for (std::uint32_t uid : pass.files) {
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
    inv.orphan_uids.push_back(uid);
    inv.findings.push_back(make_finding(Finding::Severity::warning, "orphan_message_file", dir / (std::to_string(uid) + "."),
                                        0, uid, "message file with no record in cyrus.index or cyrus.expunge"));
  }
  for (std::uint32_t uid : pass.archived_files)
    if (is_live(uid)) ++inv.listed_files;
}

MailboxInventory read_inventory(const MailboxRef& mb, const SeenState& seen, const InventoryOptions& opt) {
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

  const fs::path index_path = dir / "cyrus.index";
  SourceOpen index_file = SourceOpen::map(index_path);
  if (index_file.status != SourceOpen::Status::ok) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unreadable", index_path, 0, 0, index_file.message));
    recover_inventory(mb, inv, mf, expunged_uids, index_file.message, opt);
    return inv;
  }
  IndexPass pass{mb, seen, opt, inv, mf.spool, mf.archive, {}, {}, {}, {}, false, false};
  MappedRelease window{index_file.file.bytes().data()};
  auto parsed = walk_cyrus_index(
      index_file.file.bytes(), index_path.string(),
      [&](const IndexRecord& r, std::uint64_t offset) {
        pass.record(r);
        window.release_before(offset);
      },
      [&](const IndexHeader& h, std::size_t records) { pass.header(h, records); });
  if (!parsed) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unreadable", index_path, parsed.error().offset, 0,
                                        parsed.error().message));
    recover_inventory(mb, inv, mf, expunged_uids, parsed.error().message, opt);
    return inv;
  }
  if (!inv.uid_ascending) std::sort(pass.live_uids.begin(), pass.live_uids.end());
  IndexWalk& index = parsed.value();
  if (std::string why = unusable_index(mb, index.header, pass.any_record_crc_ok, pass.live_uids, mf.spool); !why.empty()) {
    inv.findings.push_back(make_finding(Finding::Severity::error, "index_unusable", index_path, 0, 0, why));
    recover_inventory(mb, inv, mf, expunged_uids, why, opt);
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
  hand_over_deferred(index_file.file, index_path, pass);

  expunged_uids.insert(expunged_uids.end(), pass.expunged.begin(), pass.expunged.end());
  std::vector<std::uint32_t>().swap(pass.expunged);
  std::sort(expunged_uids.begin(), expunged_uids.end());
  expunged_uids.erase(std::unique(expunged_uids.begin(), expunged_uids.end()), expunged_uids.end());
  account_files(mb, inv, pass, expunged_uids);
  inv.seen_source = pass.seen_source.name;
  if (pass.seen_source.problem) inv.findings.push_back(std::move(*pass.seen_source.problem));
  inv.live_count = pass.live_uids.size();
  return inv;
}

}  // namespace

MailboxInventory inventory_mailbox(const MailboxRef& mb, const SeenState& seen, const InventoryOptions& options) {
  try {
    return read_inventory(mb, seen, options);
  } catch (const std::exception&) {
    rethrow_naming_mailbox(&mb);
  }
}

LiveRecords reload_live_records(const MailboxRef& mb, const SeenState& seen, const MailboxInventory& planned) {
  LiveRecords out;
  LiveRecordReader reader(mb, seen, planned);
  out.live.reserve(planned.live_count);
  std::vector<IndexRecord> window;
  while (reader.next(window)) out.live.insert(out.live.end(), window.begin(), window.end());
  if (!reader.error().empty()) {
    out.error = reader.error();
    std::vector<IndexRecord>().swap(out.live);
  }
  return out;
}

}  // namespace cyrconv
