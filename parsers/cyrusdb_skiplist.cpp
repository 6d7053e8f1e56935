// cyrusdb "skiplist" back-end, read sequentially (docs/cyrus-on-disk.md 8.3). Pointers are never
// followed: on a copy of a live file they may already lead into an uncommitted transaction.
// Instead the file is replayed like Cyrus's recovery: the INORDER run, then ADD/DELETE groups
// applied at each COMMIT; a trailing group without COMMIT is ignored with a warning.
#include <map>
#include <optional>
#include <string>
#include <unordered_map>

#include "parsers/cyrusdb.h"

namespace cyrconv {

namespace {

constexpr std::uint32_t kInorder = 1, kAdd = 2, kDelete = 4, kCommit = 255, kDummy = 257;
constexpr std::size_t kHeaderSize = 48;
constexpr std::uint32_t kTerminator = 0xFFFFFFFFu;

std::uint64_t round4(std::uint64_t n) { return (n + 3) & ~std::uint64_t{3}; }

struct Node {
  std::uint32_t type = 0;
  Bytes key, value;
  std::uint32_t level = 0;
  std::uint64_t size = 0;  // bytes up to and including the terminator
};

// Reads a DUMMY/INORDER/ADD node; nullopt (with `why`) when it does not fit in the file.
std::optional<Node> read_node(Bytes d, std::uint64_t off, std::string& why) {
  if (off + 12 > d.size()) { why = "record header runs past end of file"; return std::nullopt; }
  Node n;
  n.type = load_be32(d, off);
  const std::uint64_t keylen = load_be32(d, off + 4);
  const std::uint64_t dlen_at = off + 8 + round4(keylen);
  if (dlen_at + 4 > d.size()) { why = "key length " + std::to_string(keylen) + " runs past end of file"; return std::nullopt; }
  const std::uint64_t datalen = load_be32(d, dlen_at);
  const std::uint64_t first_ptr = dlen_at + 4 + round4(datalen);
  if (first_ptr > d.size()) { why = "data length " + std::to_string(datalen) + " runs past end of file"; return std::nullopt; }
  n.key = d.substr(off + 8, keylen);
  n.value = d.substr(dlen_at + 4, datalen);
  // The level is not stored: count pointer words up to the 0xFFFFFFFF terminator.
  std::uint64_t p = first_ptr;
  while (true) {
    if (p + 4 > d.size()) { why = "forward pointers run past end of file (no terminator)"; return std::nullopt; }
    if (load_be32(d, p) == kTerminator) break;
    p += 4;
  }
  n.level = static_cast<std::uint32_t>((p - first_ptr) / 4);
  if (n.level == 0) { why = "record without forward pointers"; return std::nullopt; }
  n.size = p + 4 - off;
  return n;
}

std::string type_name(std::uint32_t t) {
  switch (t) {
    case kInorder: return "INORDER";
    case kAdd: return "ADD";
    case kDelete: return "DELETE";
    case kCommit: return "COMMIT";
    case kDummy: return "DUMMY";
    default: return "type " + std::to_string(t);
  }
}

}  // namespace

Result<CyrusDb> read_skiplist_db(Bytes d, std::string_view file) {
  CyrusDb db;
  db.format = CyrusDbFormat::skiplist;
  if (d.size() < kHeaderSize) return parse_error(file, d.size(), "skiplist header needs 48 bytes; file is truncated");
  if (d.substr(0, 20) != std::string_view("\xA1\x02\x8B\x0D" "skiplist file\0\0\0", 20))
    return parse_error(file, 0, "expected skiplist magic");
  if (const auto v = load_be32(d, 20); v != 1)
    return parse_error(file, 20, "expected skiplist version 1, found " + std::to_string(v));
  const std::uint32_t maxlevel = load_be32(d, 28);
  if (maxlevel == 0 || maxlevel > 255) return parse_error(file, 28, "implausible maxlevel " + std::to_string(maxlevel));

  std::string why;
  const auto dummy = read_node(d, kHeaderSize, why);
  if (!dummy) return parse_error(file, kHeaderSize, "DUMMY record: " + why);
  if (dummy->type != kDummy || !dummy->key.empty() || !dummy->value.empty())
    return parse_error(file, kHeaderSize, "expected DUMMY record (type 257, empty key and data), found " + type_name(dummy->type));
  if (dummy->level != maxlevel)
    return parse_error(file, kHeaderSize, "DUMMY has " + std::to_string(dummy->level) + " pointers, header maxlevel is " + std::to_string(maxlevel));

  std::map<std::string, std::string> live;
  std::unordered_map<std::uint64_t, std::string> key_at;  // record offset -> key, for DELETE
  std::uint64_t off = kHeaderSize + dummy->size;

  // 1. The checkpointed part: INORDER records, all live. Damage here loses committed data.
  while (off + 4 <= d.size() && load_be32(d, off) == kInorder) {
    const auto n = read_node(d, off, why);
    if (!n) return parse_error(file, off, "damaged INORDER record: " + why);
    live[std::string(n->key)] = std::string(n->value);
    key_at[off] = std::string(n->key);
    off += n->size;
  }

  // 2. The log: ADD/DELETE groups, each applied only when its COMMIT is reached.
  struct Pending { bool erase; std::string key, value; };
  std::vector<Pending> pending;
  std::uint64_t txn_start = off;
  auto drop_tail = [&](std::uint64_t at, const std::string& reason) {
    db.warnings.push_back(parse_error(file, at, reason + "; uncommitted transaction from offset " +
                                                    std::to_string(txn_start) + " ignored"));
  };
  bool stopped = false;
  while (off < d.size() && !stopped) {
    if (off + 4 > d.size()) { drop_tail(off, "trailing partial word"); stopped = true; break; }
    const std::uint32_t type = load_be32(d, off);
    if (pending.empty()) txn_start = off;
    switch (type) {
      case 0: {  // zeros left by interrupted truncations: skipped a word at a time, as Cyrus does
        const std::uint64_t from = off;
        while (off + 4 <= d.size() && load_be32(d, off) == 0) off += 4;
        db.warnings.push_back(parse_error(file, from, "skipped " + std::to_string(off - from) + " bytes of zeros"));
        break;
      }
      case kCommit:
        for (auto& p : pending) {
          if (p.erase) live.erase(p.key);
          else live[p.key] = std::move(p.value);
        }
        pending.clear();
        off += 4;
        break;
      case kAdd: {
        const auto n = read_node(d, off, why);
        if (!n) { drop_tail(off, "damaged ADD record: " + why); stopped = true; break; }
        pending.push_back({false, std::string(n->key), std::string(n->value)});
        key_at[off] = std::string(n->key);
        off += n->size;
        break;
      }
      case kDelete: {
        if (off + 8 > d.size()) { drop_tail(off, "DELETE record runs past end of file"); stopped = true; break; }
        const std::uint64_t target = load_be32(d, off + 4);
        if (auto it = key_at.find(target); it != key_at.end()) {
          pending.push_back({true, it->second, {}});
        } else {
          db.warnings.push_back(parse_error(file, off, "DELETE of unknown record at offset " + std::to_string(target) + " skipped"));
        }
        off += 8;
        break;
      }
      default:
        // Inside an open transaction Cyrus's look-ahead gives up on the whole group; at a
        // transaction boundary Cyrus's recovery fails, so committed data may be missing.
        if (!pending.empty()) { drop_tail(off, "unexpected " + type_name(type) + " record"); stopped = true; break; }
        return parse_error(file, off, "expected ADD, DELETE or COMMIT record in the log, found " + type_name(type));
    }
  }
  if (!stopped && !pending.empty()) drop_tail(off, "no COMMIT before end of file");

  db.records.reserve(live.size());
  for (auto& [k, v] : live) db.records.push_back({k, std::move(v)});
  return db;
}

}  // namespace cyrconv
