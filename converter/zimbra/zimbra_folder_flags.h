#pragma once
// The flags and tags a message needs after Zimbra's import, and per folder the zmm commands
// that find the messages again by Message-ID and set them (zimbra-flags.zmm).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "converter/zimbra/zimbra_user_run.h"
#include "writers/maildir.h"
#include "writers/zimbra_flags.h"

namespace cyrconv {

// The flags a message needs after import, for the zmm file.
struct FlagNeed {
  std::string flags;              // Zimbra flag letters; "" = no modifyItemFlags
  std::vector<std::string> tags;  // Zimbra tag names
  bool any() const { return !flags.empty() || !tags.empty(); }
};
FlagNeed flag_need(std::uint32_t flags, const std::vector<std::string>& keywords);

// Per folder, what the zmm file needs to find messages again: every written message's
// Message-ID (hashed, to group messages sharing one), and the full need of those with flags.
// Each group of messages with flags gets its commands in zimbra-flags.zmm and one row in the
// check file (zimbra-flags-check.tsv, read by zimbra-import.sh; docs/zimbra.md "Flags and the
// indexer"): group number, folder, Message-ID, count, UIDs, the search that finds the group, the
// search that finds it only with its flags and tags set, and the letters to set last (with 'x':
// a \Deleted message is hidden from search afterwards), or "".
struct FolderFlags {
  struct Row {
    std::uint32_t uid = 0;
    std::uint64_t id_hash = 0;
    std::uint64_t need_hash = 0;
    std::size_t needed = SIZE_MAX;  // index into needs, or SIZE_MAX
    bool searchable = false;
  };
  struct Needed {
    std::uint32_t uid;
    std::string msgid;
    FlagNeed need;
    bool seen = false;
  };
  std::vector<Row> rows;
  std::vector<Needed> needs;

  void add(std::uint32_t uid, const std::string& msgid, std::uint32_t flags, FlagNeed need) {
    Row r;
    r.uid = uid;
    r.searchable = searchable(msgid);
    r.id_hash = std::hash<std::string>{}(msgid);
    std::string sig = need.flags + ((flags & imapflag::seen) ? "S" : "U");
    for (const auto& t : need.tags) sig += "\n" + t;
    r.need_hash = need.any() ? std::hash<std::string>{}(sig) : 0;
    if (need.any()) {
      r.needed = needs.size();
      needs.push_back(Needed{uid, msgid, std::move(need), (flags & imapflag::seen) != 0});
    }
    rows.push_back(r);
  }

  // Writes the commands and check rows; returns the UIDs whose flags could not be scripted.
  std::vector<std::uint32_t> emit(UserRun& run, const std::string& folder_path) const;
};

}  // namespace cyrconv
