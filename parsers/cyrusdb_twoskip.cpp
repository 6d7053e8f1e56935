// cyrusdb "twoskip" back-end (docs/cyrus-on-disk.md 8.4): walk the level-0 list from the DUMMY,
// never looking at or beyond current_size (bytes there belong to an uncommitted transaction),
// verifying head CRCs and tail CRCs, and skipping DELETE records.
#include <optional>
#include <string>

#include "parsers/cyrusdb.h"

namespace cyrconv {

namespace {

constexpr std::size_t kHeaderSize = 64;
constexpr std::uint64_t kDummyOffset = 64;
constexpr unsigned kMaxLevel = 31;
constexpr std::uint32_t kDirty = 1;

struct Record {
  char type = 0;
  unsigned level = 0;
  std::uint64_t ptr[kMaxLevel + 1] = {};
  Bytes key, value;
};

std::uint64_t round8(std::uint64_t n) { return (n + 7) & ~std::uint64_t{7}; }

// Reads and checks the record at `off`, which must lie entirely below `end`.
Result<Record> read_record(Bytes d, std::uint64_t off, std::uint64_t end, std::string_view file) {
  if (off % 8 != 0 || off < kDummyOffset) return parse_error(file, off, "record offset is not 8-byte aligned or points into the header");
  if (off + 24 > end) return parse_error(file, off, "record runs past the committed size");
  Record r;
  r.type = d[off];
  r.level = static_cast<unsigned char>(d[off + 1]);
  if (r.level > kMaxLevel) return parse_error(file, off + 1, "record level " + std::to_string(r.level) + " exceeds 31");
  std::uint64_t keylen = load_be16(d, off + 2);
  std::uint64_t vallen = load_be32(d, off + 4);
  std::uint64_t p = off + 8;
  if (keylen == 0xFFFF) {
    if (p + 8 > end) return parse_error(file, p, "64-bit key length runs past the committed size");
    keylen = load_be64(d, p);
    p += 8;
  }
  if (vallen == 0xFFFFFFFFu) {
    if (p + 8 > end) return parse_error(file, p, "64-bit value length runs past the committed size");
    vallen = load_be64(d, p);
    p += 8;
  }
  const std::uint64_t ptrs_end = p + 8ull * (r.level + 1);
  if (ptrs_end + 8 > end) return parse_error(file, off, "record pointers run past the committed size");
  if (keylen > end || vallen > end || ptrs_end + 8 + round8(keylen + vallen) > end)
    return parse_error(file, off, "key/value lengths (" + std::to_string(keylen) + ", " + std::to_string(vallen) +
                                      ") run past the committed size");
  for (unsigned i = 0; i <= r.level; ++i) r.ptr[i] = load_be64(d, p + 8ull * i);
  const std::uint32_t head_crc = load_be32(d, ptrs_end);
  if (crc32_of(d.substr(off, ptrs_end - off)) != head_crc) return parse_error(file, off, "record head CRC mismatch");
  const std::uint64_t kv = ptrs_end + 8;
  r.key = d.substr(kv, keylen);
  r.value = d.substr(kv + keylen, vallen);
  // Tail CRC covers key, value and the zero padding.
  if (crc32_of(d.substr(kv, round8(keylen + vallen))) != load_be32(d, ptrs_end + 4))
    return parse_error(file, off, "record tail (key/value) CRC mismatch");
  return r;
}

// Of the two level-0 pointers, the larger one below `end`; the other may belong to an
// uncommitted transaction. nullopt when both point at or beyond `end`.
std::optional<std::uint64_t> next_level0(const Record& r, std::uint64_t end) {
  const std::uint64_t a = r.ptr[0], b = r.level >= 1 ? r.ptr[1] : 0;
  const bool a_ok = a < end, b_ok = b < end;
  if (a_ok && b_ok) return std::max(a, b);
  if (a_ok) return a;
  if (b_ok) return b;
  return std::nullopt;
}

}  // namespace

Result<CyrusDb> read_twoskip_db(Bytes d, std::string_view file) {
  CyrusDb db;
  db.format = CyrusDbFormat::twoskip;
  if (d.size() < kHeaderSize) return parse_error(file, d.size(), "twoskip header needs 64 bytes; file is truncated");
  if (d.substr(0, 20) != std::string_view("\xA1\x02\x8B\x0D" "twoskip file\0\0\0\0", 20))
    return parse_error(file, 0, "expected twoskip magic");
  if (crc32_of(d.substr(0, 60)) != load_be32(d, 60)) return parse_error(file, 60, "twoskip header CRC mismatch");
  if (const auto v = load_be32(d, 20); v != 1)
    return parse_error(file, 20, "expected twoskip version 1, found " + std::to_string(v));
  const std::uint64_t num_records = load_be64(d, 32);
  const std::uint64_t end = load_be64(d, 48);  // current_size
  const std::uint32_t flags = load_be32(d, 56);
  if (end > d.size())
    return parse_error(file, d.size(), "file is shorter than its committed size " + std::to_string(end) + " (truncated copy?)");
  if (flags & kDirty)
    db.warnings.push_back(parse_error(file, 56, "DIRTY flag set: a transaction was in progress; only data below the committed size " +
                                                    std::to_string(end) + " is read"));
  if (d.size() > end)
    db.warnings.push_back(parse_error(file, end, std::to_string(d.size() - end) + " bytes after the committed size ignored"));

  auto dummy = read_record(d, kDummyOffset, end, file);
  if (!dummy) return dummy.error();
  if (dummy.value().type != '=') return parse_error(file, kDummyOffset, "expected DUMMY record ('=')");

  // Each step visits a distinct record of at least 24 bytes unless the pointers form a cycle.
  const std::uint64_t max_steps = end / 24 + 1;
  std::uint64_t steps = 0;
  Record cur = dummy.value();
  std::uint64_t cur_off = kDummyOffset;
  while (true) {
    auto next = next_level0(cur, end);
    if (!next) return parse_error(file, cur_off, "both level-0 pointers point beyond the committed size");
    std::uint64_t off = *next;
    std::optional<Record> found;
    while (off != 0) {  // DELETE records only carry a pointer onwards
      if (++steps > max_steps) return parse_error(file, off, "record pointers form a cycle");
      auto rec = read_record(d, off, end, file);
      if (!rec) return rec.error();
      if (rec.value().type == '-') {
        if (rec.value().ptr[0] >= end) return parse_error(file, off, "DELETE record points beyond the committed size");
        off = rec.value().ptr[0];
        continue;
      }
      if (rec.value().type != '+')
        return parse_error(file, off, std::string("expected a RECORD ('+') in the list, found type byte ") +
                                          std::to_string(static_cast<unsigned char>(rec.value().type)));
      found = rec.value();
      break;
    }
    if (!found) break;
    const Record& rec = *found;
    db.records.push_back({std::string(rec.key), std::string(rec.value)});
    cur = rec;
    cur_off = off;
  }
  if (db.records.size() != num_records)
    db.warnings.push_back(parse_error(file, 32, "header says " + std::to_string(num_records) + " records, list has " +
                                                    std::to_string(db.records.size())));
  return db;
}

}  // namespace cyrconv
