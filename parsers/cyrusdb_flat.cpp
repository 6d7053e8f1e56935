// cyrusdb "flat" back-end: KEY TAB VALUE LF lines (docs/cyrus-on-disk.md 8.2).
// Since 2.5 keys and values are 0xFF-escaped; older files never contain 0xFF (names and values
// were ASCII), so unescaping every file is safe.
#include <string>

#include "parsers/cyrusdb.h"

namespace cyrconv {

namespace {

// A damaged or hostile file can have a bad line every byte or two; one ParseError each would
// cost hundreds of times the file's size. The first few are kept, the rest only counted.
constexpr std::size_t max_line_warnings = 100;

void line_warning(CyrusDb& db, std::size_t& count, std::string_view file, std::uint64_t offset, std::string message) {
  if (count++ < max_line_warnings) db.warnings.push_back(parse_error(file, offset, std::move(message)));
}

// Undo lib/cyrusdb_flat.c's escaping: FF FF -> FF, FF x -> x & 0x7F. A lone FF at the end is
// dropped as Cyrus does, but reported.
std::string unescape(Bytes in, std::uint64_t base, std::string_view file, CyrusDb& db, std::size_t& bad) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c != 0xFF) {
      out.push_back(static_cast<char>(c));
      continue;
    }
    if (i + 1 >= in.size()) {
      line_warning(db, bad, file, base + i, "dangling 0xFF escape byte at end of field, dropped");
      break;
    }
    const auto n = static_cast<unsigned char>(in[++i]);
    out.push_back(static_cast<char>(n == 0xFF ? 0xFF : (n & 0x7F)));
  }
  return out;
}

}  // namespace

Result<CyrusDb> read_flat_db(Bytes data, std::string_view file) {
  CyrusDb db;
  db.format = CyrusDbFormat::flat;
  std::size_t pos = 0, bad_lines = 0;
  while (pos < data.size()) {
    const std::size_t lf = data.find('\n', pos);
    if (lf == Bytes::npos) {
      // Cyrus rewrites flat files whole (NEW + rename), so a missing final LF means the copy
      // was cut short; the partial record is not trusted.
      db.warnings.push_back(parse_error(file, pos, "last line has no LF (truncated file?); ignored"));
      break;
    }
    const Bytes line = data.substr(pos, lf - pos);
    const std::size_t tab = line.find('\t');
    if (line.empty()) {
      line_warning(db, bad_lines, file, pos, "empty line skipped");
    } else if (tab == Bytes::npos) {
      line_warning(db, bad_lines, file, pos, "line without TAB between key and value; read as key with empty value");
      db.records.push_back({unescape(line, pos, file, db, bad_lines), std::string()});
    } else {
      db.records.push_back({unescape(line.substr(0, tab), pos, file, db, bad_lines),
                            unescape(line.substr(tab + 1), pos + tab + 1, file, db, bad_lines)});
    }
    pos = lf + 1;
  }
  if (bad_lines > max_line_warnings)
    db.warnings.push_back(parse_error(file, 0, std::to_string(bad_lines - max_line_warnings) +
                                                   " more line warnings not listed"));
  return db;
}

}  // namespace cyrconv
