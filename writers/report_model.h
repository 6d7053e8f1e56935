#pragma once
// Plain data that reports are made of. The engine fills it; writers render it. Nothing here
// knows how Cyrus stores anything.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cyrconv {

// One thing found wrong or worth knowing, with where it was found.
struct Finding {
  enum class Severity { info, warning, error };
  Severity severity = Severity::warning;
  std::string kind;          // stable machine-readable class, e.g. "message_file_missing"
  std::string file;          // the file or directory concerned
  std::uint64_t offset = 0;  // byte offset in `file`, when meaningful
  std::uint32_t uid = 0;     // message UID, 0 when not about one message
  std::string detail;        // human sentence: what was expected, what was found
};
const char* to_string(Finding::Severity);

struct FolderSummary {
  std::string name;            // decoded UTF-8 as the owner sees it ("INBOX", "INBOX/Sent"...)
  std::string name_raw;        // Cyrus internal name, e.g. "user.fred.Sent"
  bool name_valid = true;      // false: modified UTF-7 did not decode; name holds the raw form
  std::string kind;            // email, calendar, addressbook, ...
  bool deleted = false;        // in the DELETED hierarchy (not converted by default)
  std::string directory;
  std::string unique_id;
  bool in_mailboxes_db = false;
  bool on_disk = false;
  std::uint32_t index_version = 0;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 0;
  std::uint64_t messages = 0;            // live records in the index
  std::uint64_t bytes = 0;               // sum of their sizes
  std::uint64_t expunged_present = 0;    // expunged records whose file is still on disk
  std::uint64_t missing_files = 0;       // live records without a message file
  std::uint64_t orphan_files = 0;        // message files no index record lists
  std::uint64_t seen_messages = 0;       // live messages carrying the owner's \Seen
  std::string seen_source;               // where \Seen came from
  std::vector<std::string> keywords;     // user flag names in slot order (unused slots skipped)
  std::vector<Finding> findings;
};

struct UserSummary {
  std::string user;  // "fred", "fred@example.com"; "" for shared (non-user) folders
  std::vector<FolderSummary> folders;
  bool subscriptions_found = false;
  std::vector<std::string> subscriptions;  // internal names
  std::string seen_db;                     // path of the seen database read, if any
  std::vector<Finding> findings;           // user-level: unreadable seen or subscription db
};

struct ScanTotals {
  std::uint64_t users = 0, folders = 0, messages = 0, bytes = 0, expunged_present = 0,
                missing_files = 0, orphan_files = 0, errors = 0, warnings = 0;
};

struct ScanReport {
  std::string tool_version;
  std::vector<std::string> inputs;      // "partition default=/path", "config=/path"
  std::string mailboxes_db;             // path, or "" when discovered by walking
  std::string mailboxes_db_format;      // flat, skiplist, twoskip, ...
  std::vector<UserSummary> users;       // sorted; shared folders under user ""
  std::vector<Finding> findings;        // store-level (discovery) findings
  std::map<std::uint32_t, std::uint64_t> index_versions;  // minor version -> folders
  ScanTotals totals;
};

}  // namespace cyrconv
