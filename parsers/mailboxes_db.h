#pragma once
// mailboxes.db entries of every Cyrus version (1.x text, 2.0-2.4 "TYPE PARTITION ACL",
// 2.5-3.4 dlist, 3.6+ N/I keyed dlists), parsed from cyrusdb records.
#include <cstdint>
#include <string>
#include <vector>

#include "parsers/acl.h"
#include "parsers/cyrusdb.h"
#include "parsers/mailbox_name.h"
#include "parsers/parse_result.h"

namespace cyrconv {

enum class MailboxKind { email, netnews, collection, calendar, addressbook, notification,
                         submission, push_subscription, sieve };
const char* to_string(MailboxKind);

struct MailboxEntry {
  MailboxName name;
  MailboxKind kind = MailboxKind::email;
  std::string type_letters;     // as stored (2.0-2.4 type bits are turned into letters)
  bool tombstone = false;       // 'd': deleted, kept for replication, no files
  bool remote = false;          // 'r'
  bool reserved = false;        // 'z'
  bool moving = false;          // 'm'
  bool intermediate = false;    // 'i'
  bool legacy_dirs = false;     // 'l': name-based directory (3.6+); always true before 3.6
  std::string partition;
  std::string server;           // murder backend, when remote
  std::string unique_id;
  std::uint32_t uidvalidity = 0;
  std::vector<AclEntry> acl;
  bool convertible() const;     // email kind and none of d r z m i
};

struct MailboxesDb {
  enum class ValueFormat { v1_text, v2_type_partition_acl, v25_dlist, v36_dlist };
  ValueFormat value_format = ValueFormat::v25_dlist;
  std::vector<MailboxEntry> entries;   // one per mailbox, sorted by name
  std::vector<ParseError> bad_entries; // entries that could not be read; the rest still are
};

// Records from read_cyrusdb of mailboxes.db (or of the 1.x "mailboxes" text file).
// Keys starting with '$' (RACL, RUNQ) and 3.6+ 'A'/'I'/'J' keys are skipped.
Result<MailboxesDb> parse_mailboxes_db(const std::vector<DbRecord>& records, std::string_view file);

}  // namespace cyrconv
