// cyrusdb format detection and dispatch (docs/cyrus-on-disk.md 8.1).
// Cyrus itself only recognises skiplist and twoskip by magic; we also recognise Berkeley DB and
// SQLite so they are refused with advice instead of being misread as flat text.
#include "parsers/cyrusdb.h"

#include <algorithm>
#include <array>

namespace cyrconv {

namespace {

constexpr std::string_view kSkiplistMagic{"\xA1\x02\x8B\x0D" "skiplist file\0\0\0", 20};
constexpr std::string_view kTwoskipMagic{"\xA1\x02\x8B\x0D" "twoskip file\0\0\0\0", 20};
constexpr std::string_view kSqliteMagic{"SQLite format 3\0", 16};

// Compares the 20-byte magic, but a file cut short inside the magic still counts as that
// format so its reader reports the truncation instead of the flat reader misreading it.
bool has_magic(Bytes data, std::string_view magic) {
  if (data.size() < 17) return false;  // signature + name: distinctive enough for short files
  const std::size_t n = std::min(data.size(), magic.size());
  return data.substr(0, n) == magic.substr(0, n);
}

bool is_berkeley(Bytes data) {
  if (data.size() < 16) return false;
  const std::uint32_t be = load_be32(data, 12);
  const std::uint32_t le = ((be & 0xFFu) << 24) | ((be & 0xFF00u) << 8) | ((be >> 8) & 0xFF00u) | (be >> 24);
  for (std::uint32_t magic : std::array<std::uint32_t, 3>{0x00053162u, 0x00061561u, 0x00042253u}) {
    if (be == magic || le == magic) return true;
  }
  return false;
}

}  // namespace

const char* to_string(CyrusDbFormat f) {
  switch (f) {
    case CyrusDbFormat::flat: return "flat";
    case CyrusDbFormat::skiplist: return "skiplist";
    case CyrusDbFormat::twoskip: return "twoskip";
    case CyrusDbFormat::berkeley: return "berkeley";
    case CyrusDbFormat::sqlite: return "sqlite";
    case CyrusDbFormat::empty: return "empty";
  }
  return "unknown";
}

CyrusDbFormat detect_cyrusdb_format(Bytes data) {
  if (data.empty()) return CyrusDbFormat::empty;
  if (has_magic(data, kSkiplistMagic)) return CyrusDbFormat::skiplist;
  if (has_magic(data, kTwoskipMagic)) return CyrusDbFormat::twoskip;
  if (data.substr(0, kSqliteMagic.size()) == kSqliteMagic) return CyrusDbFormat::sqlite;
  if (is_berkeley(data)) return CyrusDbFormat::berkeley;
  return CyrusDbFormat::flat;
}

Result<CyrusDb> read_cyrusdb(Bytes data, std::string_view file) {
  switch (detect_cyrusdb_format(data)) {
    case CyrusDbFormat::empty: {
      CyrusDb db;
      db.format = CyrusDbFormat::empty;  // Cyrus creates flat databases as empty files
      return db;
    }
    case CyrusDbFormat::flat: return read_flat_db(data, file);
    case CyrusDbFormat::skiplist: return read_skiplist_db(data, file);
    case CyrusDbFormat::twoskip: return read_twoskip_db(data, file);
    case CyrusDbFormat::berkeley:
      return parse_error(file, 12,
                         "Berkeley DB file: not read directly; run db_recover on a copy with its "
                         "db/ environment, then convert it with cvt_cyrusdb (or db_dump) to flat "
                         "or skiplist first");
    case CyrusDbFormat::sqlite:
      return parse_error(file, 0,
                         "SQLite database: not a cyrusdb key/value file (DAV index?); "
                         "convert it with cvt_cyrusdb to flat first if it really is one");
  }
  return parse_error(file, 0, "unrecognised database format");
}

}  // namespace cyrconv
