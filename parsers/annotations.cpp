#include "parsers/annotations.h"
#include "parsers/hex.h"

#include <optional>

namespace cyrconv {

namespace {


struct LengthField {
  std::size_t width = 0;  // bytes of the C unsigned long on the writing host
  std::uint32_t length = 0;
};

// The value must be followed by its NUL; that decides between the layouts.
std::optional<LengthField> length_field(Bytes v) {
  auto fits = [&](std::size_t width, std::uint32_t len) {
    return width + std::size_t{len} < v.size() && v[width + len] == '\0';
  };
  if (v.size() >= 8) {
    const std::uint32_t hi = load_be32(v, 0), lo = load_be32(v, 4);
    if (lo == 0 && fits(8, hi)) return LengthField{8, hi};  // 64-bit little-endian host
    if (hi == 0 && fits(8, lo)) return LengthField{8, lo};  // 64-bit big-endian host
  }
  if (v.size() >= 4 && fits(4, load_be32(v, 0))) return LengthField{4, load_be32(v, 0)};
  return std::nullopt;
}

}  // namespace

Result<Annotation> parse_annotation_record(Bytes key, Bytes value, std::string_view file) {
  Annotation a;
  const auto first_nul = key.find('\0');
  if (first_nul == Bytes::npos)
    return parse_error(file, 0, "annotation key '" + printable_bytes(key) + "': expected MAILBOX NUL ENTRY NUL USERID NUL");
  const auto second_nul = key.find('\0', first_nul + 1);
  if (second_nul == Bytes::npos)
    return parse_error(file, 0, "annotation key '" + printable_bytes(key) +
                                    "': no USERID field (Cyrus ignores such keys)");
  Bytes userid = key.substr(second_nul + 1);
  if (!userid.empty() && userid.back() == '\0') userid.remove_suffix(1);
  if (userid.find('\0') != Bytes::npos)
    return parse_error(file, 0, "annotation key '" + printable_bytes(key) + "': more than three NUL-terminated fields");
  a.mailbox = std::string(key.substr(0, first_nul));
  a.entry = std::string(key.substr(first_nul + 1, second_nul - first_nul - 1));
  a.userid = std::string(userid);
  if (a.entry.empty() || a.entry[0] != '/')
    return parse_error(file, 0, "annotation key '" + printable_bytes(key) + "': entry '" + printable_bytes(a.entry) +
                                    "' does not start with '/'");

  const auto lf = length_field(value);
  if (!lf)
    return parse_error(file, 0, "annotation '" + printable_bytes(key) + "' value '" + printable_bytes(value) +
                                    "': expected a 4- or 8-byte length and that many bytes then NUL");
  a.value = std::string(value.substr(lf->width, lf->length));
  // Optional trailer: content type NUL, modifiedsince, then (2.5+) modseq and flags.
  std::size_t pos = lf->width + lf->length + 1;
  const auto ct_end = value.find('\0', pos);
  if (ct_end != Bytes::npos) {
    pos = ct_end + 1 + lf->width;
    if (pos + 8 <= value.size()) {
      a.modseq = load_be64(value, pos);
      pos += 8;
      if (pos < value.size()) a.deleted = (static_cast<unsigned char>(value[pos]) & 1) != 0;
    }
  }
  if (a.deleted) a.value.clear();  // as Cyrus's split_attribs does
  return a;
}

Result<AnnotationsDb> parse_annotations_db(const std::vector<DbRecord>& records, std::string_view file) {
  AnnotationsDb db;
  for (std::size_t i = 0; i < records.size(); ++i) {
    auto a = parse_annotation_record(records[i].key, records[i].value, file);
    if (!a) {
      db.bad_entries.push_back(parse_error(file, i, "record #" + std::to_string(i) + ": " + a.error().message));
      continue;
    }
    db.entries.push_back(std::move(a).value());
  }
  if (db.entries.empty() && !db.bad_entries.empty())
    return parse_error(file, db.bad_entries.front().offset,
                       "no record could be read as an annotation (" + std::to_string(db.bad_entries.size()) +
                           " bad); first: " + db.bad_entries.front().message);
  return db;
}

}  // namespace cyrconv
