#pragma once
// The flags and tags a message needs after Zimbra's import, and per folder the zmm commands
// that find the messages again by Message-ID and set them (zimbra-flags.zmm).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "converter/zimbra/zimbra_user_run.h"
#include "writers/maildir.h"
#include "writers/scratch_file.h"
#include "writers/zimbra_flags.h"

namespace cyrconv {

// The flags a message needs after import, for the zmm file.
struct FlagNeed {
  std::string flags;              // Zimbra flag letters; "" = no modifyItemFlags
  std::vector<std::string> tags;  // Zimbra tag names
  bool any() const { return !flags.empty() || !tags.empty(); }
};
FlagNeed flag_need(std::uint32_t flags, const std::vector<std::string>& keywords);

// Per folder, what the zmm file needs to find messages again: per written message with flags or
// tags a 24-byte row (its Message-ID and its need hashed, to group messages sharing one
// Message-ID), and the full need written as they come to a scratch file (`spill`, the user's;
// read back in order by emit), so memory holds rows, not strings, of a big folder. A message
// without flags or tags is only its Message-ID's hash (a group holding one cannot be scripted:
// the search finds it too): `plain`, then past plain_window of them a scratch file of its own
// (opened in `dir`), so memory does not grow with the messages that need nothing.
// Each group of messages with flags gets its commands in zimbra-flags.zmm and one row in the
// check file (zimbra-flags-check.tsv, read by zimbra-import.sh; docs/zimbra.md "Flags and the
// indexer"): group number, folder, Message-ID, count, UIDs, the search that finds the group, the
// search that finds it only with its flags and tags set, and the letters to set last (with 'x':
// a \Deleted message is hidden from search afterwards), or "".
struct FolderFlags {
  struct Row {
    std::uint64_t id_hash = 0;
    std::uint64_t need_hash = 0;  // never 0: rows are of messages with flags or tags to set
    std::uint32_t uid = 0;
    bool searchable = false;
  };
  // One need as spilled: Message-ID (when searchable), letters, seen, tags.
  struct Needed {
    std::uint32_t uid = 0;
    std::string msgid;
    FlagNeed need;
    bool seen = false;
  };
  static constexpr std::size_t plain_window = 32768;
  std::vector<Row> rows;
  std::vector<std::uint64_t> plain;  // Message-ID hashes of messages without a need (the last ones)
  std::optional<ScratchFile> plain_spill;  // the earlier ones, 8 bytes each
  std::filesystem::path dir;               // where plain_spill is made
  ScratchFile* spill = nullptr;
  WriteStatus status;  // a spill file failed: emit() reports every message with flags

  void add(std::uint32_t uid, const std::string& msgid, std::uint32_t flags, const FlagNeed& need);

  // Writes the commands and check rows; returns the UIDs whose flags could not be scripted.
  // Clears the spill file for the next folder.
  std::vector<std::uint32_t> emit(UserRun& run, const std::string& folder_path);
};

}  // namespace cyrconv
