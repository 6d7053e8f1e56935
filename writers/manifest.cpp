#include "writers/manifest.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "parsers/hex.h"
#include "parsers/utf8.h"

namespace cyrconv {

namespace {

// A JSON string as nlohmann's dump(-1, ' ', false, replace) writes it. ASCII and valid UTF-8,
// nearly every string here, are escaped in place; text with invalid UTF-8 goes through
// nlohmann itself, so its U+FFFD replacement rules are the library's own, byte for byte.
void append_string(std::string& out, std::string_view s) {
  bool ascii = true;
  for (char c : s) ascii &= static_cast<unsigned char>(c) < 0x80;
  if (!ascii && !valid_utf8(s)) {
    out += nlohmann::json(std::string(s)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  std::size_t plain = 0;  // start of the run copied as it is
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 15];
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

template <typename Int>
void append_number(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_strings(std::string& out, const std::vector<std::string>& v) {
  out += '[';
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    append_string(out, v[i]);
  }
  out += ']';
}

// `,"key":` (the first key has no comma; written by hand below).
void key(std::string& out, std::string_view k) {
  out += ",\"";
  out += k;
  out += "\":";
}

}  // namespace

void append_manifest_line(std::string& out, const ManifestEntry& e, bool mbox) {
  out += "{\"uid\":";
  append_number(out, e.uid);
  // An incremental run that met UIDs taken in the target numbers new messages on from there.
  if (e.source_uid && e.source_uid != e.uid) {
    key(out, "source_uid");
    append_number(out, e.source_uid);
  }
  key(out, "source_file");
  append_string(out, e.source_file);
  // manifest_line_shifted finds "mbox_offset" right after "source_file"'s value.
  const bool written = in_output(e.disposition);
  if (mbox && written) {
    key(out, "mbox_offset");
    append_number(out, e.mbox_offset);
  } else if (!mbox) {
    key(out, "output_file");
    append_string(out, e.output_file);
  }
  key(out, "flags");
  append_strings(out, e.flags);
  key(out, "keywords");
  append_strings(out, e.keywords);
  key(out, "internaldate");
  append_number(out, e.internaldate);
  if (!e.internaldate_source.empty()) {
    key(out, "internaldate_source");
    append_string(out, e.internaldate_source);
  }
  key(out, "size");
  append_number(out, e.size);
  if (e.sha1_known) {
    key(out, "sha1");
    out += '"';
    append_hex(out, e.sha1.data(), e.sha1.size());
    out += '"';
  }
  key(out, "disposition");
  append_string(out, to_string(e.disposition));
  if (!e.changes.empty()) {
    key(out, "changes");
    append_strings(out, e.changes);
  }
  if (!e.reason.empty()) {
    key(out, "reason");
    append_string(out, e.reason);
  }
  out += "}\n";
}

namespace {
constexpr const char* disposition_names[] = {"written", "repaired", "quarantined", "missing", "skipped_deleted",
                                             "not_converted"};
}

const char* to_string(MessageDisposition d) { return disposition_names[static_cast<std::size_t>(d)]; }

std::optional<MessageDisposition> parse_message_disposition(std::string_view s) {
  for (std::size_t i = 0; i < std::size(disposition_names); ++i)
    if (s == disposition_names[i]) return static_cast<MessageDisposition>(i);
  return std::nullopt;
}

std::string manifest_line(const ManifestEntry& e, bool mbox) {
  std::string out;
  out.reserve(256 + e.source_file.size() + e.output_file.size());
  append_manifest_line(out, e, mbox);
  return out;
}

std::optional<std::uint64_t> manifest_line_mbox_offset(std::string_view line) {
  static constexpr std::string_view key = ",\"mbox_offset\":";  // see manifest_line_shifted
  const std::size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::uint64_t value = 0;
  for (std::size_t i = at + key.size(); i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i)
    value = value * 10 + static_cast<std::uint64_t>(line[i] - '0');
  return value;
}

std::string manifest_line_shifted(std::string_view line, std::uint64_t delta) {
  // manifest_line writes the key right after "source_file"'s value. Inside a JSON string every
  // '"' is escaped, so `,"mbox_offset":` can only be the key itself.
  static constexpr std::string_view key = ",\"mbox_offset\":";
  const std::size_t at = line.find(key);
  if (at == std::string_view::npos || delta == 0) return std::string(line);
  const std::size_t begin = at + key.size();
  std::size_t end = begin;
  std::uint64_t value = 0;
  while (end < line.size() && line[end] >= '0' && line[end] <= '9') value = value * 10 + static_cast<std::uint64_t>(line[end++] - '0');
  std::string out(line.substr(0, begin));
  out += std::to_string(value + delta);
  out += line.substr(end);
  return out;
}

}  // namespace cyrconv
