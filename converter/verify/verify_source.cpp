// The source side of a folder's check: the messages convert saw, made one at a time, and the
// file reading every check shares.
#include <sys/stat.h>

#include <algorithm>

#include "converter/verify/verify_folder.h"
#include "converter/source/live_records.h"
#include "writers/maildir.h"

namespace cyrconv::verify {

Finding error(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail) {
  return Finding{Finding::Severity::error, std::move(kind), file.string(), 0, uid, std::move(detail)};
}
Finding info(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail) {
  return Finding{Finding::Severity::info, std::move(kind), file.string(), 0, uid, std::move(detail)};
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string uid_text(std::uint32_t uid) { return "UID " + std::to_string(uid); }

void count(VerifyCounts& k, Outcome o) {
  switch (o) {
    case Outcome::verified: ++k.verified; break;
    case Outcome::quarantined: ++k.quarantined; break;
    case Outcome::listed_missing: ++k.listed_missing; break;
    case Outcome::skipped_deleted: ++k.skipped_deleted; break;
    case Outcome::not_converted: ++k.not_converted; break;
    case Outcome::mismatched: ++k.mismatched; break;
    case Outcome::lost: ++k.lost; break;
  }
}

std::string read_file_chunks(const fs::path& p, Worker& w, std::uint64_t& bytes_read,
                             const std::function<void(std::string_view)>& sink) {
  SourceStream s = w.prefetch.stream(p, w.buffer, sink);  // read directly when not read ahead
  bytes_read += s.bytes;
  if (s.status == SourceOpen::Status::ok) return {};
  return s.message.empty() ? p.string() + ": cannot read" : s.message;
}

std::optional<std::string> read_small(const fs::path& p, Worker& w, std::uint64_t& bytes_read) {
  std::string text;
  if (!read_file_chunks(p, w, bytes_read, [&](std::string_view c) { text.append(c); }).empty()) return std::nullopt;
  return text;
}

std::optional<Digest> hash_file(const fs::path& p, bool lf_to_crlf, Worker& w, std::uint64_t& bytes_read,
                                std::string& why) {
  w.sha.reset(lf_to_crlf);
  why = read_file_chunks(p, w, bytes_read, [&](std::string_view c) { w.sha.feed(c); });
  const Digest d = w.sha.finish();
  if (!why.empty()) return std::nullopt;
  return d;
}

std::optional<Digest> FolderContext::hash(const fs::path& p, bool lf_to_crlf, std::string& why, std::uint64_t* size,
                                          std::uint64_t* vsize) {
  if (ready)
    for (std::size_t i = 0; i < ready->n; ++i) {
      HashResult& h = ready->items[i];
      if (h.used || h.lf_to_crlf != lf_to_crlf || h.path.native() != p.native()) continue;
      h.used = true;
      job.out.bytes_read += h.bytes_read;
      why = h.why;
      if (size) *size = h.size;
      if (vsize) *vsize = h.vsize;
      return h.digest;
    }
  auto d = hash_file(p, lf_to_crlf, w, job.out.bytes_read, why);
  if (size) *size = w.sha.size();
  if (vsize) *vsize = w.sha.vsize();
  return d;
}

std::optional<Digest> FolderContext::source_sha1(const SourceMessage& m) {
  if (m.guid) return m.guid;
  std::string why;
  auto d = hash(m.file, false, why);
  if (!d) add(error("source_unreadable", m.file, m.uid, why));
  return d;
}

// Whether the folder's records are read again from the index as they are checked (in UID
// order already) rather than held.
bool streamed(const FolderContext& c) { return !c.job.recovery && c.inv.live.size() != c.inv.live_count; }

void prepare_source(FolderContext& c) {
  // Orphans are checked in the order of their spool UIDs (the manifest's order); each keeps the
  // output UID its place in the recovery folder gives it. Streamed records are in UID order.
  if (!streamed(c)) {
    auto uid_at = [&](std::size_t i) { return c.job.recovery ? c.orphans[i] : c.inv.live[i].uid; };
    const std::size_t n = source_count(c);
    bool sorted = true;
    for (std::size_t i = 1; i < n && sorted; ++i) sorted = uid_at(i - 1) <= uid_at(i);
    if (!sorted) {
      c.order.resize(n);
      for (std::size_t i = 0; i < n; ++i) c.order[i] = static_cast<std::uint32_t>(i);
      std::stable_sort(c.order.begin(), c.order.end(), [&](std::uint32_t a, std::uint32_t b) { return uid_at(a) < uid_at(b); });
    }
  }
  c.job.marks.reserve(source_count(c));  // at most one a message: not grown by doubling
  if (c.job.recovery) return;
  c.keywords = plan_keywords(c.inv);
}

std::size_t source_count(const FolderContext& c) { return c.job.recovery ? c.orphans.size() : c.inv.live_count; }

namespace {

void make_orphan(FolderContext& c, std::size_t i, SourceMessage& m) {
  m.uid = static_cast<std::uint32_t>(i + 1);
  m.source_uid = c.orphans[i];
  m.file = c.mailbox.dir / (std::to_string(m.source_uid) + ".");
  // An orphan has no record: Cyrus set its file's mtime to the INTERNALDATE on append.
  struct stat st {};
  if (::lstat(m.file.c_str(), &st) == 0) {
    m.internaldate = st.st_mtime;
    m.size = static_cast<std::uint64_t>(st.st_size);
  }
}

void make_live(FolderContext& c, const IndexRecord& r, SourceMessage& m) {
  m.uid = m.source_uid = r.uid;
  m.record = &r;
  m.file = message_file_path(c.mailbox, r);
  m.flags = converted_system_flags(r.system_flags);
  m.keywords = record_keywords(r, c.inv);
  if (c.letters_from_file) {
    // After an incremental run: the letters the keywords file gives each keyword.
    for (const auto& k : m.keywords)
      for (const auto& [l, k2] : *c.letters_from_file)
        if (k2 == k) m.letters += l;
  } else {
    m.letters = record_keyword_letters(r, c.keywords);
  }
  std::sort(m.letters.begin(), m.letters.end());
  m.internaldate = r.internaldate;
  m.size = r.size;
  m.file_missing = c.inv.missing(r.uid);
  if (c.inv.header.minor_version >= 10 && r.has_guid()) m.guid = r.guid;
}

}  // namespace

void for_each_source_message(FolderContext& c, const std::function<void(const SourceMessage&)>& fn) {
  std::uint32_t previous = 0;
  std::size_t k = 0;
  auto each_live = [&](const IndexRecord& r) {
    SourceMessage m;
    make_live(c, r, m);
    m.duplicate = k++ > 0 && m.uid == previous;
    previous = m.uid;
    fn(m);
  };
  if (streamed(c)) {
    // A window of records at a time (verify.cpp checked the index still matches the plan).
    LiveRecordReader reader(c.mailbox, *c.seen, c.inv);
    std::vector<IndexRecord> window;
    while (reader.next(window))
      for (const auto& r : window) each_live(r);
    if (!reader.error().empty()) c.add(error("source_changed", c.mailbox.dir, 0, reader.error()));
    return;
  }
  const std::size_t n = source_count(c);
  for (std::size_t j = 0; j < n; ++j) {
    const std::size_t i = c.order.empty() ? j : c.order[j];
    if (c.job.recovery) {
      SourceMessage m;
      make_orphan(c, i, m);
      previous = m.uid;
      fn(m);
    } else {
      each_live(c.inv.live[i]);
    }
  }
}

}  // namespace cyrconv::verify
