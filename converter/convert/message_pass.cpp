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

ScratchFile* kept_copy(Worker& w, const std::filesystem::path& dir, WriteStatus& st) {
  if (!w.original || w.original_dir != dir) {
    w.original.emplace();
    w.original_dir = dir;
    if (st = w.original->open(dir); !st) {
      w.original.reset();
      w.original_dir.clear();
      return nullptr;
    }
  }
  return &*w.original;
}

AuditMessage missing_file_message(std::uint32_t uid, const std::string& file, OnCorrupt on_corrupt,
                                  const Finding* found) {
  AuditMessage m;
  m.uid = uid;
  m.file = file;
  m.action = on_corrupt == OnCorrupt::fail ? MessageAction::fail : MessageAction::missing;
  m.reason = "message file missing";
  m.findings.push_back(found ? *found
                             : Finding{Finding::Severity::error, "message_file_missing", file, 0, uid,
                                       "the index lists a live message but its file is missing"});
  return m;
}

void decide_passed_message(const PassInput& in, PassResult& r) {
  AuditMessage& m = r.m;
  if (in.missing && !in.duplicate) {
    m = missing_file_message(in.uid, in.path->string(), in.on_corrupt, in.missing_finding);
  } else {
    MessageSubject subject;
    subject.record = in.record;
    subject.uid = in.uid;
    subject.file = in.path->string();
    subject.duplicate_record = in.duplicate;
    if (r.streamed) {
      subject.index_version = in.index_version;
      subject.read_failed = r.read.status != SourceOpen::Status::ok;
      subject.read_error = r.read.message;
    }
    m = decide_message(subject, r.streamed ? &r.check : nullptr, in.on_corrupt, *in.folder_name);
    // In the recovery folder a recovered orphan is written, with the repairs it needs.
    if (in.recovery && m.action == MessageAction::recover)
      m.action = m.changes.empty() ? MessageAction::write : MessageAction::repair;
  }
  m.size = r.read_ok() ? r.check.size : (in.record ? in.record->size : 0);
}

void account_message(AuditAccounting& c, MessageDisposition d, bool recovery) {
  switch (d) {
    case MessageDisposition::written: ++c.written; break;
    case MessageDisposition::repaired: ++c.repaired; break;
    case MessageDisposition::quarantined: ++c.quarantined; break;
    case MessageDisposition::missing: ++c.missing; break;
    case MessageDisposition::not_converted: ++c.not_converted; break;
    case MessageDisposition::skipped_deleted: break;  // counted apart, with the folder
  }
  if (recovery) count_orphan(c, d);
}

void count_orphan(AuditAccounting& c, MessageDisposition d) {
  ++(in_output(d) ? c.orphans_recovered : c.orphans_quarantined);
}

MessageDisposition disposition_for(MessageAction a) {
  switch (a) {
    case MessageAction::write:
    case MessageAction::recover: return MessageDisposition::written;
    case MessageAction::repair: return MessageDisposition::repaired;
    case MessageAction::quarantine: return MessageDisposition::quarantined;
    case MessageAction::missing: return MessageDisposition::missing;
    case MessageAction::fail:
    case MessageAction::not_converted: break;
  }
  return MessageDisposition::not_converted;
}

std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m) {
  std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + to_string(m.action) + "\n";
  if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
  for (const auto& c : m.changes) s += "change: " + c + "\n";
  for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
  return s;
}

}  // namespace cyrconv
