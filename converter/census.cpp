#include "converter/census.h"

#include <algorithm>
#include <map>

#include "converter/source_io.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_depth = 512;  // as discovery's walk

void walk(const fs::path& root, SourceCensus& out) {
  std::vector<std::pair<fs::path, std::size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto [dir, depth] = std::move(stack.back());
    stack.pop_back();
    DirListing listing = list_directory(dir);
    if (!listing.error.empty()) {
      out.findings.push_back(Finding{Finding::Severity::error, "census_directory_unreadable", dir.string(), 0, 0, listing.error});
      continue;
    }
    for (const auto& e : listing.entries) {
      if (e.type == DirEntry::Type::file && is_message_file_name(e.name)) {
        out.files.push_back((dir / e.name).lexically_normal().string());
      } else if (e.type == DirEntry::Type::directory && depth < max_depth) {
        if (depth == 0 && ((!e.name.empty() && e.name.back() == '.') || e.name == "lost+found")) continue;
        if (e.name.starts_with("cyrus.")) continue;  // where a metadata file belongs: no mailbox (as discovery)
        stack.emplace_back(dir / e.name, depth + 1);
      }
    }
  }
}

}  // namespace

bool is_message_file_name(std::string_view name) {
  if (name.size() < 2 || name.size() > 11 || name.back() != '.' || name[0] < '1' || name[0] > '9') return false;
  std::uint64_t v = 0;
  for (std::size_t i = 0; i + 1 < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(name[i] - '0');
  }
  return v <= 0xffffffffu;
}

VerifyCensus account_census(const SourceCensus& census, CensusAccounts a, std::vector<Finding>& findings) {
  auto normal = [](std::vector<std::string>& v) {
    for (auto& p : v) p = fs::path(p).lexically_normal().string();
    std::sort(v.begin(), v.end());
  };
  normal(a.converted);
  normal(a.left_out);
  normal(a.mismatched);
  normal(a.reported_lost);
  normal(a.expunged);
  normal(a.not_verified_dirs);
  std::map<std::string, std::pair<std::string, std::uint64_t>> left_dirs;  // dir -> folder, files
  for (auto& [dir, name] : a.left_out_dirs) left_dirs[fs::path(dir).lexically_normal().string()] = {name, 0};
  auto has = [](const std::vector<std::string>& v, const std::string& p) { return std::binary_search(v.begin(), v.end(), p); };

  VerifyCensus c;
  c.taken = true;
  for (const auto& f : census.files) {
    ++c.files;
    const std::string dir = fs::path(f).parent_path().string();
    if (has(a.converted, f)) {
      ++c.converted;
    } else if (has(a.mismatched, f)) {
      ++c.mismatched;
    } else if (has(a.expunged, f)) {
      ++c.expunged;
    } else if (has(a.left_out, f)) {
      ++c.left_out;
    } else if (auto it = left_dirs.find(dir); it != left_dirs.end()) {
      ++c.left_out;
      ++it->second.second;
    } else if (has(a.not_verified_dirs, dir)) {
      ++c.not_verified;
    } else if (has(a.reported_lost, f)) {
      ++c.lost;
    } else {
      ++c.lost;
      findings.push_back(Finding{Finding::Severity::error, "lost_message_file", f, 0, 0,
                                 "a message file in the source that the output does not hold (by content) and no "
                                 "manifest, expunge record or request to leave its folder out accounts for"});
    }
  }
  for (const auto& [dir, v] : left_dirs)
    if (v.second)
      findings.push_back(Finding{Finding::Severity::info, "census_left_out", dir, 0, 0,
                                 std::to_string(v.second) + " message files of " + v.first +
                                     ": a folder the run was told to leave out (--users, deleted folders)"});
  for (const auto& f : census.findings) findings.push_back(f);
  return c;
}

std::uint64_t count_message_files(const fs::path& dir) {
  std::uint64_t n = 0;
  for (const auto& e : list_directory(dir).entries)
    if (e.type == DirEntry::Type::file && is_message_file_name(e.name)) ++n;
  return n;
}

SourceCensus take_census(const SourceInputs& inputs) {
  SourceCensus c;
  for (const auto& [name, root] : inputs.partitions)
    if (is_directory_no_follow(root)) walk(root, c);
  for (const auto& [name, root] : inputs.archive_partitions)
    if (is_directory_no_follow(root)) walk(root, c);
  std::sort(c.files.begin(), c.files.end());
  c.files.erase(std::unique(c.files.begin(), c.files.end()), c.files.end());
  return c;
}

}  // namespace cyrconv
