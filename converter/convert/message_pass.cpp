#include "converter/convert/message_pass.h"

namespace cyrconv {

AuditMessage missing_file_message(std::uint32_t uid, const std::string& file, OnCorrupt on_corrupt,
                                  const Finding* found) {
  AuditMessage m;
  m.uid = uid;
  m.file = file;
  m.action = on_corrupt == OnCorrupt::fail ? "fail" : "missing";
  m.reason = "message file missing";
  m.findings.push_back(found ? *found
                             : Finding{Finding::Severity::error, "message_file_missing", file, 0, uid,
                                       "the index lists a live message but its file is missing"});
  return m;
}

std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m) {
  std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + m.action + "\n";
  if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
  for (const auto& c : m.changes) s += "change: " + c + "\n";
  for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
  return s;
}

}  // namespace cyrconv
