#include "converter/plan/message_policy.h"

#include "parsers/hex.h"

namespace cyrconv {

namespace {

// How a fault is handled: a fault convert cannot fix quarantines, one it can repairs, a note
// is written unchanged with a warning.
enum class Treatment { quarantine, repair, note };

Treatment treatment_of(MessageFault f) {
  switch (f) {
    case MessageFault::zero_length: return Treatment::quarantine;
    case MessageFault::nul_bytes:
    case MessageFault::bare_cr:
    case MessageFault::bare_lf:
    case MessageFault::mixed_line_endings:
    case MessageFault::no_blank_line_after_header: return Treatment::repair;
    default: return Treatment::note;
  }
}

std::string repair_change(const MessageFaultHit& h) {
  const std::string n = std::to_string(h.count);
  switch (h.fault) {
    case MessageFault::nul_bytes: return "remove " + n + " NUL byte(s)";
    case MessageFault::bare_cr: return "replace " + n + " bare CR(s) with the output's line end";
    case MessageFault::bare_lf:
    case MessageFault::mixed_line_endings: return "write " + n + " bare-LF line end(s) as the output's line end";
    case MessageFault::no_blank_line_after_header:
      return "insert a blank line before offset " + std::to_string(h.offset) + " (start of the body)";
    default: return {};
  }
}

}  // namespace

const char* to_string(OnCorrupt p) {
  switch (p) {
    case OnCorrupt::repair: return "repair";
    case OnCorrupt::quarantine: return "quarantine";
    case OnCorrupt::fail: return "fail";
  }
  return "repair";
}

std::optional<OnCorrupt> parse_on_corrupt(std::string_view s) {
  if (s == "repair") return OnCorrupt::repair;
  if (s == "quarantine") return OnCorrupt::quarantine;
  if (s == "fail") return OnCorrupt::fail;
  return std::nullopt;
}

std::string orphan_folder_name(const std::string& folder) { return folder + "/Recovered-Orphans"; }

AuditMessage decide_message(const MessageSubject& m, const MessageCheckResult* check, OnCorrupt policy,
                            const std::string& folder_name) {
  AuditMessage out;
  out.uid = m.uid;
  out.file = m.file;
  out.orphan = m.record == nullptr;
  std::vector<std::string> quarantine_reasons;
  auto add = [&](Finding::Severity sev, std::string kind, std::uint64_t offset, std::string detail) {
    out.findings.push_back(Finding{sev, std::move(kind), m.file, offset, m.uid, std::move(detail)});
  };

  if (m.duplicate_record) {
    add(Finding::Severity::error, "duplicate_index_record", 0,
        "a second index record with UID " + std::to_string(m.uid) + ": its file is written once, for the first");
    quarantine_reasons.push_back("duplicate index record");
  } else if (m.read_failed) {
    add(Finding::Severity::error, "message_unreadable", 0, m.read_error);
    quarantine_reasons.push_back("file could not be read completely");
  } else if (check) {
    const MessageCheckResult& c = *check;
    if (m.record && c.size != 0 && c.size != m.record->size) {
      add(Finding::Severity::error, "size_mismatch", 0,
          "the index says " + std::to_string(m.record->size) + " bytes, the file has " + std::to_string(c.size));
      quarantine_reasons.push_back("size differs from the index");
    } else if (m.record && c.size != 0 && m.index_version >= 10 && m.record->has_guid() && c.sha1 != m.record->guid) {
      add(Finding::Severity::error, "sha1_mismatch", 0,
          "the index GUID is " + to_hex(m.record->guid) + ", the file's SHA-1 is " + to_hex(c.sha1));
      quarantine_reasons.push_back("SHA-1 differs from the index GUID");
    }
    for (const auto& h : c.faults) {
      const Treatment t = treatment_of(h.fault);
      if (h.fault == MessageFault::zero_length && m.record)
        add(Finding::Severity::error, "zero_length", 0,
            "the message file is empty; the index says " + std::to_string(m.record->size) + " bytes");
      else
        add(t == Treatment::quarantine ? Finding::Severity::error : Finding::Severity::warning, to_string(h.fault),
            h.offset, h.detail);
      if (t == Treatment::quarantine) quarantine_reasons.push_back(to_string(h.fault));
      if (t == Treatment::repair) out.changes.push_back(repair_change(h));
    }
  }

  const bool must_act = !quarantine_reasons.empty() || !out.changes.empty();
  if (policy == OnCorrupt::fail && must_act) {
    out.action = MessageAction::fail;
    out.reason = !quarantine_reasons.empty() ? quarantine_reasons.front() : "needs repair: " + out.changes.front();
  } else if (!quarantine_reasons.empty() || (policy == OnCorrupt::quarantine && !out.changes.empty())) {
    out.action = MessageAction::quarantine;
    for (const auto& r : quarantine_reasons) out.reason += (out.reason.empty() ? "" : "; ") + r;
    for (const auto& c : out.changes) out.reason += (out.reason.empty() ? "needs repair: " : "; ") + c;
    out.changes.clear();
  } else if (out.orphan) {
    out.action = MessageAction::recover;
    out.recover_folder = orphan_folder_name(folder_name);
  } else {
    out.action = out.changes.empty() ? MessageAction::write : MessageAction::repair;
  }
  return out;
}

}  // namespace cyrconv
