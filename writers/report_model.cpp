#include "writers/report_model.h"

namespace cyrconv {

const char* to_string(Finding::Severity s) {
  switch (s) {
    case Finding::Severity::info: return "info";
    case Finding::Severity::warning: return "warning";
    case Finding::Severity::error: return "error";
  }
  return "unknown";
}

}  // namespace cyrconv
