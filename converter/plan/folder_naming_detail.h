#pragma once
// Helpers folder_naming.cpp and folder_namer.cpp share (not for other callers): UTF-8 steps and
// one level's decoding and sanitising for a profile.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "converter/plan/folder_naming.h"

namespace cyrconv::folder_naming_detail {

// Decodes one code point at i (valid UTF-8 assumed) and advances i.
std::uint32_t next_cp(std::string_view s, std::size_t& i);
std::size_t utf16_units(std::string_view s);
void drop_last_cp(std::string& s);
bool is_ascii_ci(std::string_view a, std::string_view b);
std::string join(const std::vector<std::string>& v, std::string_view sep);

struct Level {
  std::string text;
  std::vector<RenameReason> reasons;
};
void add_reason(std::vector<RenameReason>& v, RenameReason r);
// One raw (mUTF-7) level as text; invalid mUTF-7 kept raw, with its reason.
Level decode_level(std::string_view raw);
// Characters no profile keeps (path safety) plus zimbra's forbidden ones; reserved level names.
void sanitize(Level& l, NamingProfile p);

}  // namespace cyrconv::folder_naming_detail
