#pragma once
// JSON pieces every report shares (scan, audit, convert, verify), so a finding reads the same
// in all of them.
#include <nlohmann/json.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "writers/message_log.h"
#include "writers/report_model.h"

namespace cyrconv {

// {"severity", "kind", "file", "offset" (when non-zero), "uid" (when non-zero), "detail"}
nlohmann::ordered_json finding_json(const Finding& f);
nlohmann::ordered_json findings_json(const std::vector<Finding>& findings);
// A folder's "name" and "name_raw" in a report. Names (and finding files) that are not UTF-8 are
// written losslessly: invalid bytes as \xHH (backslashes doubled), the raw bytes in hex in
// "name_bytes" ("file_bytes").
void add_name_json(nlohmann::ordered_json& folder, const std::string& name, const std::string& name_raw);

// The file accounting of a folder or a run (AuditAccounting::files...), as flat members of its
// accounting object: "files", "files_listed", "files_orphans", "files_expunged",
// "files_left_out", "recovered_without_index", "files_balanced".
void add_files_json(nlohmann::ordered_json& accounting, const AuditAccounting& c);
// "N files = L of records + O orphans + E expunged + X left out" for the text summaries.
std::string files_line(const AuditAccounting& c);

// Writes a JSON document in pieces, byte for byte as nlohmann's dump(2) would write it whole,
// so that a report streams out without its whole tree in memory. Objects and arrays opened here
// take members (`key` then a value or an opened container) or elements; a value written here is
// any nlohmann value, dumped and indented to its depth. Strings that are not UTF-8 are written
// with U+FFFD, as everywhere in the reports.
class PrettyJsonStream {
 public:
  explicit PrettyJsonStream(std::ostream& out) : out_(out) {}
  void begin_object();
  void begin_array();
  void end();                                  // closes the innermost open object or array
  void key(std::string_view k);                // in an object: the next member's name
  void value(const nlohmann::ordered_json& v);
  // Every member of `obj` (an object) as members of the open object.
  void members(const nlohmann::ordered_json& obj);
  void finish() { out_ << '\n'; }              // after the outermost end(): dump(2) + "\n"

 private:
  void before_item();
  struct Level {
    bool object = false;
    bool empty = true;
  };
  std::ostream& out_;
  std::vector<Level> open_;
  bool after_key_ = false;
};

// A folder's object in a report: `members`, then "messages" with the folder's entries (those in
// the log first, then those in memory), each rendered by `entry`. A failure to read the log back
// is kept in `unread` (the first one), for the report to end with "report_incomplete".
void write_folder_with_entries(PrettyJsonStream& js, const nlohmann::ordered_json& members, const MessageLog* log,
                               const std::vector<MessageLogSpan>& spilled, const std::vector<AuditMessage>& pending,
                               const std::function<nlohmann::ordered_json(const AuditMessage&)>& entry,
                               std::string& unread);

}  // namespace cyrconv
