#include "converter/zimbra/zimbra_folder_flags.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <set>

#include "writers/maildir.h"
#include "writers/zimbra_flags.h"

namespace cyrconv {

FlagNeed flag_need(std::uint32_t flags, const std::vector<std::string>& keywords) {
  FlagNeed n;
  bool forwarded = false;
  for (const auto& k : keywords) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "$forwarded")
      forwarded = true;  // Zimbra's own \Forwarded flag
    else
      n.tags.push_back(zimbra_tag_name(k));
  }
  if (flags & imapflag::draft) n.tags.emplace_back(zimbra_draft_tag);
  std::sort(n.tags.begin(), n.tags.end());
  n.tags.erase(std::unique(n.tags.begin(), n.tags.end()), n.tags.end());
  std::string letters;
  if (flags & imapflag::flagged) letters += 'f';
  if (flags & imapflag::answered) letters += 'r';
  if (forwarded) letters += 'w';
  if (flags & imapflag::deleted) letters += 'x';
  // modifyItemFlags replaces every flag, unread included: say unread again where it was.
  if (!letters.empty()) n.flags = ((flags & imapflag::seen) ? "" : "u") + letters;
  return n;
}

namespace {

// The group's row of the check file (see FolderFlags in the header).
std::string check_row(unsigned group, const std::string& folder_path, const FolderFlags::Needed& n,
                      const std::vector<const FolderFlags::Row*>& rows, const std::string& set_letters) {
  std::string uids;
  for (const auto* r : rows) uids += (uids.empty() ? "" : ",") + std::to_string(r->uid);
  std::string find = zmm_search(folder_path, n.msgid, rows.size());
  std::string check = zmm_check(folder_path, n.msgid, rows.size(), set_letters, n.seen, n.need.tags);
  find.pop_back();  // the line ends
  check.pop_back();
  const bool deleted = n.need.flags.find('x') != std::string::npos;
  return std::to_string(group) + "\t/" + folder_path + "\t" + n.msgid + "\t" + std::to_string(rows.size()) + "\t" + uids +
         "\t" + find + "\t" + check + "\t" + (deleted ? n.need.flags : "") + "\n";
}

bool checkable(const FolderFlags::Needed& n) {
  for (const auto& t : n.need.tags)
    if (!checkable_tag(t)) return false;
  return true;
}

}  // namespace

std::vector<std::uint32_t> FolderFlags::emit(UserRun& run, const std::string& folder_path) const {
  std::vector<std::uint32_t> unmatched;
  if (needs.empty()) return unmatched;
  std::map<std::uint64_t, std::vector<const Row*>> groups;
  for (const auto& r : rows) groups[r.id_hash].push_back(&r);
  // The path goes into a quoted query and a tab-separated row unescaped.
  const bool path_ok = folder_path.find_first_of("\\\"\t\n\r") == std::string::npos;
  std::set<std::uint64_t> done;
  for (const auto& r : rows) {
    if (r.needed == SIZE_MAX) continue;
    const Needed& n = needs[r.needed];
    const auto& group = groups[r.id_hash];
    bool same = r.searchable && path_ok && group.size() <= 1000 && checkable(n);
    for (const Row* g : group) same = same && g->need_hash == r.need_hash;
    if (!same) {
      unmatched.push_back(n.uid);
      continue;
    }
    if (!done.insert(r.id_hash).second) continue;  // the group's first message spoke for all
    // \Deleted last, after the check: the flagged message is hidden from search from then on.
    std::string letters;
    for (char c : n.need.flags)
      if (c != 'x') letters += c;
    run.zmm_line(zmm_search(folder_path, n.msgid, group.size()));
    if (letters.find_first_not_of('u') != std::string::npos) run.zmm_line(zmm_modify_flags(group.size(), letters));
    for (const auto& t : n.need.tags) run.zmm_line(zmm_tag(group.size(), t));
    run.check_line(check_row(++run.flag_groups, folder_path, n, group, letters));
  }
  return unmatched;
}

}  // namespace cyrconv
