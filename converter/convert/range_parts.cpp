// Part files of plan-split folders (range_parts.h).
#include "converter/convert/range_parts.h"

#include <nlohmann/json.hpp>

#include "converter/report/report_merge.h"
#include "writers/range_join.h"

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
                                       {"manifest_lines", p.done.manifest_lines},
                                       {"output", p.done.output},
                                       {"uniqueid", p.done.uniqueid}};
  }
  // Paths must come back exactly: a name that is not UTF-8 gives "" (the caller fails the range)
  // rather than a path the join would get wrong. Plans split only folders with UTF-8 names.
  try {
    return j.dump(2) + "\n";
  } catch (const nlohmann::json::type_error&) {
    return {};
  }
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
      p.done.output = d.value("output", std::string());
      p.done.uniqueid = d.value("uniqueid", std::string());
    }
    return p;
  } catch (const nlohmann::json::exception& e) {
    return parse_error(file, 0, std::string("not a complete range part file: ") + e.what());
  }
}

}  // namespace cyrconv

// ---- the join (report merge) ----

namespace cyrconv {

namespace {

struct PartsPlace {
  fs::path dir, user_root;
  std::string side;
};

PartsPlace place_of(const fs::path& out_root, const SplitFolderParts& f) {
  PartsPlace p;
  p.dir = out_root / f.parts;  // <user root>/journal/ranges/<side>
  p.side = p.dir.filename().string();
  p.user_root = p.dir.parent_path().parent_path().parent_path();
  return p;
}

bool joined_before(const PartsPlace& p) {
  std::error_code ec;
  std::string error;
  return !fs::exists(p.dir, ec) && read_folder_done(p.user_root, p.side, error).has_value();
}

}  // namespace

SplitJoinOutcome check_split_parts(const fs::path& out_root, const SplitFolderParts& f) {
  SplitJoinOutcome o;
  if (f.parts.empty()) {
    o.error = "no shard reports where its parts are";
    return o;
  }
  const PartsPlace p = place_of(out_root, f);
  if (joined_before(p)) return o;
  std::error_code ec;
  for (std::size_t r = 0; r < f.shard_of_range.size(); ++r)
    if (!fs::exists(p.dir / range_part_file(r, "json"), ec)) o.missing.push_back(r);
  return o;
}

SplitJoinOutcome join_split_folder(const fs::path& out_root, const SplitFolderParts& f) {
  SplitJoinOutcome o = check_split_parts(out_root, f);
  if (!o.error.empty() || !o.missing.empty()) return o;
  const PartsPlace p = place_of(out_root, f);
  if (joined_before(p)) {
    o.joined_before = true;
    return o;
  }
  std::vector<RangePart> parts;
  for (std::size_t r = 0; r < f.shard_of_range.size(); ++r) {
    const fs::path file = p.dir / range_part_file(r, "json");
    std::string error;
    auto text = read_output_text(file, error);
    if (!text) {
      o.error = error.empty() ? file.string() + ": gone" : error;
      return o;
    }
    auto parsed = parse_range_part(*text, file.string());
    if (!parsed) {
      o.error = parsed.error().to_string();
      return o;
    }
    if (parsed.value().range != r || parsed.value().ranges != f.shard_of_range.size()) {
      o.error = file.string() + ": not the part of range " + std::to_string(r) + " of " +
                std::to_string(f.shard_of_range.size()) + " (a part of another plan?)";
      return o;
    }
    parts.push_back(std::move(parsed).value());
  }
  for (const auto& part : parts)
    if (part.failed) {
      o.note = "range " + std::to_string(part.range) + " did not finish in shard " +
               std::to_string(f.shard_of_range[part.range]) + ": not joined; re-run that shard, then report merge again";
      return o;
    }
  const RangePart& lead = parts.front();
  if (!lead.unchanged) {
    RangeJoin j;
    j.parts_dir = p.dir;
    j.ranges = parts.size();
    j.mbox = lead.format == "mbox";
    j.gzip = lead.gzip;
    j.sync = lead.sync;
    j.mbox_replace = lead.mbox_replace;
    if (lead.imapbase_pending) j.imapbase = lead.imapbase;
    j.maildir = p.user_root / lead.folder;
    j.mbox_file = p.user_root / lead.folder;
    j.uidlist_path = p.user_root / lead.uidlist;
    j.manifest_path = p.user_root / lead.manifest;
    if (auto st = join_range_parts(j, o.bytes_added); !st) {
      o.error = st.message;
      return o;
    }
    if (auto st = write_folder_done(p.user_root, p.side, lead.done, lead.sync); !st) {
      o.error = st.message;
      return o;
    }
    remove_folder_pending(p.user_root, p.side);
  }
  // Our own intermediate files, now in the folder's files.
  std::error_code ec;
  fs::remove_all(p.dir, ec);
  fs::remove(p.dir.parent_path(), ec);  // journal/ranges, when it is empty now
  o.joined = true;
  return o;
}

}  // namespace cyrconv
