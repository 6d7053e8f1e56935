#pragma once
// What a convert run did, per user and folder, and its rendering (text and JSON; schema in
// README "convert report").
#include <cstdint>
#include <optional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "writers/report_model.h"

namespace cyrconv {

// One ACL entry as carried (README "What is carried besides messages").
struct CarriedAcl {
  std::string identifier;      // Cyrus's: "vera", "anyone", "group:mail", "-walter"
  std::string rights;          // Cyrus's letters
  std::string dovecot;         // the dovecot-acl line ("user=vera lookup read"), "" when none
  std::string unmapped;        // Cyrus letters Dovecot has no right for
};

struct ConvertFolder {
  std::string name;            // as the owner saw it in Cyrus (UTF-8)
  std::string name_raw;        // Cyrus internal name
  std::string target;          // target path (UTF-8, '/' separated)
  std::string output;          // relative to the output root
  std::string action;          // mail_folder, export_calendar, export_addressbook, skip, deleted
  bool renamed = false;
  std::string rename_reason;
  std::uint32_t uidvalidity = 0, uidnext = 0;
  AuditAccounting count;
  std::uint64_t skipped_deleted = 0;   // \Deleted messages left out by --skip-deleted
  // Re-runs (README "Re-runs"): "new" (nothing there before), "resumed" (an interrupted run's
  // output finished), "incremental" (added to a completed conversion).
  std::string run;
  std::uint64_t flags_updated = 0;       // earlier messages whose flags followed the source
  std::uint64_t flags_not_applied = 0;   // ... that could not (mbox, or the file is gone)
  std::uint64_t kept_not_in_source = 0;  // in the output from an earlier run, gone from the source
  std::uint64_t bytes_written = 0;
  std::uint64_t planned_bytes = 0;     // --dry-run: the source bytes it would convert
  std::size_t ranges = 1;              // UID ranges converted in parallel (--split-bytes/--split-messages)
  // A folder a shard plan splits across shards: the ranges this shard converted, and where their
  // part files are (relative to the output root) until `report merge` joins them.
  bool plan_split = false;
  std::vector<std::size_t> plan_ranges;
  std::string parts;
  bool failed = false;
  std::string fail_reason;
  std::vector<Finding> findings;
  std::vector<AuditMessage> messages;  // messages not written unchanged, by UID: not yet spilled
  std::vector<MessageLogSpan> spilled; // ... and those before them, in the report's MessageLog
  // Carried besides messages (converter/convert/carry_extras.h):
  std::string special_use;              // "\\Sent" ..., the role the target gives this folder
  std::string special_use_source;       // "annotation" | "name"
  std::vector<CarriedAcl> acl;          // the folder's Cyrus ACL, each entry mapped
  std::string acl_file;                 // dovecot-acl written (relative to --out), "" when none
};

struct CarriedSieveScript {
  std::string name;                     // the ManageSieve name
  std::string file;                     // relative to --out
  std::uint32_t uid = 0;                // message in the #sieve mailbox (0: legacy sievedir file)
  bool active = false;
  bool rewritten_unsafe = false;        // could not be parsed safely: copied unchanged
  std::vector<std::string> rewrites;    // "fileinto \"B&APw-ro\" -> \"Büro\" (line 5)"
};

struct CarriedQuota {
  std::string root;                     // Cyrus quota root (internal name)
  std::optional<std::int64_t> storage_limit_kib, message_limit;
  std::uint64_t used_bytes = 0, used_messages = 0;  // computed from the written Maildir
  std::string file;                     // maildirsize written (relative to --out), "" when none
  std::string note;                     // why not carried, when it is not
};

struct CarriedExtras {
  std::string special_use_file;         // dovecot-special-use.conf (relative to --out)
  std::vector<CarriedSieveScript> sieve;
  std::string sieve_active_link;        // .dovecot.sieve (relative to --out), "" when none
  std::vector<CarriedQuota> quota;
  std::string acl_table;                // acl.tsv (relative to --out), "" when no folder has an ACL
};

struct ConvertUser {
  std::string user;        // "" for shared folders
  std::string output;      // the user's output root, relative to --out
  std::vector<ConvertFolder> folders;
  std::vector<Finding> findings;
  CarriedExtras extras;
};

struct ConvertReport {
  std::string tool_version;
  std::vector<std::string> inputs;
  std::string out, format, profile, on_corrupt;
  std::vector<Finding> findings;
  std::vector<ConvertUser> users;
  std::shared_ptr<const MessageLog> message_log;  // where folders' spilled entries are
  AuditAccounting totals;
  std::uint64_t folders = 0, skipped_deleted = 0, bytes_read = 0, bytes_written = 0, errors = 0, warnings = 0;
  double seconds = 0;
  bool fatal = false;   // nothing written: refused before any output (e.g. a colliding rename map)
  bool stopped = false; // the run stopped early (disk full, interrupted): re-run to resume
  int interrupted_by = 0; // the signal that stopped it (SIGINT, SIGTERM), 0 when none
  bool dry_run = false;   // --dry-run: the folders are what would be written; nothing was
  std::uint64_t space_needed = 0, space_free = 0;  // the space check's figures (0: not made)
  std::string stop_reason;
};

// Puts the users (folders sorted by Cyrus name) into the report and adds up its totals, errors
// and warnings: the one way every convert format finishes its report.
void add_users_and_totals(ConvertReport& r, std::map<std::string, ConvertUser> by_user);

// `verbose`: every folder with its ACL; otherwise only folders with something to note (findings,
// renames, failures, messages not written unchanged), the rest summarised per user, and each
// user's ACL entries once.
void write_convert_text(const ConvertReport& r, std::ostream& out, bool verbose = false);
// --dry-run: every user and folder with its target name, messages and bytes, renames and why
// (collisions among them), the space check; totals.
void write_dry_run_text(const ConvertReport& r, std::ostream& out);
// One JSON document, pretty-printed, ending with a newline; streamed, the folders' entries read
// back from the report's MessageLog one at a time. `trailer`'s members, if given, come last.
void write_convert_report_json(const ConvertReport& r, std::ostream& out,
                               const nlohmann::ordered_json* trailer = nullptr);
std::string convert_report_json(const ConvertReport& r);  // the same, as a string

}  // namespace cyrconv
