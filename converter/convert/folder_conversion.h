#pragma once
// Converting one mail folder (or the recovery folder of a folder's orphan files), as steps:
//   prepare   what is at the target (new, resumed, incremental, taken: a sibling), the earlier
//             manifest, target UIDs, keywords, flag changes of earlier messages (folder_prepare.cpp)
//   ranges    cut into UID ranges converted in parallel, joined in UID order, or a shard plan's
//             ranges written as part files (folder_ranges.cpp)
//   messages  each message streamed once from the source into the output (folder_messages.cpp)
//   commit    uidlist, mbox, manifest, then the journal entry (folder_commit.cpp)
// The steps share the plain state below; each is a member function named for what it does.
#include <tbb/enumerable_thread_specific.h>

#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "converter/cli/progress.h"
#include "converter/convert/folder_output.h"
#include "converter/convert/prior_output.h"
#include "converter/convert/range_parts.h"
#include "converter/convert/run_control.h"
#include "converter/source/live_records.h"

namespace cyrconv {

using Workers = tbb::enumerable_thread_specific<Worker>;
struct MessageWork;  // one message on its way through a range (folder_messages.cpp)

// Converts one mail folder job; what happened goes into job.out.
void convert_folder(const ConvertOptions& opt, const UserPlan& user, FolderJob& job, const MailboxInventory& planned,
                    const SeenState& seen_state, const std::vector<std::uint32_t>& orphan_uids, Workers& workers,
                    Progress& progress, RunControl& run);

struct FolderConversion {
  FolderConversion(const ConvertOptions& opt, const UserPlan& user, FolderJob& job,
                   const std::vector<std::uint32_t>& orphan_uids, Workers& workers, Progress& progress, RunControl& run);

  const ConvertOptions& opt;
  const UserPlan& user;
  FolderJob& job;
  ConvertFolder& out;
  const std::vector<std::uint32_t>& orphan_uids;
  Workers& workers;
  Worker& w;  // the preparing thread's
  Progress& progress;
  RunControl& run;
  const bool recovery;     // the recovery folder of `source`'s orphan files
  const MailboxRef& source;
  const bool mbox_format;
  const bool sync_folder;  // --sync folder or message
  const bool sync_each;    // --sync message

  // A folder a shard plan splits across shards (README "Many machines"): this shard converts the
  // ranges it holds into part files. The holder of range 0 ("lead") also does the preparation's
  // side effects; the others make the same decisions read-only (nobody changes the folder's
  // uidlist or journal before the join).
  const std::vector<PlanFolderRange>* plan = nullptr;
  bool lead = true;

  MailboxInventory inv;  // the folder's records, read again
  std::uint32_t uidvalidity = 0, source_uidnext = 0;

  // The messages to write: live records in UID order, or the orphan files of the source folder.
  // 12 bytes a message: item i's record is the folder's i-th live record in UID order, read
  // again when needed (ItemRecords).
  struct Item {
    std::uint32_t source_uid;
    std::uint32_t target_uid;
    std::int32_t earlier = -1;  // index of its line in the earlier manifest
  };
  std::vector<Item> items;

  // Where the records come from. Held: `inv.live` whole, sorted by UID (a damaged index out of
  // UID order, a recovered mailbox). Otherwise the index is read again a window at a time;
  // `marks[k]` is where the window of live records k*record_window.. starts.
  static constexpr std::size_t record_window = 4096;
  bool records_held = false;
  const SeenState* seen_state = nullptr;
  std::vector<LiveRecordReader::Position> marks;

  FolderOutput fo;
  FolderNameResult target;
  PriorFolder prior;
  bool incremental = false;
  std::filesystem::path parts_dir;

  // Incremental: what the earlier run wrote.
  EarlierManifest earlier;
  bool earlier_uidlist = false;                 // Maildir: a non-empty uidlist to carry on (read again when written)
  std::map<char, std::string> target_keywords;  // letter -> keyword in the target now
  std::uint32_t target_next = 0;                // the target's own UIDNEXT now
  std::vector<char> dropped;                    // per earlier line: not converted then, tried again now
  std::vector<std::ptrdiff_t> item_of_line;     // per earlier line: its item, or -1

  std::uint32_t first_free = 1;
  std::size_t new_items = 0;
  std::uint32_t uidnext = 0;
  FolderKeywords kw;
  bool keywords_changed = false;
  // The manifest's first part, in order: earlier line numbers, and the lines whose flags changed
  // (by line number, ascending). The others are read again from the earlier manifest when written,
  // so memory holds 8 bytes per earlier message, not its line.
  std::vector<std::size_t> earlier_kept;
  std::vector<std::pair<std::size_t, std::string>> earlier_changed;
  bool anything_changed = true;
  std::vector<std::pair<std::size_t, std::size_t>> cuts;  // UID ranges as item index ranges
  std::vector<std::unique_ptr<RangeOutput>> ranges;

  // Item records in any order, one window in memory (windows read again when the order jumps).
  class ItemRecords {
   public:
    explicit ItemRecords(const FolderConversion& fc) : fc_(fc) {}
    // Item i's record; null for an orphan file, or when the index cannot be read again (error()).
    const IndexRecord* at(std::size_t i);
    const std::string& error() const { return error_; }

   private:
    const FolderConversion& fc_;
    std::optional<LiveRecordReader> reader_;
    std::vector<IndexRecord> window_;
    std::size_t first_ = 0;
    std::string error_;
  };

  // prepare (folder_prepare.cpp)
  bool take_plan_ranges();
  bool reload_records(const MailboxInventory& planned, const SeenState& seen);
  void list_items();
  std::filesystem::path folder_path(const FolderNameResult& n);
  PriorFolder inspect(const FolderNameResult& n);
  bool must_move(const PriorFolder& p) const;
  void choose_target();
  void fail(const std::string& kind, const std::string& file, const std::string& why);
  void read_target_state();
  void match_earlier_lines();
  void assign_target_uids();
  void choose_keywords();
  void carry_earlier_lines();
  std::optional<std::string> carried_line(std::size_t k, const Item& item, const IndexRecord& record);  // nullopt: line k as it is
  void rename_for_flags(ManifestRecord& rec, const Item& item, const std::filesystem::path& file, const FlagState& was,
                        const FlagState& now);
  void drop_preparation();
  void write_part(const RangePart& part);
  bool nothing_changed();
  void open_output();
  void cut_ranges();

  // messages (folder_messages.cpp)
  void convert_range(std::size_t begin, std::size_t end, RangeOutput& ro, bool count_progress);
  void prefetch_range(std::size_t begin, std::size_t end, RangeOutput& ro, Worker& worker);
  void describe_message(MessageWork& mw);
  void convert_message(MessageWork& mw, bool count_progress);  // through pass_message
  void undo_stream(MessageWork& mw);
  void fail_write(MessageWork& mw, const WriteStatus& st);
  WriteStatus commit_message(MessageWork& mw, const FolderOutput::Written& done);

  // ranges (folder_ranges.cpp)
  std::unique_ptr<RangeOutput> first_range();
  std::unique_ptr<RangeOutput> later_range();
  void open_own_files(RangeOutput& ro, const std::filesystem::path& dir, const std::string& hint);
  void convert_plan_ranges();
  void commit_plan_part(std::size_t k);
  void convert_split_ranges();
  void run_later_range(std::size_t k, const std::filesystem::path& scratch_dir);
  void append_range(std::size_t k, std::vector<char>& buffer, const std::string* imapbase);
  bool gather_ranges();

  // commit (folder_commit.cpp)
  void fail_commit(const WriteStatus& st);
  void commit(bool lines_lost);
};

// Keywords of a folder an incremental run adds to: the letters the target already has (ours or
// Dovecot's) stay, new keywords take the next free letters.
FolderKeywords merged_keywords(const MailboxInventory& inv, const std::map<char, std::string>& existing);

}  // namespace cyrconv
