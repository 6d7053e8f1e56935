#include "converter/source/live_records.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "converter/source/inventory.h"

namespace cyrconv {

namespace fs = std::filesystem;

void MappedRelease::release_before(std::uint64_t end) {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  constexpr std::size_t window = 1u << 20;
  const std::size_t upto = static_cast<std::size_t>(end) / page * page;
  if (!base || upto < released + window) return;
  ::madvise(const_cast<char*>(base) + released, upto - released, MADV_DONTNEED);
  released = upto;
}

SeenSource resolve_seen(const MailboxRef& mb, const IndexHeader& header, const SeenState& seen) {
  SeenSource s;
  const bool shared_seen = header.options & index_option_shared_seen;
  if (header.minor_version >= 12) {
    s.name = shared_seen ? "index (shared seen)" : "index";
    return s;
  }
  // Before 2.4 the index holds no \Seen: the owner's seen db (or "anyone" for shared seen),
  // else a leftover 1.x cyrus.seen in the mailbox directory.
  s.from_index = false;
  const auto* db = shared_seen ? seen.anyone : seen.owner;
  if (db && !mb.unique_id.empty()) {
    if (auto it = db->find(mb.unique_id); it != db->end()) {
      s.db = &it->second.seen;
      s.name = shared_seen ? "seen_db (anyone)" : "seen_db";
      return s;
    }
  }
  const fs::path path = mb.dir / "cyrus.seen";
  SourceOpen f = SourceOpen::map(path);
  if (f.status == SourceOpen::Status::ok) {
    auto parsed = parse_cyrus_seen_file(f.file.bytes(), path.string());
    if (!parsed) {
      s.problem = Finding{Finding::Severity::error, "seen_unreadable", path.string(), parsed.error().offset, 0,
                          parsed.error().message};
    } else {
      const std::string owner = mb.name.owner();
      for (auto& e : parsed.value()) {
        if (e.key == owner || (shared_seen && e.key == "anyone")) {
          s.file = std::move(e.seen);
          s.name = "cyrus.seen";
          return s;
        }
      }
    }
  }
  s.name = "none";
  return s;
}

LiveRecordReader::LiveRecordReader(const MailboxRef& mb, const SeenState& seen, const MailboxInventory& planned)
    : mailbox_(mb), planned_(planned) {
  if (planned.recovered) {
    // Rebuilt from the files again: the same records unless the directory changed.
    recovered_mode_ = true;
    MailboxInventory again = inventory_mailbox(mb, seen);
    if (!again.recovered || again.live.size() != planned.live_count || again.header.last_uid != planned.header.last_uid)
      error_ = mb.dir.string() + ": the message files changed since they were first listed (" +
               std::to_string(planned.live_count) + " then, " + std::to_string(again.live.size()) +
               " now): the source must be a snapshot no one writes to";
    else
      recovered_ = std::move(again.live);
    return;
  }
  const fs::path index_path = mb.dir / "cyrus.index";
  file_ = SourceOpen::map(index_path);
  if (file_.status != SourceOpen::Status::ok) {
    error_ = file_.message;
    return;
  }
  auto head = walk_cyrus_index_range(file_.file.bytes(), index_path.string(), 0, 0, [](const IndexRecord&, std::uint64_t) {});
  if (!head) {
    error_ = index_path.string() + ": " + head.error().message;
    return;
  }
  const IndexHeader& now = head.value().header;
  const IndexHeader& was = planned.header;
  if (now.uidvalidity != was.uidvalidity || now.last_uid != was.last_uid || now.num_records != was.num_records) {
    error_ = index_path.string() + ": changed since it was first read (UIDVALIDITY " + std::to_string(was.uidvalidity) +
             ", last UID " + std::to_string(was.last_uid) + ", " + std::to_string(planned.live_count) +
             " live records then; " + std::to_string(now.uidvalidity) + ", " + std::to_string(now.last_uid) +
             ", header counts " + std::to_string(now.num_records) + " records now): the source must be a snapshot no one writes to";
    return;
  }
  records_ = head.value().records;
  release_.base = file_.file.bytes().data();
  seen_ = resolve_seen(mb, now, seen);
}

bool LiveRecordReader::next(std::vector<IndexRecord>& out, std::size_t max) {
  out.clear();
  if (!error_.empty() || max == 0) return false;
  if (recovered_mode_) {
    const std::size_t n = std::min(max, recovered_.size() - at_);
    out.assign(recovered_.begin() + static_cast<std::ptrdiff_t>(at_), recovered_.begin() + static_cast<std::ptrdiff_t>(at_ + n));
    at_ += n;
    if (at_ == recovered_.size()) std::vector<IndexRecord>().swap(recovered_), at_ = 0;
    return !out.empty();
  }
  const fs::path index_path = mailbox_.dir / "cyrus.index";
  while (out.size() < max && at_ < records_) {
    const std::size_t want = std::min(records_ - at_, max - out.size());
    std::uint64_t end = 0;
    auto walked = walk_cyrus_index_range(file_.file.bytes(), index_path.string(), at_, want,
                                         [&](const IndexRecord& r, std::uint64_t offset) {
                                           end = offset;
                                           if (!r.live()) return;
                                           out.push_back(r);
                                           seen_.apply(out.back());
                                         });
    if (!walked) {
      error_ = index_path.string() + ": " + walked.error().message;
      out.clear();
      return false;
    }
    at_ += want;
    release_.release_before(end);
  }
  live_ += out.size();
  if (at_ == records_ && out.empty() && live_ != planned_.live_count) {
    error_ = index_path.string() + ": changed since it was first read (" + std::to_string(planned_.live_count) +
             " live records then, " + std::to_string(live_) + " now): the source must be a snapshot no one writes to";
    return false;
  }
  return !out.empty();
}

std::string for_each_live_window(const MailboxRef& mb, const SeenState& seen, const MailboxInventory& planned,
                                 bool by_uid, const std::function<void(const std::vector<IndexRecord>&)>& each,
                                 std::size_t window) {
  const auto by_uid_order = [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; };
  if (planned.live.size() == planned.live_count) {
    if (planned.live.empty()) return {};
    if (!by_uid || planned.uid_ascending) {
      each(planned.live);
    } else {
      std::vector<IndexRecord> sorted = planned.live;
      std::stable_sort(sorted.begin(), sorted.end(), by_uid_order);
      each(sorted);
    }
    return {};
  }
  if (by_uid && (planned.recovered || !planned.uid_ascending)) {
    // The reader gives index order only: read whole and sort.
    LiveRecords again = reload_live_records(mb, seen, planned);
    if (!again.error.empty()) return again.error;
    std::stable_sort(again.live.begin(), again.live.end(), by_uid_order);
    if (!again.live.empty()) each(again.live);
    return {};
  }
  LiveRecordReader reader(mb, seen, planned);
  std::vector<IndexRecord> records;
  while (reader.next(records, window)) each(records);
  return reader.error();
}

}  // namespace cyrconv
