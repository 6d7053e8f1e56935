#pragma once
// The source census: every message file in the source, found by walking the partitions
// themselves (not through discovery or inventory), whatever state each mailbox's index and
// header are in. `verify` checks that each is accounted for in the output; `audit` reports how
// many there are before anything is converted.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "converter/discover.h"
#include "writers/report_model.h"
#include "writers/verify_report.h"

namespace cyrconv {

struct SourceCensus {
  std::vector<std::string> files;  // paths of regular "<UID>." files, sorted (lexically normal)
  std::vector<Finding> findings;   // directories that could not be listed
};

// Walks every partition and archive partition (symbolic links are not followed; staging
// directories at a partition root, "stage." and "sync.", lost+found, and directories named
// "cyrus.*" are skipped, as discovery skips them).
SourceCensus take_census(const SourceInputs& inputs);

// What the run says became of source files, gathered by verify from its own checks.
struct CensusAccounts {
  std::vector<std::string> converted;     // files verified in the output by content (or listed not_converted)
  std::vector<std::string> left_out;      // files listed skipped_deleted (--skip-deleted)
  std::vector<std::string> mismatched;    // files whose output failed a check (each already an error)
  std::vector<std::string> reported_lost; // files a folder's check already reported lost_message
  std::vector<std::string> expunged;      // files of expunged records of a readable index or cyrus.expunge
  std::vector<std::pair<std::string, std::string>> left_out_dirs;  // directory, folder: not selected
  std::vector<std::string> not_verified_dirs;                      // calendar, addressbook folders
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
