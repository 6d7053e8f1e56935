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

std::vector<std::uint32_t> FolderFlags::emit(UserRun& run, const std::string& folder_path) const {
  std::vector<std::uint32_t> unmatched;
  if (needs.empty()) return unmatched;
  std::map<std::uint64_t, std::vector<const Row*>> groups;
  for (const auto& r : rows) groups[r.id_hash].push_back(&r);
  const bool path_ok = folder_path.find_first_of("\\\"") == std::string::npos;
  std::set<std::uint64_t> done;
  for (const auto& r : rows) {
    if (r.needed == SIZE_MAX) continue;
    const Needed& n = needs[r.needed];
    const auto& group = groups[r.id_hash];
    bool same = r.searchable && path_ok && group.size() <= 1000;
    for (const Row* g : group) same = same && g->need_hash == r.need_hash;
    if (!same) {
      unmatched.push_back(n.uid);
      continue;
    }
    if (!done.insert(r.id_hash).second) continue;  // the group's first message spoke for all
    run.zmm_line(zmm_search(folder_path, n.msgid, group.size()));
    if (!n.need.flags.empty()) run.zmm_line(zmm_modify_flags(group.size(), n.need.flags));
    for (const auto& t : n.need.tags) run.zmm_line(zmm_tag(group.size(), t));
  }
  return unmatched;
}

}  // namespace cyrconv
