#pragma once
// Pass 2, inventory: header, index, cyrus.expunge and seen state of one mailbox turned into
// plain records. No message file is opened here; the directory is listed once to find
// missing message files, orphans and expunged messages still on disk.
#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "parsers/cyrus_index.h"
#include "parsers/seen.h"
#include "writers/report_model.h"

namespace cyrconv {

// The seen databases that matter for one mailbox, loaded once per user.
struct SeenState {
  const std::map<std::string, SeenEntry>* owner = nullptr;   // owner's seen db by unique id
  const std::map<std::string, SeenEntry>* anyone = nullptr;  // pre-2.4 shared-seen pseudo-user
  std::string owner_file;
};

struct MailboxInventory {
  bool index_read = false;
  bool recovered = false;          // no usable index: `live` rebuilt from the message files (converter/source/recover.h)
  IndexHeader header;
  std::vector<std::optional<std::string>> flag_names;  // slot n = user flag bit n
  // Live records, index order, \Seen of the owner applied: only when asked for
  // (InventoryOptions::keep_records) and for a recovered mailbox. Otherwise a pass reads them
  // again a window at a time (LiveRecordReader, converter/source/live_records.h).
  std::vector<IndexRecord> live;
  std::size_t live_count = 0;      // live records as read (whether or not `live` holds them)
  bool uid_ascending = true;       // the live records are in UID order (Cyrus writes them so)
  std::array<std::uint32_t, 4> used_user_flags{};  // user flag bits any live record has
  std::uint64_t bytes = 0;
  std::uint64_t expunged_present = 0;
  std::uint64_t missing_files = 0;
  std::uint64_t orphan_files = 0;
  std::vector<std::uint32_t> expunged_files;  // UIDs counted in expunged_present (verify's census)
  // The UIDs behind the "message_file_missing" and "orphan_message_file" findings (which stay in
  // `findings` for the reports): live records whose file is missing, ascending; files no record
  // names, ascending.
  std::vector<std::uint32_t> missing_uids;
  std::vector<std::uint32_t> orphan_uids;
  std::uint64_t message_files = 0;
  std::uint64_t listed_files = 0;  // message files a live record names (each file once)
  std::string seen_source;         // "index", "seen_db", "cyrus.seen", "none", ...
  std::vector<Finding> findings;

  bool missing(std::uint32_t uid) const { return std::binary_search(missing_uids.begin(), missing_uids.end(), uid); }
};

struct InventoryOptions {
  bool keep_records = true;  // fill `live`; false: the summary and UID lists only (memory flat in folder size)
  // Each live record once, index order, \Seen applied (also a recovered mailbox's).
  std::function<void(const IndexRecord&)> each_live;
};

MailboxInventory inventory_mailbox(const MailboxRef& mailbox, const SeenState& seen, const InventoryOptions& options = {});

// The live records of a mailbox read again, whole (LiveRecordReader, held in one vector): for
// passes that still index a folder's records. `error` as LiveRecordReader's.
struct LiveRecords {
  std::vector<IndexRecord> live;
  std::string error;
};
LiveRecords reload_live_records(const MailboxRef& mailbox, const SeenState& seen, const MailboxInventory& planned);

// The folder's file accounting (AuditAccounting::files...) from its inventory.
void count_folder_files(AuditAccounting& count, const MailboxInventory& inv);

// Where a live record's message file is: the archive partition for ARCHIVED records when one
// was given, else the mailbox directory.
std::filesystem::path message_file_path(const MailboxRef& mailbox, const IndexRecord& record);

}  // namespace cyrconv
