#pragma once
// The source census: every message file in the source, found by walking the partitions
// themselves (not through discovery or inventory), whatever state each mailbox's index and
// header are in. `verify` checks that each is accounted for in the output; `audit` reports how
// many there are before anything is converted.
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "writers/report_model.h"
#include "writers/verify_report.h"

namespace cyrconv {

// Memory: 4 bytes per message file plus one path per directory (a store of millions of
// messages is verified without a string per file).
struct CensusDir {
  std::string dir;                  // lexically normal
  std::vector<std::uint32_t> uids;  // regular "<UID>." files in it, sorted
};
struct SourceCensus {
  std::vector<CensusDir> dirs;      // sorted by dir
  std::uint64_t files = 0;
  std::vector<Finding> findings;    // directories that could not be listed
};

// Walks every partition and archive partition (symbolic links are not followed; staging
// directories at a partition root, "stage." and "sync.", lost+found, and directories named
// "cyrus.*" are skipped, as discovery skips them).
SourceCensus take_census(const SourceInputs& inputs);

// What the run says became of source files, gathered by verify from its own checks. Where a
// file has several marks (a duplicate record), the first in this order wins.
enum class CensusMark : std::uint8_t {
  converted,      // verified in the output by content (or listed not_converted)
  mismatched,     // in the output or listed, but a check failed (already an error of its folder)
  expunged,       // an expunged record of a readable index or cyrus.expunge
  left_out,       // listed skipped_deleted (--skip-deleted)
  reported_lost,  // a folder's check already reported it lost_message
};
struct CensusAccounts {
  std::map<std::string, std::vector<std::pair<std::uint32_t, CensusMark>>> marks;  // dir -> (UID, mark)
  std::map<std::string, std::string> left_out_dirs;  // directory -> folder, not selected (--users, deleted)
  std::set<std::string> not_verified_dirs;           // calendar, addressbook folders
  void mark(const std::filesystem::path& dir, std::uint32_t uid, CensusMark m) {
    marks[dir.lexically_normal().string()].emplace_back(uid, m);
  }
};

// Each census file is converted, mismatched, expunged, left out, not verified, or lost (an error
// finding "lost_message_file" each unless a folder's check reported it already, and an info
// "census_left_out" per left-out folder with files).
VerifyCensus account_census(const SourceCensus& census, CensusAccounts accounts, std::vector<Finding>& findings);

// Regular "<UID>." files directly in `dir` (a folder left out, counted for its accounting).
std::uint64_t count_message_files(const std::filesystem::path& dir);

// "<UID>." with no leading zero (cyrus-on-disk.md 5.1).
bool is_message_file_name(std::string_view name);

}  // namespace cyrconv
