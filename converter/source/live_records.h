#pragma once
// A folder's live records read again from its cyrus.index a window at a time, \Seen applied as
// the inventory applies it, so a pass over a folder of a million messages holds one window of
// records (converter/source/inventory.h keeps only the folder's summary and UID lists).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "converter/source/source_io.h"
#include "parsers/cyrus_index.h"
#include "parsers/seen.h"
#include "writers/report_model.h"

namespace cyrconv {

struct SeenState;
struct MailboxInventory;

// Where a mailbox's \Seen comes from (cyrus-on-disk.md): the index itself from v12 on, else the
// owner's seen db ("anyone" for shared seen), else a 1.x cyrus.seen, else nowhere.
struct SeenSource {
  bool from_index = true;
  const UidSet* db = nullptr;  // the seen db's set (owned by the SeenState)
  std::optional<UidSet> file;  // cyrus.seen's set
  std::string name;            // inventory's seen_source: "index", "seen_db", "cyrus.seen", "none", ...
  std::optional<Finding> problem;  // cyrus.seen unreadable

  void apply(IndexRecord& r) const {
    if (from_index) return;
    r.system_flags &= ~sysflag::seen;
    const UidSet* set = file ? &*file : db;
    if (set && set->contains(r.uid)) r.system_flags |= sysflag::seen;
  }
};
SeenSource resolve_seen(const MailboxRef& mailbox, const IndexHeader& header, const SeenState& seen);

// Lets go of mapped bytes before `end` (whole pages, every MiB): a walked window of records costs
// no resident memory after it is read. The mapping stays valid; a later touch reads it again.
struct MappedRelease {
  const char* base = nullptr;
  std::size_t released = 0;
  void release_before(std::uint64_t end);
};

// The live records of a mailbox again, in index order, a window at a time. `error()` is set when
// the index cannot be read or no longer matches what the inventory saw (`planned`): header at
// open, the number of live records at the end (the snapshot changed during the run). A mailbox
// recovered without an index is rebuilt from its files again (held whole: the damaged case).
class LiveRecordReader {
 public:
  LiveRecordReader(const MailboxRef& mailbox, const SeenState& seen, const MailboxInventory& planned);
  const std::string& error() const { return error_; }
  // Replaces `out` with the next at most `max` live records; false when none are left (or on error).
  bool next(std::vector<IndexRecord>& out, std::size_t max = 4096);

  // Where the walk is: the next index record, and the live records returned before it. A reader
  // of the same index can `seek` there to read on from that record (a window read again, or a
  // UID range started in the middle of a folder). Not for a recovered mailbox.
  struct Position {
    std::size_t record = 0, live = 0;
  };
  Position position() const { return {at_, live_}; }
  void seek(Position p) {
    at_ = p.record;
    live_ = p.live;
  }

 private:
  const MailboxRef& mailbox_;
  const MailboxInventory& planned_;
  std::string error_;
  SourceOpen file_;
  MappedRelease release_;
  SeenSource seen_;
  std::size_t records_ = 0, at_ = 0, live_ = 0;
  std::vector<IndexRecord> recovered_;  // a recovered mailbox's records
  bool recovered_mode_ = false;
};

// Every live record of a mailbox again, a window at a time, in index order or (`by_uid`) in UID
// order (stable: a duplicate UID's records in index order, as the inventory lists them). Records
// the inventory holds whole (`planned.live`) are used as they are; otherwise a LiveRecordReader
// walks the index, except where it cannot give that order: a recovered mailbox, or an index out
// of UID order asked for by UID, is read whole and sorted. Returns the reader's error ("" when
// every record was read); windows given before an error at the end stay given.
std::string for_each_live_window(const MailboxRef& mailbox, const SeenState& seen, const MailboxInventory& planned,
                                 bool by_uid, const std::function<void(const std::vector<IndexRecord>&)>& each,
                                 std::size_t window = 4096);

}  // namespace cyrconv
