#pragma once
// Plain data that reports are made of. The engine fills it; writers render it. Nothing here
// knows how Cyrus stores anything.
#include <array>
#include <bit>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

class MessageLog;  // writers/message_log.h

// A run of report entries spilled to the MessageLog at once, in their order.
struct MessageLogSpan {
  std::uint64_t offset = 0;
  std::uint64_t bytes = 0;
  std::uint64_t entries = 0;
};

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

// Messages by size: bucket i counts sizes of bit width i (0: empty; i: 2^(i-1) <= size < 2^i).
struct SizeHistogram {
  std::array<std::uint32_t, 41> log2{};  // up to 1 TiB
  void add(std::uint64_t size) {
    const auto b = static_cast<std::size_t>(std::bit_width(size));
    ++log2[b < log2.size() ? b : log2.size() - 1];
  }
};

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
  SizeHistogram sizes;                   // of the live records (the index's sizes)
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
  std::array<std::uint64_t, 41> message_sizes{};          // the folders' SizeHistograms added up
  ScanTotals totals;
};

}  // namespace cyrconv

namespace cyrconv {

// ---- `cyrconv audit` (README "audit --report schema") ----

// What convert does (audit: would do) with one message; the strings are the reports' words.
enum class MessageAction : std::uint8_t { write, repair, quarantine, recover, missing, fail, not_converted };
const char* to_string(MessageAction a);
std::optional<MessageAction> parse_message_action(std::string_view s);

// One message file (or orphan) the audit found something about, with what convert would do.
struct AuditMessage {
  std::uint32_t uid = 0;
  std::string file;
  bool orphan = false;                 // a file no index record lists
  std::uint64_t size = 0;              // bytes of the file read (missing: the index's size)
  MessageAction action = MessageAction::write;
  std::vector<std::string> changes;    // repair: each change convert makes
  std::string reason;                  // quarantine / fail: why
  std::string recover_folder;          // recover: the folder orphans go to
  std::vector<Finding> findings;
};

// Messages present in the index = written + repaired + quarantined + missing + not_converted.
struct AuditAccounting {
  std::uint64_t messages = 0;       // live records in the index (duplicates included)
  std::uint64_t written = 0;        // written unchanged
  std::uint64_t repaired = 0;
  std::uint64_t quarantined = 0;
  std::uint64_t missing = 0;        // counted apart: no file to write
  std::uint64_t not_converted = 0;  // --on-corrupt=fail stopped the folder before them
  std::uint64_t earlier = 0;        // convert: written, repaired or quarantined by an earlier run
                                    // into the same output (resume, incremental run)
  std::uint64_t earlier_quarantined = 0;  // convert: of `earlier`, quarantined then (still not in the mailbox)
  std::uint64_t orphans = 0;        // files without a record (not in `messages`)
  std::uint64_t orphans_recovered = 0;
  std::uint64_t orphans_quarantined = 0;
  // The same folder counted by its files (README "When a mailbox is damaged"): message files on
  // disk = files of live records + orphans + expunged but present + left out by request.
  std::uint64_t files = 0;
  std::uint64_t files_listed = 0;     // files of live records (of messages rebuilt without an index, too)
  std::uint64_t files_orphans = 0;    // files no record lists (converted into the recovery folder)
  std::uint64_t files_expunged = 0;   // files of expunged records, still on disk: not converted
  std::uint64_t files_left_out = 0;   // files of a folder left out by request (deleted folders)
  std::uint64_t recovered_without_index = 0;  // messages rebuilt from their files (in `messages`)
  AuditAccounting& operator+=(const AuditAccounting& c) {
    messages += c.messages;
    written += c.written;
    repaired += c.repaired;
    quarantined += c.quarantined;
    missing += c.missing;
    not_converted += c.not_converted;
    earlier += c.earlier;
    earlier_quarantined += c.earlier_quarantined;
    orphans += c.orphans;
    orphans_recovered += c.orphans_recovered;
    orphans_quarantined += c.orphans_quarantined;
    files += c.files;
    files_listed += c.files_listed;
    files_orphans += c.files_orphans;
    files_expunged += c.files_expunged;
    files_left_out += c.files_left_out;
    recovered_without_index += c.recovered_without_index;
    return *this;
  }
  bool files_balanced() const { return files == files_listed + files_orphans + files_expunged + files_left_out; }
  // Counts the files of one folder's inventory (`left_out`: the folder is not converted).
  void count_files(std::uint64_t on_disk, std::uint64_t listed, std::uint64_t orphan, std::uint64_t expunged,
                   bool left_out, std::uint64_t recovered) {
    files = on_disk;
    if (left_out) {
      files_left_out = on_disk;
      return;
    }
    files_listed = listed;
    files_orphans = orphan;
    files_expunged = expunged;
    recovered_without_index = recovered;
  }
  bool balanced() const {
    return messages == written + repaired + quarantined + missing + not_converted + earlier &&
           orphans == orphans_recovered + orphans_quarantined;
  }
};

struct AuditFolder {
  std::string name;      // as in the scan report
  std::string name_raw;
  std::string directory;
  bool deleted = false;
  std::uint32_t index_version = 0;
  bool failed = false;            // --on-corrupt=fail stopped this folder
  std::string fail_reason;
  AuditAccounting count;
  std::uint64_t bytes_read = 0;
  SizeHistogram sizes;                  // of the message files read
  std::vector<Finding> findings;        // folder-level: index, header, directory
  std::vector<AuditMessage> messages;   // only messages with findings, by UID: not yet spilled
  std::vector<MessageLogSpan> spilled;  // ... and those before them, in the report's MessageLog
};

struct AuditUser {
  std::string user;  // "" for shared and deleted folders
  std::vector<AuditFolder> folders;
};

struct AuditReport {
  std::string tool_version;
  std::vector<std::string> inputs;
  std::string on_corrupt;      // repair, quarantine, fail
  bool mime_checked = true;
  std::vector<Finding> findings;        // store-level (discovery)
  std::vector<AuditUser> users;
  std::shared_ptr<const MessageLog> message_log;  // where folders' spilled entries are
  AuditAccounting totals;
  std::uint64_t census_files = 0;       // message files found walking the source (converter/source/census.h)
  std::uint64_t folders = 0, errors = 0, warnings = 0, bytes_read = 0;
  std::array<std::uint64_t, 41> message_sizes{};  // the folders' SizeHistograms added up
  double seconds = 0;                   // wall time of the message pass
  std::map<std::string, std::uint64_t> fault_counts;  // finding kind -> occurrences
  // Problems: any error, or any message convert would not copy unchanged (repair, quarantine,
  // recover, missing, fail). Warnings alone (missing Date, broken MIME, ...) are not.
  bool problems() const {
    return errors || totals.repaired || totals.quarantined || totals.missing || totals.not_converted ||
           totals.orphans;
  }
};

}  // namespace cyrconv
