#pragma once
// The rename map: every folder the naming pass renamed, written for the administrator, and read
// back with --rename-map to override any mapping. Text, one entry per line, TAB-separated:
//
//   # cyrconv rename map 1
//   <user>  <profile>  <cyrus internal name>  <target path>  [<reasons>]
//
// user is the login ("fred", "fred@example.com", "" for shared folders); profile is dovecot,
// zimbra or generic (entries for other profiles are ignored when reading); target path is UTF-8
// with '/' between levels; reasons (comma-separated) are informative and ignored when read.
// Inside a field '\' is written "\\", TAB "\t", LF "\n", CR "\r". Lines starting with '#' and
// empty lines are ignored.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "converter/plan/folder_naming.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct RenameMapEntry {
  std::string user, profile, internal_name, target, reasons;
  std::size_t line = 0;  // 1-based, 0 when not read from a file
};

struct RenameMap {
  std::vector<RenameMapEntry> entries;
};

Result<RenameMap> parse_rename_map(std::string_view text, std::string_view file);

// Lines for the renamed folders of one user (all folders with all_folders), in result order.
std::string format_rename_map_header();
std::string format_rename_map_lines(std::string_view user, NamingProfile profile, const NamingOutcome& naming,
                                   bool all_folders = false);

// Refuses a map before any output is written: an entry whose target is invalid for the profile,
// two entries for one folder, or two targets of one user that collide (case-insensitive for
// zimbra and generic, after Dovecot's escaping for dovecot). Each error names both entries.
std::vector<std::string> check_rename_map(const RenameMap& map, NamingProfile profile);

// The overrides of one user for name_folders.
std::map<std::string, std::string> overrides_for(const RenameMap& map, std::string_view user, NamingProfile profile);

}  // namespace cyrconv
