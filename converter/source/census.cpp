#include "converter/source/census.h"

#include <algorithm>
#include <map>

#include "converter/source/source_io.h"
#include "converter/source/uid_listing.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t max_depth = 512;  // as discovery's walk

void walk(const fs::path& root, SourceCensus& out) {
  std::vector<std::pair<fs::path, std::size_t>> stack{{root, 0}};
  while (!stack.empty()) {
    auto [dir, depth] = std::move(stack.back());
    stack.pop_back();
    // Message files as UIDs (no string per file: one folder may hold millions); subdirectories
    // pushed in name order, as a sorted listing gives them.
    CensusDir here{dir.lexically_normal().string(), {}};
    std::vector<std::string> subdirs;
    const std::string error = list_message_uids(dir, here.uids, [&](std::string_view name, DirEntry::Type type) {
      if (type != DirEntry::Type::directory || depth >= max_depth) return;
      if (depth == 0 && ((!name.empty() && name.back() == '.') || name == "lost+found")) return;
      if (name.starts_with("cyrus.")) return;  // where a metadata file belongs: no mailbox (as discovery)
      subdirs.emplace_back(name);
    });
    if (!error.empty()) {
      out.findings.push_back(Finding{Finding::Severity::error, "census_directory_unreadable", dir.string(), 0, 0, error});
      continue;
    }
    std::sort(subdirs.begin(), subdirs.end());
    for (const auto& name : subdirs) stack.emplace_back(dir / name, depth + 1);
    if (!here.uids.empty()) {
      std::sort(here.uids.begin(), here.uids.end());
      out.files += here.uids.size();
      out.dirs.push_back(std::move(here));
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
  std::map<std::string, std::pair<std::string, std::uint64_t>> left_dirs;  // dir -> folder, files
  for (auto& [dir, name] : a.left_out_dirs) left_dirs[fs::path(dir).lexically_normal().string()] = {name, 0};
  std::set<std::string> not_verified;
  for (const auto& d : a.not_verified_dirs) not_verified.insert(fs::path(d).lexically_normal().string());

  VerifyCensus c;
  c.taken = true;
  for (const auto& d : census.dirs) {
    c.files += d.uids.size();
    auto marks_it = a.marks.find(d.dir);
    std::vector<std::pair<std::uint32_t, CensusMark>> marks;
    if (marks_it != a.marks.end()) marks = std::move(marks_it->second);
    std::sort(marks.begin(), marks.end());  // by UID, then the mark that wins first
    auto left = left_dirs.find(d.dir);
    for (std::uint32_t uid : d.uids) {
      auto m = std::lower_bound(marks.begin(), marks.end(), std::make_pair(uid, CensusMark::converted));
      const bool marked = m != marks.end() && m->first == uid;
      if (marked && m->second == CensusMark::converted) {
        ++c.converted;
      } else if (marked && m->second == CensusMark::mismatched) {
        ++c.mismatched;
      } else if (marked && m->second == CensusMark::expunged) {
        ++c.expunged;
      } else if (marked && m->second == CensusMark::left_out) {
        ++c.left_out;
      } else if (left != left_dirs.end()) {
        ++c.left_out;
        ++left->second.second;
      } else if (not_verified.count(d.dir)) {
        ++c.not_verified;
      } else {
        ++c.lost;
        if (!marked)  // reported_lost: its folder's lost_message error says it already
          findings.push_back(Finding{Finding::Severity::error, "lost_message_file",
                                     (fs::path(d.dir) / (std::to_string(uid) + ".")).string(), 0, uid,
                                     "a message file in the source that the output does not hold (by content) and no "
                                     "manifest, expunge record or request to leave its folder out accounts for"});
      }
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
  std::vector<std::uint32_t> uids;
  (void)list_message_uids(dir, uids, [](std::string_view, DirEntry::Type) {});
  return uids.size();
}

SourceCensus take_census(const SourceInputs& inputs) {
  SourceCensus c;
  for (const auto& [name, root] : inputs.partitions)
    if (is_directory_no_follow(root)) walk(root, c);
  for (const auto& [name, root] : inputs.archive_partitions)
    if (is_directory_no_follow(root)) walk(root, c);
  std::sort(c.dirs.begin(), c.dirs.end(), [](const CensusDir& x, const CensusDir& y) { return x.dir < y.dir; });
  // The same root given twice is counted once.
  c.dirs.erase(std::unique(c.dirs.begin(), c.dirs.end(), [](const CensusDir& x, const CensusDir& y) { return x.dir == y.dir; }),
               c.dirs.end());
  c.files = 0;
  for (const auto& d : c.dirs) c.files += d.uids.size();
  return c;
}

}  // namespace cyrconv
