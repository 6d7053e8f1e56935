#pragma once
// JSON pieces every report shares (scan, audit, convert, verify), so a finding reads the same
// in all of them.
#include <nlohmann/json.hpp>

#include <vector>

#include "writers/report_model.h"

namespace cyrconv {

// {"severity", "kind", "file", "offset" (when non-zero), "uid" (when non-zero), "detail"}
nlohmann::ordered_json finding_json(const Finding& f);
nlohmann::ordered_json findings_json(const std::vector<Finding>& findings);

}  // namespace cyrconv
