#pragma once
// Where convert puts a user's and a folder's output and how it spells flags and keywords there:
// shared by convert (which writes it) and verify (which re-reads it), so both agree by
// construction. README "cyrconv convert" documents the layout.
#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "converter/plan/folder_naming.h"
#include "converter/source/inventory.h"

namespace cyrconv {

// Identity suffix of a recovery folder for orphan files: never part of a real Cyrus name.
inline constexpr std::string_view orphan_suffix = "\x01orphans";

// The system flags convert carries over (Cyrus's \Answered \Flagged \Deleted \Draft \Seen bits).
std::uint32_t converted_system_flags(std::uint32_t cyrus_system_flags);
// "\\Answered", ... in the manifest's order.
std::vector<std::string> system_flag_names(std::uint32_t flags);

// fred -> fred, fred@example.com -> example.com/fred, shared folders -> _shared.
std::string user_root_relative(const std::string& owner);

// A file name for per-folder side files (manifests, quarantine): the target path, '/' -> '%2F'.
std::string side_file_name(const FolderNameResult& name);

// A folder's side files under its user's root, by side_file_name: its manifest and the
// directory of its kept originals.
inline std::filesystem::path folder_manifest_path(const std::filesystem::path& user_root, const std::string& side) {
  return user_root / "manifests" / (side + ".jsonl");
}
inline std::filesystem::path folder_quarantine_dir(const std::filesystem::path& user_root, const std::string& side) {
  return user_root / "quarantine" / side;
}

// Where a folder goes when its own target holds output convert must not merge into (an earlier
// conversion of another UIDVALIDITY, or mail cyrconv did not write): a sibling named after the
// source's UIDVALIDITY ("Trash-uv1712345678"). README "Re-runs".
FolderNameResult uidvalidity_sibling(const FolderNameResult& name, std::uint32_t uidvalidity);

// The manifest change an incremental mbox run adds to an earlier message whose flags changed in
// the source: the mbox keeps the headers written first, the manifest the new flags.
inline constexpr std::string_view mbox_flags_stale =
    "flags: changed in the source after this message was written; its mbox headers keep the earlier ones";

// Keywords of one folder: Maildir letters a.. for the first 26 used slots, and every used
// keyword in slot order (mbox X-IMAPbase).
struct FolderKeywords {
  std::vector<std::string> letters_order;
  std::array<char, 128> letter_of_slot{};  // 0 = no letter
  std::vector<std::string> all_used;
};
FolderKeywords plan_keywords(const MailboxInventory& inv);

// Keyword names of one record, slot order.
std::vector<std::string> record_keywords(const IndexRecord& r, const MailboxInventory& inv);
// Its Maildir keyword letters, slot order (unsorted; maildir_info_flags sorts).
std::string record_keyword_letters(const IndexRecord& r, const FolderKeywords& kw);

}  // namespace cyrconv
