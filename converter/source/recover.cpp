#include "converter/source/recover.h"

#include <algorithm>

#include "converter/source/inventory.h"
#include "converter/source/source_io.h"
#include "parsers/message_date.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// Enough for any real header section's Received: and Date: fields; a longer header falls back
// to the mtime for the fields beyond it.
constexpr std::size_t head_bytes = 64 * 1024;

}  // namespace

const char* to_string(IndexRecord::DateOrigin o) {
  switch (o) {
    case IndexRecord::DateOrigin::index: return "index";
    case IndexRecord::DateOrigin::received: return "received";
    case IndexRecord::DateOrigin::date: return "date";
    case IndexRecord::DateOrigin::mtime: return "mtime";
  }
  return "index";
}

RecoveredRecords recover_from_files(const MailboxRef& mb, const std::vector<std::uint32_t>& spool_files,
                                    const std::vector<std::uint32_t>& archived,
                                    const std::vector<std::uint32_t>& expunged, const std::string& why) {
  RecoveredRecords out;
  std::int64_t oldest_mtime = 0;
  std::uint64_t from_mtime = 0, expunged_kept_out = 0;
  std::vector<std::uint32_t> files = spool_files;
  for (std::uint32_t uid : archived)
    if (!std::binary_search(spool_files.begin(), spool_files.end(), uid)) files.push_back(uid);
  std::sort(files.begin(), files.end());
  for (std::uint32_t uid : files) {
    if (std::binary_search(expunged.begin(), expunged.end(), uid)) {
      ++expunged_kept_out;
      continue;
    }
    IndexRecord r;
    r.uid = uid;
    // A file only on the archive partition is read from there (message_file_path).
    if (!std::binary_search(spool_files.begin(), spool_files.end(), uid)) r.system_flags |= sysflag::archived;
    const fs::path path = message_file_path(mb, r);
    SourceHead h = read_source_head(path, head_bytes);
    if (h.status != SourceOpen::Status::ok) {
      // Kept as a record: convert reads it again and reports the same error for this UID.
      r.date_origin = IndexRecord::DateOrigin::mtime;
      out.live.push_back(r);
      continue;
    }
    r.size = h.size;
    if (h.mtime > 0 && (oldest_mtime == 0 || h.mtime < oldest_mtime)) oldest_mtime = h.mtime;
    if (auto d = message_header_date(h.head)) {
      r.internaldate = d->seconds;
      r.date_origin = d->source == HeaderDate::Source::received ? IndexRecord::DateOrigin::received
                                                                : IndexRecord::DateOrigin::date;
    } else {
      r.internaldate = h.mtime;
      r.date_origin = IndexRecord::DateOrigin::mtime;
      ++from_mtime;
    }
    out.bytes += r.size;
    out.live.push_back(r);
  }
  const std::uint32_t last_uid = files.empty() ? 0 : files.back();
  out.header.last_uid = last_uid;
  out.header.exists = static_cast<std::uint32_t>(out.live.size());
  out.header.num_records = out.header.exists;
  const fs::path index_path = mb.dir / "cyrus.index";
  if (mb.db_uidvalidity) {
    out.header.uidvalidity = mb.db_uidvalidity;
  } else {
    // Cyrus takes the time of day; the oldest message's mtime is one too, and stays the same
    // on every run over the same copy, so a re-run and verify agree with the first run.
    out.header.uidvalidity = oldest_mtime > 0 && oldest_mtime <= 0xffffffffLL ? static_cast<std::uint32_t>(oldest_mtime) : 1;
    out.findings.push_back(Finding{Finding::Severity::warning, "uidvalidity_new", index_path.string(), 0, 0,
                                   "no UIDVALIDITY in mailboxes.db and no usable index: UIDVALIDITY " +
                                       std::to_string(out.header.uidvalidity) +
                                       " (the oldest message file's mtime) is given to the rebuilt folder"});
  }
  std::string detail = "the index cannot be used (" + why + "): " + std::to_string(out.live.size()) +
                       " messages rebuilt from their files, UIDs from the file names, no flags (\\Seen, \\Answered, "
                       "\\Flagged, keywords are unknown without an index)";
  if (expunged.empty())
    detail += "; no readable cyrus.expunge either, so messages expunged but not yet removed from disk cannot be "
              "told apart and are recovered too";
  else
    detail += "; " + std::to_string(expunged_kept_out) + " files cyrus.expunge lists as expunged stay out";
  if (from_mtime) detail += "; " + std::to_string(from_mtime) + " INTERNALDATEs from the file's mtime (no Received: or Date:)";
  out.findings.push_back(
      Finding{Finding::Severity::warning, "recovered_without_index", index_path.string(), 0, 0, std::move(detail)});
  return out;
}

}  // namespace cyrconv
