#pragma once
// Compact rows for the HTML page's data: a report's per-message entries and findings (there may
// be 100,000 of them) become short JSON arrays instead of objects, their repeated strings (kinds,
// details, actions) numbers into a string table, and a file in the same directory as the one
// before it just its name. The page reads back the same values (writers/html_page/page.js,
// "rows"); a key the row has no column for is kept in a trailing object.
//
// finding: [severity 0 info|1 warning|2 error, kind, file, offset, uid, detail(, {other keys})]
//          file null: the entry's own file
// entry:   [uid, file, orphan 0|1, size, action, changes, reason, recover_folder, findings(, {other keys})]
//          file null: <uid>. in the directory of the file of the entry before
// Strings in kind, detail, action, changes, reason and recover_folder: a number n is the table's
// n-th string.
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace cyrconv {

// `v` as JSON that is safe inside an HTML <script> element (write_script_safe_json_string).
void write_script_safe_json(std::ostream& out, const nlohmann::json& v);

class PageRows {
 public:
  // The table holds at most this many strings of at most max_interned bytes: memory stays
  // bounded whatever the report (later strings are written out in full).
  static constexpr std::size_t max_strings = 20000, max_interned = 160;

  void start_entry_list() { last_dir_.clear(); }  // a folder's "messages" array begins
  void write_entry(std::ostream& out, const nlohmann::json& entry);
  void write_finding(std::ostream& out, const nlohmann::json& finding);
  void write_table(std::ostream& out) const;  // the strings, as a JSON array

 private:
  nlohmann::json ref(const nlohmann::json& s);  // a table index, or the value itself
  nlohmann::json finding_row(const nlohmann::json& finding, const std::string* entry_file);
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<const std::string*> order_;
  std::string last_dir_;
};

}  // namespace cyrconv
