#pragma once
// The part files of a folder a shard plan splits across shards (README "Many machines"). Each
// shard holding UID range r of the folder writes, under <user root>/journal/ranges/<side name>/,
// r.uidlist (Maildir), r.manifest, r.mbox (mbox), then r.json last: the range's counts and, for
// range 0, what `report merge` needs to join the parts into the folder's files as a single
// convert's finish would commit them. Our own intermediate files: the join removes them.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "converter/convert/journal.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct RangePart {
  std::size_t range = 0, ranges = 0;
  bool failed = false;     // the range did not finish (stop, write error): the folder is not joined
  bool unchanged = false;  // an incremental run found nothing to do: nothing to join
  std::uint64_t messages = 0, written = 0, bytes_written = 0;
  // Range 0 only: the folder as convert's finish commits it.
  std::string format;                 // "maildir" | "mbox"
  std::string folder;                 // Maildir folder dir or mbox file, relative to the user root
  std::string uidlist, manifest;      // relative to the user root
  bool gzip = false, sync = false;
  bool mbox_replace = false;          // incremental: replace the earlier mbox; first run: keep_identical
  bool imapbase_pending = false;      // part 0 holds no message: the first written one needs `imapbase`
  std::string imapbase;               // "X-IMAPbase: ...\n"
  FolderDone done;
};

std::filesystem::path range_parts_dir(const std::filesystem::path& user_root, const std::string& side);
std::string range_part_file(std::size_t range, std::string_view what);  // "3.json", "0.mbox"
// "" when a path in it is not UTF-8 (JSON cannot carry it unchanged).
std::string range_part_json(const RangePart& p);
Result<RangePart> parse_range_part(std::string_view text, std::string_view file);

}  // namespace cyrconv

namespace cyrconv {

struct SplitFolderParts;  // report_merge.h

// The join of one split folder, as `report merge` does it: every range's <r>.json must be there
// (else `missing` lists the ranges); a failed range leaves the folder unjoined (`note` says so,
// the parts stay for the re-run); otherwise the parts become the folder's files
// (writers/range_join.h), its journal .done is written, .pending removed, the parts removed.
// A folder whose parts are gone and whose .done is there was joined before: nothing to do.
struct SplitJoinOutcome {
  std::vector<std::size_t> missing;
  std::string error;  // I/O or a damaged part: the parts stay, the merge can be run again
  std::string note;   // not joined, and why
  bool joined = false;
  bool joined_before = false;  // by an earlier report merge
  std::uint64_t bytes_added = 0;  // the X-IMAPbase line the join put in (counted as written, as one run does)
};
SplitJoinOutcome check_split_parts(const std::filesystem::path& out_root, const SplitFolderParts& folder);
SplitJoinOutcome join_split_folder(const std::filesystem::path& out_root, const SplitFolderParts& folder);

}  // namespace cyrconv
