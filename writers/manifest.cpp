#include "writers/manifest.h"

#include <nlohmann/json.hpp>

namespace cyrconv {

std::string sha1_hex(const std::array<std::uint8_t, 20>& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  s.reserve(40);
  for (auto b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::string manifest_line(const ManifestEntry& e, bool mbox) {
  nlohmann::ordered_json j;
  j["uid"] = e.uid;
  // An incremental run that met UIDs taken in the target numbers new messages on from there.
  if (e.source_uid && e.source_uid != e.uid) j["source_uid"] = e.source_uid;
  j["source_file"] = e.source_file;
  const bool written = e.disposition == "written" || e.disposition == "repaired";
  if (mbox && written)
    j["mbox_offset"] = e.mbox_offset;
  else if (!mbox)
    j["output_file"] = e.output_file;
  j["flags"] = e.flags;
  j["keywords"] = e.keywords;
  j["internaldate"] = e.internaldate;
  if (!e.internaldate_source.empty()) j["internaldate_source"] = e.internaldate_source;
  j["size"] = e.size;
  if (e.sha1_known) j["sha1"] = sha1_hex(e.sha1);
  j["disposition"] = e.disposition;
  if (!e.changes.empty()) j["changes"] = e.changes;
  if (!e.reason.empty()) j["reason"] = e.reason;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
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
