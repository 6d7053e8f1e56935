#pragma once
// `cyrconv report html` and the `--html FILE` option of audit, convert and verify: the report as
// one self-contained HTML page (README "HTML report"; the page itself is writers/html_report).
#include <functional>
#include <ostream>
#include <string>

namespace cyrconv {

struct ReportHtmlRequest {
  std::string report;  // a JSON report cyrconv wrote
  std::string out;     // "": the report's name with .html for .json
};
int run_report_html_command(const ReportHtmlRequest& r, const char* tool_version);

// For a run given --html FILE: writes the page of the report the run wrote to `report_file`, or,
// when the run wrote none (no --report), of the JSON `write_json` writes into a scratch file in
// $TMPDIR (removed afterwards). `exit_status` is the run's. Returns "" or the error.
std::string write_run_html(const std::string& html_file, const std::string& report_file,
                           const std::function<void(std::ostream&)>& write_json, int exit_status,
                           const char* tool_version);

}  // namespace cyrconv
