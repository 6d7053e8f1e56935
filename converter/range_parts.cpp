// Part files of plan-split folders (range_parts.h).
#include "converter/range_parts.h"

#include <nlohmann/json.hpp>

namespace cyrconv {

namespace fs = std::filesystem;

fs::path range_parts_dir(const fs::path& user_root, const std::string& side) {
  return journal_dir(user_root) / "ranges" / side;
}

std::string range_part_file(std::size_t range, std::string_view what) {
  return std::to_string(range) + "." + std::string(what);
}

std::string range_part_json(const RangePart& p) {
  nlohmann::ordered_json j;
  j["range"] = p.range;
  j["ranges"] = p.ranges;
  j["failed"] = p.failed;
  j["unchanged"] = p.unchanged;
  j["messages"] = p.messages;
  j["written"] = p.written;
  j["bytes_written"] = p.bytes_written;
  if (p.range == 0) {
    j["format"] = p.format;
    j["folder"] = p.folder;
    j["uidlist"] = p.uidlist;
    j["manifest"] = p.manifest;
    j["gzip"] = p.gzip;
    j["sync"] = p.sync;
    j["mbox_commit"] = p.mbox_replace ? "replace" : "keep_identical";
    j["imapbase_pending"] = p.imapbase_pending;
    j["imapbase"] = p.imapbase;
    j["done"] = nlohmann::ordered_json{{"folder", p.done.folder},
                                       {"target", p.done.target},
                                       {"uidvalidity", p.done.uidvalidity},
                                       {"source_uidnext", p.done.source_uidnext},
                                       {"target_uidnext", p.done.target_uidnext},
                                       {"manifest_lines", p.done.manifest_lines}};
  }
  // Names may hold bytes that are not UTF-8: kept as they are (our reader takes them back).
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::ignore) + "\n";
}

Result<RangePart> parse_range_part(std::string_view text, std::string_view file) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return parse_error(file, 0, "not JSON: not a range part file");
  try {
    RangePart p;
    p.range = j.at("range").get<std::size_t>();
    p.ranges = j.at("ranges").get<std::size_t>();
    p.failed = j.at("failed").get<bool>();
    p.unchanged = j.at("unchanged").get<bool>();
    p.messages = j.at("messages").get<std::uint64_t>();
    p.written = j.at("written").get<std::uint64_t>();
    p.bytes_written = j.at("bytes_written").get<std::uint64_t>();
    if (p.range == 0) {
      p.format = j.at("format").get<std::string>();
      p.folder = j.at("folder").get<std::string>();
      p.uidlist = j.at("uidlist").get<std::string>();
      p.manifest = j.at("manifest").get<std::string>();
      p.gzip = j.at("gzip").get<bool>();
      p.sync = j.at("sync").get<bool>();
      p.mbox_replace = j.at("mbox_commit").get<std::string>() == "replace";
      p.imapbase_pending = j.at("imapbase_pending").get<bool>();
      p.imapbase = j.at("imapbase").get<std::string>();
      const auto& d = j.at("done");
      p.done.folder = d.at("folder").get<std::string>();
      p.done.target = d.at("target").get<std::string>();
      p.done.uidvalidity = d.at("uidvalidity").get<std::uint32_t>();
      p.done.source_uidnext = d.at("source_uidnext").get<std::uint32_t>();
      p.done.target_uidnext = d.at("target_uidnext").get<std::uint32_t>();
      p.done.manifest_lines = d.at("manifest_lines").get<std::uint64_t>();
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return parse_error(file, 0, std::string("not a complete range part file: ") + e.what());
  }
}

}  // namespace cyrconv
