#pragma once
// A mailbox whose cyrus.index cannot be used, rebuilt from its message files as Cyrus
// `reconstruct` would: one record per "<UID>." file, in UID order, size from the file,
// INTERNALDATE from the first Received: or the Date: field (else the file's mtime), no flags.
// UIDVALIDITY from mailboxes.db when it holds one, else a new one (reported). Called by the
// inventory pass, so scan, audit, plan, convert (every format) and verify all see the same
// records.
#include <cstdint>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "parsers/cyrus_index.h"
#include "writers/report_model.h"

namespace cyrconv {

struct RecoveredRecords {
  IndexHeader header;  // uidvalidity and last_uid only; minor_version 0 (no index was read)
  std::vector<IndexRecord> live;
  std::uint64_t bytes = 0;
  std::vector<Finding> findings;
};

// `files`: the UIDs of the regular message files in the directory, sorted; `archived`: those on
// the archive partition (records marked ARCHIVED when the spool has no file of that UID);
// `expunged`: UIDs a readable cyrus.expunge lists (those stay out), sorted. `why`: why the index
// is not used.
RecoveredRecords recover_from_files(const MailboxRef& mailbox, const std::vector<std::uint32_t>& files,
                                    const std::vector<std::uint32_t>& archived,
                                    const std::vector<std::uint32_t>& expunged, const std::string& why);

const char* to_string(IndexRecord::DateOrigin);

}  // namespace cyrconv
