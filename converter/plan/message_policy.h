#pragma once
// What convert does with one message, given the index record and the check of its bytes:
// write it unchanged, repair it (the smallest change the output needs), quarantine it, or
// stop the folder (--on-corrupt=fail). audit reports the same decision without writing.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parsers/cyrus_index.h"
#include "parsers/message_check.h"
#include "writers/report_model.h"

namespace cyrconv {

enum class OnCorrupt { repair, quarantine, fail };
const char* to_string(OnCorrupt);
std::optional<OnCorrupt> parse_on_corrupt(std::string_view s);

// Name of the folder orphans of `folder` are recovered into.
std::string orphan_folder_name(const std::string& folder);

struct MessageSubject {
  const IndexRecord* record = nullptr;  // null for an orphan
  std::uint32_t uid = 0;
  std::string file;
  std::uint32_t index_version = 0;
  bool duplicate_record = false;        // an earlier record has the same UID (file not re-read)
  bool read_failed = false;
  std::string read_error;
};

// Findings and the action for one message. `out.action` is "write" when nothing needs doing.
AuditMessage decide_message(const MessageSubject& subject, const MessageCheckResult* check, OnCorrupt policy,
                            const std::string& folder_name);

}  // namespace cyrconv
