#include "converter/zimbra/zimbra_folder_flags.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <functional>
#include <string_view>

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

void FolderFlags::add(std::uint32_t uid, const std::string& msgid, std::uint32_t flags, const FlagNeed& need) {
  const std::uint64_t id_hash = std::hash<std::string>{}(msgid);
  if (!need.any()) {
    if (plain.size() == plain_window) {
      if (!plain_spill) {
        plain_spill.emplace();
        if (status) status = plain_spill->open(dir);
      }
      if (status)
        status = plain_spill->write(std::string_view(reinterpret_cast<const char*>(plain.data()),
                                                     plain.size() * sizeof(std::uint64_t)));
      plain.clear();
    }
    plain.push_back(id_hash);
    return;
  }
  Row r;
  r.uid = uid;
  r.searchable = searchable(msgid);
  r.id_hash = id_hash;
  std::string sig = need.flags + ((flags & imapflag::seen) ? "S" : "U");
  for (const auto& t : need.tags) sig += "\n" + t;
  r.need_hash = std::hash<std::string>{}(sig) | 1;  // never 0
  // Tab-separated, one line: a searchable Message-ID and a tag name hold no control character.
  std::string line = (r.searchable ? msgid : std::string()) + "\t" + need.flags + "\t" +
                     ((flags & imapflag::seen) ? "1" : "0");
  for (const auto& t : need.tags) line += "\t" + t;
  line += "\n";
  if (status && spill) status = spill->write(line);
  if (!spill) status = WriteStatus{false, "no scratch file for the flags"};
  rows.push_back(r);
}

namespace {

// The group's row of the check file (see FolderFlags in the header).
std::string check_row(unsigned group, const std::string& folder_path, const FolderFlags::Needed& n,
                      const std::string& uids, std::size_t count, const std::string& set_letters) {
  std::string find = zmm_search(folder_path, n.msgid, count);
  std::string check = zmm_check(folder_path, n.msgid, count, set_letters, n.seen, n.need.tags);
  find.pop_back();  // the line ends
  check.pop_back();
  const bool deleted = n.need.flags.find('x') != std::string::npos;
  return std::to_string(group) + "\t/" + folder_path + "\t" + n.msgid + "\t" + std::to_string(count) + "\t" + uids +
         "\t" + find + "\t" + check + "\t" + (deleted ? n.need.flags : "") + "\n";
}

bool checkable(const FolderFlags::Needed& n) {
  for (const auto& t : n.need.tags)
    if (!checkable_tag(t)) return false;
  return true;
}

FolderFlags::Needed parse_needed(std::string_view line) {
  FolderFlags::Needed n;
  std::vector<std::string> cols;
  std::size_t at = 0;
  while (true) {
    const auto tab = line.find('\t', at);
    cols.emplace_back(line.substr(at, tab == std::string_view::npos ? std::string_view::npos : tab - at));
    if (tab == std::string_view::npos) break;
    at = tab + 1;
  }
  if (cols.size() < 3) return n;
  n.msgid = cols[0];
  n.need.flags = cols[1];
  n.seen = cols[2] == "1";
  n.need.tags.assign(cols.begin() + 3, cols.end());
  return n;
}

// Messages sharing a Message-ID in a folder: one search finds them all, so they are one group,
// scriptable when all want the same flags and tags.
struct Group {
  std::uint32_t begin = 0;  // in the order by Message-ID hash
  std::uint16_t size = 0;   // at most 1001: a search returns 1000 hits at most
  bool same = false;
  bool done = false, failed = false;
};

}  // namespace

std::vector<std::uint32_t> FolderFlags::emit(UserRun& run, const std::string& folder_path) {
  std::vector<std::uint32_t> unmatched;
  // The path goes into a quoted query and a tab-separated row unescaped.
  const bool path_ok = folder_path.find_first_of("\\\"\t\n\r") == std::string::npos;
  std::vector<std::uint32_t> order(rows.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return rows[a].id_hash < rows[b].id_hash; });
  std::vector<Group> groups;
  std::vector<std::uint32_t> group_of(rows.size());
  for (std::size_t b = 0, e = 0; b < order.size(); b = e) {
    Group g;
    g.begin = static_cast<std::uint32_t>(b);
    g.same = rows[order[b]].searchable && path_ok;
    for (e = b; e < order.size() && rows[order[e]].id_hash == rows[order[b]].id_hash; ++e) {
      g.same = g.same && rows[order[e]].need_hash == rows[order[b]].need_hash;
      group_of[order[e]] = static_cast<std::uint32_t>(groups.size());
    }
    g.same = g.same && e - b <= 1000;
    g.size = static_cast<std::uint16_t>(std::min<std::size_t>(e - b, 1001));
    groups.push_back(g);
  }
  // A message without flags sharing a group's Message-ID: the search would find it too, and set
  // its flags; the group is not scripted.
  auto spoil = [&](std::uint64_t id) {
    const auto g = std::partition_point(groups.begin(), groups.end(),
                                        [&](const Group& x) { return rows[order[x.begin]].id_hash < id; });
    if (g != groups.end() && rows[order[g->begin]].id_hash == id) g->same = false;
  };
  if (!groups.empty()) {
    for (std::uint64_t id : plain) spoil(id);
    if (status && plain_spill) {
      char carry[sizeof(std::uint64_t)];
      std::size_t carried = 0;
      status = plain_spill->read_all(run.w.buffer, [&](std::string_view chunk) {
        for (char c : chunk) {
          carry[carried++] = c;
          if (carried < sizeof carry) continue;
          std::uint64_t id;
          std::memcpy(&id, carry, sizeof id);
          spoil(id);
          carried = 0;
        }
        return WriteStatus{};
      });
    }
  }
  std::size_t next = 0;  // the next row, in row order as they were spilled
  auto one = [&](std::string_view line) {
    if (next >= rows.size()) return;
    const Row& r = rows[next++];
    Needed n = parse_needed(line);
    n.uid = r.uid;
    Group& g = groups[group_of[&r - rows.data()]];
    if (!g.same || g.failed || (!g.done && !checkable(n))) {
      g.failed = true;
      unmatched.push_back(n.uid);
      return;
    }
    if (g.done) return;  // the group's first message spoke for all
    g.done = true;
    std::string uids;
    for (std::size_t k = g.begin; k < g.begin + g.size; ++k) uids += (uids.empty() ? "" : ",") + std::to_string(rows[order[k]].uid);
    // \Deleted last, after the check: the flagged message is hidden from search from then on.
    std::string letters;
    for (char c : n.need.flags)
      if (c != 'x') letters += c;
    run.zmm_line(zmm_search(folder_path, n.msgid, g.size));
    if (letters.find_first_not_of('u') != std::string::npos) run.zmm_line(zmm_modify_flags(g.size, letters));
    for (const auto& t : n.need.tags) run.zmm_line(zmm_tag(g.size, t));
    run.check_line(check_row(++run.flag_groups, folder_path, n, uids, g.size, letters));
  };
  std::string partial;
  if (status && spill)
    status = spill->read_all(run.w.buffer, [&](std::string_view chunk) {
      for (std::size_t nl; (nl = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(nl + 1)) {
        if (partial.empty()) {
          one(chunk.substr(0, nl));
        } else {
          partial.append(chunk.substr(0, nl));
          one(partial);
          partial.clear();
        }
      }
      partial.append(chunk);
      return WriteStatus{};
    });
  if (!status) {
    // Whatever was not read back cannot be scripted: those messages are reported.
    for (; next < rows.size(); ++next) unmatched.push_back(rows[next].uid);
  }
  if (spill) (void)spill->clear();
  std::vector<std::uint64_t>().swap(plain);
  plain_spill.reset();
  return unmatched;
}

}  // namespace cyrconv
