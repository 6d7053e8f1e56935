#pragma once
// cyrus.index (every minor version 0-10 and 12-20) and cyrus.expunge (2.3, same layout).
// Layouts: ../shared/docs/cyrus-on-disk.md sections 1-3. Fields outside the file's own
// start_offset / record_size do not exist and read as 0 (uidvalidity as 1).
#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

namespace sysflag {
inline constexpr std::uint32_t answered = 1u << 0;
inline constexpr std::uint32_t flagged = 1u << 1;
inline constexpr std::uint32_t deleted = 1u << 2;
inline constexpr std::uint32_t draft = 1u << 3;
inline constexpr std::uint32_t seen = 1u << 4;  // owner's \Seen, written from v12 on
inline constexpr std::uint32_t archived = 1u << 29;
inline constexpr std::uint32_t unlinked = 1u << 30;
inline constexpr std::uint32_t expunged = 1u << 31;
}  // namespace sysflag

inline constexpr std::uint32_t index_option_pop3_new_uidl = 1u << 0;
inline constexpr std::uint32_t index_option_shared_seen = 1u << 2;
inline constexpr std::uint32_t index_option_deleted = 1u << 31;

struct IndexHeader {
  std::uint32_t minor_version = 0;
  std::uint32_t format = 0;           // 0 normal, 1 netnews
  std::uint32_t start_offset = 0;
  std::uint32_t record_size = 0;
  std::uint32_t num_records = 0;      // records the header counts (v<=10: = exists)
  std::uint32_t exists = 0;           // live messages the header claims
  std::uint32_t last_uid = 0;         // UIDNEXT = last_uid + 1
  std::uint32_t uidvalidity = 1;
  std::uint32_t options = 0;          // v8+ options; v4-v7 pop3_new_uidl as bit 0
  std::uint32_t recentuid = 0;        // v12+
  std::uint64_t last_appenddate = 0;  // seconds
  std::uint64_t quota_used = 0;       // bytes
  std::uint64_t highestmodseq = 0;
  std::uint32_t header_file_crc = 0;  // v12+: CRC32 the index expects of cyrus.header
  bool has_crcs = false;              // v12+
  bool header_crc_ok = true;          // v12+: the index header's own CRC matched
};

struct IndexRecord {
  std::uint32_t uid = 0;
  std::uint32_t system_flags = 0;
  std::array<std::uint32_t, 4> user_flags{};  // bit n of the 128 = user flag slot n
  std::int64_t internaldate = 0;              // seconds since the epoch, UTC
  std::uint64_t size = 0;                     // exact size of the message file
  std::uint32_t header_size = 0;
  std::uint64_t modseq = 0;
  std::array<std::uint8_t, 20> guid{};        // SHA-1 of the message file; all zero when absent
  bool crc_ok = true;                         // v12+: the record's CRC matched
  // index: read from cyrus.index. Otherwise the record was rebuilt from its message file,
  // without an index (converter/source/recover.h), and this says where INTERNALDATE came from.
  enum class DateOrigin : std::uint8_t { index, received, date, mtime };
  DateOrigin date_origin = DateOrigin::index;

  bool live() const { return (system_flags & sysflag::expunged) == 0; }
  bool has_guid() const;                      // any non-zero byte
  bool user_flag(unsigned n) const { return n < 128 && (user_flags[n >> 5] >> (n & 31)) & 1u; }
};

// Findings that do not stop parsing; the index stays usable.
struct IndexProblem {
  enum class Kind {
    header_crc_mismatch,      // v12+: header CRC wrong; whole index unreliable
    record_crc_mismatch,      // v12+: one record unreliable
    truncated,                // count promises more records than the file holds
    trailing_garbage,         // bytes after the last counted record
    uid_zero,
    uid_not_ascending,        // duplicate or out of order (cyrus.index only)
    uid_above_last_uid,
    exists_mismatch,          // v12+: live records != header exists
    suspect_layout,           // e.g. a v19 header with 144-byte records
  };
  Kind kind;
  std::uint64_t offset = 0;   // byte offset in the file
  std::uint32_t uid = 0;      // 0 when not about one record
  std::string detail;
};
const char* to_string(IndexProblem::Kind);

struct CyrusIndex {
  IndexHeader header;
  std::vector<IndexRecord> records;  // complete, counted records in file order
  std::vector<IndexProblem> problems;
};

// Refuses (ParseError) what cannot be read at all: too short, format != 0, minor 11 or > 20,
// start_offset/record_size out of range. Everything else is read and reported as problems.
Result<CyrusIndex> parse_cyrus_index(Bytes data, std::string_view file);
// cyrus.expunge of 2.3 stores: same layout, records unsorted (no ordering check).
Result<CyrusIndex> parse_cyrus_expunge(Bytes data, std::string_view file);

// The same reading without keeping the records: each complete, counted record goes to `sink`
// in file order with its byte offset, so a caller keeps only what it needs of a folder of
// millions (4 bytes of a UID, not a record of 80) and can let go of the bytes behind it.
// `records`: how many were handed over. Problems and errors exactly as parse_cyrus_index's.
struct IndexWalk {
  IndexHeader header;
  std::size_t records = 0;
  std::vector<IndexProblem> problems;
};
// `on_header`, when given, sees the header and the number of records to come before the first.
using IndexRecordSink = std::function<void(const IndexRecord&, std::uint64_t offset)>;
using IndexHeaderSink = std::function<void(const IndexHeader&, std::size_t records)>;
Result<IndexWalk> walk_cyrus_index(Bytes data, std::string_view file, const IndexRecordSink& sink,
                                   const IndexHeaderSink& on_header = {});
Result<IndexWalk> walk_cyrus_expunge(Bytes data, std::string_view file, const IndexRecordSink& sink,
                                     const IndexHeaderSink& on_header = {});
// Records [first, first + count) of the same cyrus.index, decoded as walk_cyrus_index decodes them
// (crc_ok set), without the ordering checks: a caller reads a folder's records again a window at
// a time instead of holding them. `header` and the whole-file problems as walk_cyrus_index's.
Result<IndexWalk> walk_cyrus_index_range(Bytes data, std::string_view file, std::size_t first, std::size_t count,
                                         const IndexRecordSink& sink);

}  // namespace cyrconv
