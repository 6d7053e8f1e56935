// cyrus.index / cyrus.expunge reader for minor versions 0-10 and 12-20
// (docs/cyrus-on-disk.md 2.1-2.7 and 3; imap/index_file.c @ cyrus-imapd-3.13.7).
//
// Each version is described by a table of field offsets. A field is read only when it lies
// inside the file's own start_offset (header) or record_size (record); Cyrus treats missing
// fields as 0. The record loop is a straight pass over fixed-size records.
#include "parsers/cyrus_index.h"

#include <algorithm>
#include <string>

namespace cyrconv {

namespace {

constexpr int absent = -1;
constexpr std::uint64_t ns_per_second = 1000000000ull;

// Where the header fields a converter needs live in one minor version.
struct HeaderLayout {
  std::uint32_t nominal_size;  // v12+: the exact start_offset Cyrus requires
  int last_appenddate;         // u32 seconds, or u64 ns when times_ns
  int last_uid;
  int quota_used;              // u32 (quota_is_u64 false) or u64
  bool quota_is_u64;
  int uidvalidity;
  int options;
  bool options_is_pop3_flag;   // v4-v7: the word is pop3_new_uidl (0/1), mapped to bit 0
  int highestmodseq;           // u64
  int exists;                  // v12+; absent = the record count at 20
  int header_file_crc;
  int recentuid;
  int crc;                     // the header's own CRC32 (v12+)
  bool times_ns;               // v20
};

// Where the record fields live in one minor version.
struct RecordLayout {
  std::uint32_t nominal_size;
  int internaldate;   // u32 seconds, or u64 ns when times_ns
  int size;           // u32, or u64 when size_is_u64
  bool size_is_u64;
  int header_size;
  int system_flags;
  int user_flags;     // 4 x u32
  int guid;           // 20 bytes (v10, v12+)
  int modseq;         // u64
  int crc;            // record CRC32 over the bytes before it (v12+)
  bool times_ns;
};

constexpr HeaderLayout header_v0_v2{44, 24, 28, 32, false, 40, absent, false, absent, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v3{56, 24, 28, 32, false, 40, absent, false, absent, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v4_v5{76, 24, 28, 32, false, 40, 56, true, absent, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v6_v7{76, 24, 28, 32, true, 44, 60, true, absent, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v8{92, 24, 28, 32, true, 44, 60, false, 68, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v9_v10{96, 24, 28, 32, true, 44, 60, false, 68, absent, absent, absent, absent, false};
constexpr HeaderLayout header_v12_v13{128, 24, 28, 32, true, 44, 60, false, 68, 84, 96, 104, 124, false};
constexpr HeaderLayout header_v14_v18{160, 24, 28, 32, true, 44, 60, false, 68, 84, 96, 104, 156, false};
constexpr HeaderLayout header_v19{160, 24, 28, 32, true, 44, 64, false, 72, 60, 96, 104, 156, false};
constexpr HeaderLayout header_v20{192, 24, 88, 32, true, 92, 64, false, 72, 60, 96, 184, 188, true};

constexpr RecordLayout record_v0_v4{52, 4, 12, false, 16, 32, 36, absent, absent, absent, false};
constexpr RecordLayout record_v5{56, 4, 12, false, 16, 32, 36, absent, absent, absent, false};
constexpr RecordLayout record_v6{60, 4, 12, false, 16, 32, 36, absent, absent, absent, false};
// v7-v9 carry a 12-byte replication UUID at 60; it is not a SHA-1, so no guid is read.
constexpr RecordLayout record_v7{72, 4, 12, false, 16, 32, 36, absent, absent, absent, false};
constexpr RecordLayout record_v8_v9{80, 4, 12, false, 16, 32, 36, absent, 72, absent, false};
constexpr RecordLayout record_v10{88, 4, 12, false, 16, 32, 36, 60, 80, absent, false};
constexpr RecordLayout record_v12{96, 4, 12, false, 16, 32, 36, 60, 80, 92, false};
constexpr RecordLayout record_v13_v15{104, 4, 12, false, 16, 32, 36, 60, 80, 100, false};
constexpr RecordLayout record_v16_v19{112, 4, 12, false, 16, 32, 36, 60, 80, 108, false};
constexpr RecordLayout record_v20{144, 8, 24, true, 32, 36, 40, 60, 80, 140, true};

struct VersionLayout {
  const HeaderLayout* header;
  const RecordLayout* record;
};

VersionLayout layout_for(std::uint32_t minor) {
  switch (minor) {
    case 0: case 1: case 2: return {&header_v0_v2, &record_v0_v4};
    case 3: return {&header_v3, &record_v0_v4};
    case 4: return {&header_v4_v5, &record_v0_v4};
    case 5: return {&header_v4_v5, &record_v5};
    case 6: return {&header_v6_v7, &record_v6};
    case 7: return {&header_v6_v7, &record_v7};
    case 8: return {&header_v8, &record_v8_v9};
    case 9: return {&header_v9_v10, &record_v8_v9};
    case 10: return {&header_v9_v10, &record_v10};
    case 12: return {&header_v12_v13, &record_v12};
    case 13: return {&header_v12_v13, &record_v13_v15};
    case 14: case 15: return {&header_v14_v18, &record_v13_v15};
    case 16: case 17: case 18: return {&header_v14_v18, &record_v16_v19};
    case 19: return {&header_v19, &record_v16_v19};
    case 20: return {&header_v20, &record_v20};
    default: return {nullptr, nullptr};
  }
}

// Readers for a field that may lie outside the area the file actually has.
struct Area {
  Bytes bytes;       // the header (start_offset bytes) or one record (record_size bytes)
  bool has(int off, int width) const {
    return off >= 0 && static_cast<std::size_t>(off) + static_cast<std::size_t>(width) <= bytes.size();
  }
  std::uint32_t u32(int off, std::uint32_t fallback = 0) const {
    return has(off, 4) ? load_be32(bytes, static_cast<std::size_t>(off)) : fallback;
  }
  std::uint64_t u64(int off) const { return has(off, 8) ? load_be64(bytes, static_cast<std::size_t>(off)) : 0; }
};

// Drops every field that does not fit inside `record_size`, so the hot loop tests only `>= 0`.
RecordLayout clip_to_record_size(RecordLayout l, std::uint32_t record_size) {
  auto clip = [&](int& off, int width) {
    if (off >= 0 && static_cast<std::uint64_t>(off) + static_cast<std::uint64_t>(width) > record_size) off = absent;
  };
  clip(l.internaldate, l.times_ns ? 8 : 4);
  clip(l.size, l.size_is_u64 ? 8 : 4);
  clip(l.header_size, 4);
  clip(l.system_flags, 4);
  clip(l.user_flags, 16);  // Cyrus reads the four words as a group; a partial group is garbage
  clip(l.guid, 20);
  clip(l.modseq, 8);
  clip(l.crc, 4);
  return l;
}

std::int64_t seconds_from(std::uint64_t raw, bool ns) {
  return static_cast<std::int64_t>(ns ? raw / ns_per_second : raw);
}

template <class Index>
void add_problem(Index& idx, IndexProblem::Kind kind, std::uint64_t offset, std::uint32_t uid,
                 std::string detail) {
  idx.problems.push_back(IndexProblem{kind, offset, uid, std::move(detail)});
}

IndexHeader read_header(Bytes head, std::uint32_t minor, const HeaderLayout& l) {
  const Area a{head};
  IndexHeader h;
  h.minor_version = minor;
  h.format = a.u32(4);
  h.start_offset = a.u32(12);
  h.record_size = a.u32(16);
  h.num_records = a.u32(20);
  h.last_appenddate = static_cast<std::uint64_t>(
      seconds_from(l.times_ns ? a.u64(l.last_appenddate) : a.u32(l.last_appenddate), l.times_ns));
  h.last_uid = a.u32(l.last_uid);
  h.quota_used = l.quota_is_u64 ? a.u64(l.quota_used) : a.u32(l.quota_used);
  h.uidvalidity = a.u32(l.uidvalidity, 1);
  if (l.options_is_pop3_flag)
    h.options = a.u32(l.options) != 0 ? index_option_pop3_new_uidl : 0;
  else
    h.options = a.u32(l.options);
  h.highestmodseq = a.u64(l.highestmodseq);
  h.exists = l.exists == absent ? h.num_records : a.u32(l.exists);
  h.header_file_crc = a.u32(l.header_file_crc);
  h.recentuid = a.u32(l.recentuid);
  h.has_crcs = l.crc != absent;
  if (h.has_crcs) {
    const auto crc_at = static_cast<std::size_t>(l.crc);
    h.header_crc_ok = a.has(l.crc, 4) && crc32_of(head.substr(0, crc_at)) == load_be32(head, crc_at);
  }
  return h;
}

bool record_crc_matches(Bytes rec, int crc_off) {
  const auto at = static_cast<std::size_t>(crc_off);
  return crc32_of(rec.substr(0, at)) == load_be32(rec, at);
}

// Some Cyrus 3.13 development builds wrote v19 headers with 144-byte records. Cyrus reads them
// with the v19 record layout; if that CRC fails but the v20 one matches, the records are v20.
const RecordLayout& pick_v19_wide_layout(Bytes data, std::size_t start, std::size_t count) {
  if (count == 0) return record_v16_v19;
  const Bytes first = data.substr(start, record_v20.nominal_size);
  if (!record_crc_matches(first, record_v16_v19.crc) && record_crc_matches(first, record_v20.crc))
    return record_v20;
  return record_v16_v19;
}

// One record's fields at the places `r` gives (a field the version lacks keeps its default).
IndexRecord decode_record(Bytes rec, const RecordLayout& r, std::uint32_t minor, const IndexHeader& h) {
  IndexRecord out;
  out.uid = load_be32(rec, 0);
  if (r.internaldate >= 0) {
    const auto at = static_cast<std::size_t>(r.internaldate);
    out.internaldate = r.times_ns ? seconds_from(load_be64(rec, at), true) : load_be32(rec, at);
  }
  if (r.size >= 0) {
    const auto at = static_cast<std::size_t>(r.size);
    out.size = r.size_is_u64 ? load_be64(rec, at) : load_be32(rec, at);
  }
  if (r.header_size >= 0) out.header_size = load_be32(rec, static_cast<std::size_t>(r.header_size));
  if (r.system_flags >= 0) out.system_flags = load_be32(rec, static_cast<std::size_t>(r.system_flags));
  if (r.user_flags >= 0)
    for (std::size_t w = 0; w < 4; ++w) out.user_flags[w] = load_be32(rec, static_cast<std::size_t>(r.user_flags) + 4 * w);
  if (r.guid >= 0)
    std::copy_n(reinterpret_cast<const std::uint8_t*>(rec.data()) + r.guid, out.guid.size(), out.guid.begin());
  if (r.modseq >= 0) {
    out.modseq = load_be64(rec, static_cast<std::size_t>(r.modseq));
    // Cyrus 3.0 (reconstruct -V 8/9) wrote the modseq as a u32 into the high half of the
    // u64 at 72 (seen in the real version9 test mailbox); a modseq above highestmodseq with
    // a zero low word can only be that.
    if (minor <= 9 && out.modseq > h.highestmodseq && (out.modseq & 0xffffffffu) == 0) out.modseq >>= 32;
  }
  return out;
}

// What a walk needs before its first record: the header, the record layout, how many complete
// counted records there are, and the problems of the file as a whole.
struct PreparedWalk {
  IndexWalk idx;
  RecordLayout r{};
  std::uint32_t minor = 0, start_offset = 0, record_size = 0, count = 0;
  std::size_t usable = 0;
  const HeaderLayout* header_layout = nullptr;
};

Result<PreparedWalk> prepare_walk(Bytes data, std::string_view file) {
  constexpr std::size_t base_header_size = 24;  // the fields every version has
  if (data.size() < base_header_size)
    return parse_error(file, data.size(),
                       "index header truncated: need at least 24 bytes, file has " + std::to_string(data.size()));
  const std::uint32_t format = load_be32(data, 4);
  const std::uint32_t minor = load_be32(data, 8);
  const std::uint32_t start_offset = load_be32(data, 12);
  const std::uint32_t record_size = load_be32(data, 16);
  const std::uint32_t count = load_be32(data, 20);
  if (format != 0)
    return parse_error(file, 4, "expected format 0 (normal mailbox), found " + std::to_string(format));
  const VersionLayout layout = layout_for(minor);
  if (!layout.header)
    return parse_error(file, 8, "unsupported minor version " + std::to_string(minor) +
                                    " (expected 0-10 or 12-20)");

  bool wide_v19 = false;
  if (minor >= 12) {
    if (start_offset != layout.header->nominal_size)
      return parse_error(file, 12, "expected start_offset " + std::to_string(layout.header->nominal_size) +
                                       " for minor version " + std::to_string(minor) + ", found " +
                                       std::to_string(start_offset));
    wide_v19 = minor == 19 && record_size == record_v20.nominal_size;
    if (record_size != layout.record->nominal_size && !wide_v19)
      return parse_error(file, 16, "expected record_size " + std::to_string(layout.record->nominal_size) +
                                       " for minor version " + std::to_string(minor) + ", found " +
                                       std::to_string(record_size));
  } else {
    // Files never upgraded may be shorter than their version's nominal sizes (2.7 step 5).
    if (start_offset < 36 || start_offset > 96)
      return parse_error(file, 12, "expected start_offset between 36 and 96, found " + std::to_string(start_offset));
    if (record_size < 52 || record_size > 88)
      return parse_error(file, 16, "expected record_size between 52 and 88, found " + std::to_string(record_size));
  }
  if (data.size() < start_offset)
    return parse_error(file, data.size(), "index header truncated: start_offset is " + std::to_string(start_offset) +
                                              ", file has " + std::to_string(data.size()) + " bytes");

  IndexWalk idx;
  idx.header = read_header(data.substr(0, start_offset), minor, *layout.header);
  IndexHeader& h = idx.header;
  if (h.has_crcs && !h.header_crc_ok)
    add_problem(idx, IndexProblem::Kind::header_crc_mismatch, static_cast<std::uint64_t>(layout.header->crc), 0,
                "index header CRC32 does not match bytes 0-" + std::to_string(layout.header->crc - 1));

  // Only complete records count; never reserve more than the file can hold.
  const std::size_t available = (data.size() - start_offset) / record_size;
  const std::size_t usable = std::min<std::size_t>(count, available);
  const std::size_t counted_end = start_offset + usable * static_cast<std::size_t>(record_size);
  if (usable < count)
    add_problem(idx, IndexProblem::Kind::truncated, counted_end, 0,
                "header counts " + std::to_string(count) + " records, file holds " + std::to_string(usable) +
                    " complete ones");
  else if (data.size() > counted_end)
    add_problem(idx, IndexProblem::Kind::trailing_garbage, counted_end, 0,
                std::to_string(data.size() - counted_end) + " bytes after the last counted record");

  const RecordLayout* record_layout = layout.record;
  if (wide_v19) {
    record_layout = &pick_v19_wide_layout(data, start_offset, usable);
    add_problem(idx, IndexProblem::Kind::suspect_layout, 16, 0,
                std::string("minor version 19 header with 144-byte records; read with the ") +
                    (record_layout == &record_v20 ? "v20" : "v19") + " record layout");
  }
  PreparedWalk p;
  p.r = clip_to_record_size(*record_layout, record_size);
  p.minor = minor;
  p.start_offset = start_offset;
  p.record_size = record_size;
  p.count = count;
  p.usable = usable;
  p.header_layout = layout.header;
  idx.records = usable;
  p.idx = std::move(idx);
  return p;
}

// Record i of a prepared walk, its CRC checked.
IndexRecord record_at(Bytes data, const PreparedWalk& p, std::size_t i, std::size_t& offset) {
  offset = p.start_offset + i * static_cast<std::size_t>(p.record_size);
  const Bytes rec = data.substr(offset, p.record_size);
  IndexRecord out = decode_record(rec, p.r, p.minor, p.idx.header);
  if (p.r.crc >= 0 && !record_crc_matches(rec, p.r.crc)) out.crc_ok = false;
  return out;
}

Result<IndexWalk> walk_index_file(Bytes data, std::string_view file, bool check_ascending, const IndexRecordSink& sink,
                                  const IndexHeaderSink& on_header) {
  auto prepared = prepare_walk(data, file);
  if (!prepared) return prepared.error();
  PreparedWalk& p = prepared.value();
  IndexWalk& idx = p.idx;
  const IndexHeader& h = idx.header;
  const std::size_t usable = p.usable;
  const std::uint32_t minor = p.minor, count = p.count;
  if (on_header) on_header(h, usable);
  std::uint32_t previous_uid = 0;
  std::uint32_t live = 0;
  for (std::size_t i = 0; i < usable; ++i) {
    std::size_t offset = 0;
    IndexRecord out = record_at(data, p, i, offset);
    if (!out.crc_ok) {
      add_problem(idx, IndexProblem::Kind::record_crc_mismatch, offset, out.uid, "record CRC32 does not match");
    }

    if (out.uid == 0)
      add_problem(idx, IndexProblem::Kind::uid_zero, offset, 0, "record " + std::to_string(i + 1) + " has UID 0");
    else if (out.uid > h.last_uid)
      add_problem(idx, IndexProblem::Kind::uid_above_last_uid, offset, out.uid,
                  "UID " + std::to_string(out.uid) + " above last_uid " + std::to_string(h.last_uid));
    if (check_ascending && i > 0 && out.uid <= previous_uid)
      add_problem(idx, IndexProblem::Kind::uid_not_ascending, offset, out.uid,
                  "UID " + std::to_string(out.uid) + " follows UID " + std::to_string(previous_uid));
    previous_uid = out.uid;
    if (out.live()) ++live;
    sink(out, offset);
  }

  // Only v12+ keep expunged records in the index, so only there does `exists` differ from the count.
  if (minor >= 12 && usable == count && live != h.exists)
    add_problem(idx, IndexProblem::Kind::exists_mismatch, static_cast<std::uint64_t>(p.header_layout->exists), 0,
                "header exists " + std::to_string(h.exists) + ", live records " + std::to_string(live));
  return std::move(idx);
}

}  // namespace

bool IndexRecord::has_guid() const {
  return std::any_of(guid.begin(), guid.end(), [](std::uint8_t b) { return b != 0; });
}

const char* to_string(IndexProblem::Kind kind) {
  switch (kind) {
    case IndexProblem::Kind::header_crc_mismatch: return "header_crc_mismatch";
    case IndexProblem::Kind::record_crc_mismatch: return "record_crc_mismatch";
    case IndexProblem::Kind::truncated: return "truncated";
    case IndexProblem::Kind::trailing_garbage: return "trailing_garbage";
    case IndexProblem::Kind::uid_zero: return "uid_zero";
    case IndexProblem::Kind::uid_not_ascending: return "uid_not_ascending";
    case IndexProblem::Kind::uid_above_last_uid: return "uid_above_last_uid";
    case IndexProblem::Kind::exists_mismatch: return "exists_mismatch";
    case IndexProblem::Kind::suspect_layout: return "suspect_layout";
  }
  return "unknown";
}

namespace {

Result<CyrusIndex> parse_index_file(Bytes data, std::string_view file, bool check_ascending) {
  CyrusIndex idx;
  auto walked = walk_index_file(
      data, file, check_ascending, [&](const IndexRecord& r, std::uint64_t) { idx.records.push_back(r); },
      [&](const IndexHeader&, std::size_t records) { idx.records.reserve(records); });
  if (!walked) return walked.error();
  idx.header = walked.value().header;
  idx.problems = std::move(walked.value().problems);
  return idx;
}

}  // namespace

Result<CyrusIndex> parse_cyrus_index(Bytes data, std::string_view file) {
  return parse_index_file(data, file, /*check_ascending=*/true);
}

Result<CyrusIndex> parse_cyrus_expunge(Bytes data, std::string_view file) {
  return parse_index_file(data, file, /*check_ascending=*/false);
}

Result<IndexWalk> walk_cyrus_index(Bytes data, std::string_view file, const IndexRecordSink& sink,
                                   const IndexHeaderSink& on_header) {
  return walk_index_file(data, file, /*check_ascending=*/true, sink, on_header);
}

Result<IndexWalk> walk_cyrus_expunge(Bytes data, std::string_view file, const IndexRecordSink& sink,
                                     const IndexHeaderSink& on_header) {
  return walk_index_file(data, file, /*check_ascending=*/false, sink, on_header);
}

Result<IndexWalk> walk_cyrus_index_range(Bytes data, std::string_view file, std::size_t first, std::size_t count,
                                         const IndexRecordSink& sink) {
  auto prepared = prepare_walk(data, file);
  if (!prepared) return prepared.error();
  PreparedWalk& p = prepared.value();
  const std::size_t end = std::min(p.usable, first + std::min(count, p.usable));
  for (std::size_t i = first; i < end; ++i) {
    std::size_t offset = 0;
    const IndexRecord out = record_at(data, p, i, offset);
    sink(out, offset);
  }
  return std::move(p.idx);
}

}  // namespace cyrconv
