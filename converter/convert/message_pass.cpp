#include "converter/convert/message_pass.h"

#include <sys/stat.h>

#include "converter/plan/output_layout.h"
#include "converter/source/recover.h"

namespace cyrconv {

SourceMessage describe_source_message(const MailboxRef& source, const MailboxInventory& inv, const IndexRecord* r,
                                      std::uint32_t source_uid, ManifestEntry& me) {
  SourceMessage m;
  m.path = r ? message_file_path(source, *r) : source.dir / (std::to_string(source_uid) + ".");
  me.source_file = m.path.string();
  if (r) {
    m.flags = converted_system_flags(r->system_flags);
    m.internaldate = r->internaldate;
    if (r->date_origin != IndexRecord::DateOrigin::index) me.internaldate_source = to_string(r->date_origin);
    me.size = r->size;
    me.keywords = record_keywords(*r, inv);
  } else if (struct stat st {}; ::lstat(m.path.c_str(), &st) == 0) {
    m.internaldate = st.st_mtime;
  }
  me.flags = system_flag_names(m.flags);
  me.internaldate = m.internaldate;
  return m;
}

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
