#include "writers/report_json.h"

namespace cyrconv {

nlohmann::ordered_json finding_json(const Finding& f) {
  nlohmann::ordered_json j;
  j["severity"] = to_string(f.severity);
  j["kind"] = f.kind;
  j["file"] = f.file;
  if (f.offset) j["offset"] = f.offset;
  if (f.uid) j["uid"] = f.uid;
  j["detail"] = f.detail;
  return j;
}

nlohmann::ordered_json findings_json(const std::vector<Finding>& findings) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& f : findings) a.push_back(finding_json(f));
  return a;
}

}  // namespace cyrconv
