#pragma once
// Renders a ScanReport: a human summary for a terminal and one JSON document (schema in
// README.md, "scan --json").
#include <ostream>
#include <string>

#include "writers/report_model.h"

namespace cyrconv {

inline constexpr int scan_report_schema_version = 1;

void write_scan_text(const ScanReport& report, std::ostream& out);
std::string scan_report_json(const ScanReport& report);  // pretty-printed, ends with a newline

}  // namespace cyrconv
