#pragma once
// Renders an AuditReport: a human summary for a terminal and one JSON document (schema in
// README.md, "audit --report").
#include <ostream>
#include <string>

#include "writers/report_model.h"

namespace cyrconv {

inline constexpr int audit_report_schema_version = 1;

// `verbose`: every message with a finding; otherwise messages convert would write unchanged are
// only counted by kind, per folder, and folders with nothing more are summarised per user.
void write_audit_text(const AuditReport& report, std::ostream& out, bool verbose = false);
// One JSON document, pretty-printed, ending with a newline; streamed, the folders' entries read
// back from the report's MessageLog one at a time.
void write_audit_report_json(const AuditReport& report, std::ostream& out);
std::string audit_report_json(const AuditReport& report);  // the same, as a string (tests)

}  // namespace cyrconv
