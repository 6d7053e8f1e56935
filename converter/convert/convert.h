#pragma once
// `cyrconv convert`: discover -> inventory -> plan (names, order) -> convert (parallel over
// folders, largest first; each message file read once, checked and re-encoded in the same
// pass) -> finish (uidlists, keywords, subscriptions, manifests, report).
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "converter/plan/folder_naming.h"
#include "converter/plan/message_policy.h"
#include "converter/convert/output_owner.h"
#include "converter/plan/rename_map.h"
#include "writers/convert_report.h"
#include "writers/output_file.h"

namespace cyrconv {

// One UID range of a folder a shard plan splits across shards (shard_plan.h); `mine`: this
// shard converts it.
struct PlanFolderRange {
  std::uint32_t first_uid = 1, last_uid = 0xFFFFFFFFu;
  std::uint64_t bytes = 0, messages = 0;
  bool mine = false;
};

enum class OutputFormat { maildir, mbox, zimbra_tgz };  // zimbra_tgz: converter/zimbra/convert_zimbra.h

struct ConvertOptions {
  OutputFormat format = OutputFormat::maildir;
  std::filesystem::path out;
  std::vector<std::string> users;      // empty: every user (and shared folders)
  NamingProfile profile = NamingProfile::dovecot;
  bool crlf = false;                   // Maildir --eol crlf: keep Cyrus's CRLF
  bool skip_deleted = false;           // leave \Deleted messages out
  bool gzip = false;                   // mbox: compress each folder file to <name>.gz
  OnCorrupt on_corrupt = OnCorrupt::repair;
  bool mime = false;                   // --deep: MIME structure and base64 checks
  RenameMap rename_map;                // --rename-map overrides
  SyncPolicy sync = SyncPolicy::folder;
  int threads = 0;
  int io_depth = 1;                    // --io-depth: message files in flight per worker (prefetch.h)
  bool quiet = false;                  // no progress on stderr
  // A folder with more new messages than this (bytes, count; 0: no limit) is converted as UID
  // ranges in parallel, each at most this big (README "Performance"). Output bytes do not change.
  std::uint64_t split_bytes = 256ull << 20;
  std::uint64_t split_messages = 20000;
  bool check_space = true;             // refuse when the output file system lacks the space
  bool dry_run = false;                // plan and report what would be written; create nothing
  bool follow_source = false;          // --follow-source: converter/follow/follow_source.h
  // File name of the rename map in `out`: shards of a plan write their own (shard_plan.h).
  std::string rename_map_file = "rename-map.tsv";
  OwnerMap owner;                      // --owner: each user's tree gets its owner once done (output_owner.h)
  // A shard of a plan with split folders (README "Many machines"): each such folder's ranges by
  // (owner, internal name); its held ranges are written as part files for `report merge` to
  // join. Guests are users in `users` only for ranges this shard holds: their folders are named,
  // only those ranges are converted, nothing else is written for them.
  std::map<std::pair<std::string, std::string>, std::vector<PlanFolderRange>> plan_ranges;
  std::set<std::string> guests;
  // zimbra-tgz (docs/zimbra.md "What Zimbra refuses"): the server's line limit
  // (zimbra_lmtp_max_line_length; 0: not checked) and the accounts' quota in bytes (0: none).
  std::uint64_t zimbra_max_line = 10240;
  std::uint64_t zimbra_quota = 0;
  std::uint64_t zimbra_part_size = 1ull << 30;  // --zimbra-part-size (converter/zimbra, writers/zimbra_archive.h)
};

ConvertReport run_convert(const SourceInputs& inputs, const ConvertOptions& options);

// The report's head: output, format, profile, policy, inputs (convert and zimbra-tgz).
ConvertReport new_convert_report(const SourceInputs& inputs, const ConvertOptions& options);

}  // namespace cyrconv
