#pragma once
// The HTML page of a report (README "HTML report"): one self-contained file, its style, script
// and data inside, for people who look at an audit rather than read it. The page's HTML, CSS
// and JS are writers/html_page/, compiled in; the report is copied into it as data.
#include <istream>
#include <optional>
#include <ostream>
#include <string>

namespace cyrconv {

struct HtmlPageInfo {
  std::string tool_version;        // of the cyrconv writing the page
  std::string source;              // the report file, "" when the page is written by the run itself
  std::string report_time;         // when the report was written (UTC, ISO 8601), "" when unknown
  std::optional<int> exit_status;  // the run's exit status, when the run writes the page (--html)
};

// Reads a cyrconv JSON report of any kind (scan, audit, convert, verify, merged) from `report`
// and writes the page to `out`. The report is parsed as a stream and each value copied into the
// page as it is read, so memory does not grow with the report's entries. Bytes that are not
// UTF-8 become U+FFFD. Returns "" or what is wrong with the report (not JSON, not cyrconv's).
std::string write_html_report(std::istream& report, std::ostream& out, const HtmlPageInfo& info);

// `s` as a JSON string that is safe inside an HTML <script> element: '<', '>', '&', U+2028 and
// U+2029 are \u escapes, so no text in the data can close the element or start markup.
void write_script_safe_json_string(std::ostream& out, std::string_view s);

// Writes `report`'s page to `html_file` (through a temporary name, renamed when complete).
// Returns "" or the error, naming the file.
std::string write_html_report_file(const std::string& report_file, const std::string& html_file,
                                   const HtmlPageInfo& info);

}  // namespace cyrconv
