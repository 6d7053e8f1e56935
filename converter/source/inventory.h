#pragma once
// Pass 2, inventory: header, index, cyrus.expunge and seen state of one mailbox turned into
// plain records. No message file is opened here; the directory is listed once to find
// missing message files, orphans and expunged messages still on disk.
#include <cstdint>
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
  std::vector<IndexRecord> live;   // live records, index order, \Seen of the owner applied
  std::size_t live_count = 0;      // live.size() as read (convert drops `live` until it converts the folder)
  std::uint64_t bytes = 0;
  std::uint64_t expunged_present = 0;
  std::uint64_t missing_files = 0;
  std::uint64_t orphan_files = 0;
  std::vector<std::uint32_t> expunged_files;  // UIDs counted in expunged_present (verify's census)
  std::uint64_t message_files = 0;
  std::uint64_t listed_files = 0;  // message files a live record names (each file once) // regular "<UID>." files in the directory (and its archive twin)
  std::string seen_source;         // "index", "seen_db", "cyrus.seen", "none", ...
  std::vector<Finding> findings;
};

MailboxInventory inventory_mailbox(const MailboxRef& mailbox, const SeenState& seen);

// The live records of a mailbox read again, \Seen applied as inventory_mailbox does. Convert
// keeps only each mailbox's summary between planning and converting it, so memory holds the
// records of the folders in progress, not those of the whole store. `error` is set when the
// index cannot be read or no longer matches what inventory_mailbox saw (`planned`): the
// snapshot changed during the run.
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
