#include "converter/convert/message_pass.h"

namespace cyrconv {

std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m) {
  std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + m.action + "\n";
  if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
  for (const auto& c : m.changes) s += "change: " + c + "\n";
  for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
  return s;
}

}  // namespace cyrconv
