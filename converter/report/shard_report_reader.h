#pragma once
// Reads one shard's convert report for `report merge` entry by entry (nlohmann's SAX interface):
// everything but the folders' per-message entries becomes a JSON tree; each folder's "messages"
// array goes to `spill` as it is read and the tree keeps only [N], N its span there. So a
// report's memory grows with its users and folders, not with its messages.
#include <istream>
#include <string>

#include <nlohmann/json.hpp>

#include "converter/report/report_entry_spill.h"

namespace cyrconv {

struct ShardReportTree {
  bool is_json = false;   // false: not JSON (or nothing but a parse error)
  std::string spill_error;  // the scratch file failed: nothing can be merged
  nlohmann::ordered_json tree;
};
ShardReportTree read_shard_report(std::istream& in, ReportEntrySpill& spill);

// The severities of a list of findings, counted into errors and warnings (throws
// nlohmann::json::exception for what is not a list of findings).
void count_severities(const nlohmann::ordered_json& findings, std::uint64_t& errors, std::uint64_t& warnings);

}  // namespace cyrconv
