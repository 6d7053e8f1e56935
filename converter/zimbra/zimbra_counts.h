#pragma once
// `cyrconv verify --zimbra-counts FILE --zimbra-expected OUT/<user>/zimbra-expected.tsv`: what
// Zimbra holds after zimbra-import.sh against what the import had to produce, per folder.
//
// FILE is the output of `zmmailbox -z -m USER getAllFolders` (ZMailboxUtil.doGetAllFolders: two
// header lines, then per folder "%10.10s  %4.4s  %10d  %10d  %s" = id, view (4 letters), unread,
// item count, path) or of `getAllFolders -v` (ZFolder.toZJSONObject: a JSON object with "path",
// "itemCount" ("messageCount" in older releases) and "subFolders").
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/parse_result.h"

namespace cyrconv {

// Folder path (with the leading '/') -> item count.
using ZimbraFolderCounts = std::map<std::string, std::uint64_t>;

// The counts in a getAllFolders listing (either form); an error names the line that is neither.
Result<ZimbraFolderCounts> parse_zimbra_folder_listing(std::string_view text, const std::string& file);
// zimbra-expected.tsv (writers/zimbra_import_script.h).
Result<ZimbraFolderCounts> parse_zimbra_expected(std::string_view text, const std::string& file);

struct ZimbraCountDifference {
  std::string path;
  std::uint64_t expected = 0;
  std::optional<std::uint64_t> got;  // nullopt: the folder is not in Zimbra
};

// Every folder whose count in Zimbra differs from the expected one (or that Zimbra lacks).
// Folders only Zimbra has (its system folders, user's own) are not differences.
std::vector<ZimbraCountDifference> compare_zimbra_counts(const ZimbraFolderCounts& expected,
                                                         const ZimbraFolderCounts& zimbra);

}  // namespace cyrconv

namespace cyrconv {

// The verify command's --zimbra-counts mode: reads `listing` and the expected counts
// (`expected_file`, else OUT/zimbra-expected.tsv with OUT = `out`), prints every differing folder.
// Returns the exit status: 0 all equal, 1 a folder differs, 3 a file is unreadable or malformed.
int run_zimbra_counts_check(const std::string& listing, const std::string& expected_file, const std::string& out);

}  // namespace cyrconv
