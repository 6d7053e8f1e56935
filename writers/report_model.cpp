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

namespace {
constexpr const char* action_names[] = {"write", "repair", "quarantine", "recover", "missing", "fail", "not_converted"};
}

const char* to_string(MessageAction a) { return action_names[static_cast<std::size_t>(a)]; }

std::optional<MessageAction> parse_message_action(std::string_view s) {
  for (std::size_t i = 0; i < std::size(action_names); ++i)
    if (s == action_names[i]) return static_cast<MessageAction>(i);
  return std::nullopt;
}

}  // namespace cyrconv
