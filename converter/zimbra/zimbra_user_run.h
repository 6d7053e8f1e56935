#pragma once
// What convert --format zimbra-tgz passes around (convert_zimbra.cpp lists the passes): a user
// and its archive's state, a folder job, and what one user's conversion shares between its
// folders (UserRun: the archive stream, the flag commands, the per-thread buffers). One user is
// converted by one thread, start to end; a big archive's parts may compress on others
// (zimbra_part_tasks.h).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "converter/cli/progress.h"
#include "converter/convert/convert.h"
#include "converter/convert/message_pass.h"
#include "converter/plan/run_prep.h"
#include "converter/source/io_fanout.h"
#include "converter/source/prefetch.h"
#include "converter/zimbra/zimbra_counts.h"
#include "converter/zimbra/zimbra_runs.h"
#include "parsers/message_check.h"
#include "parsers/message_id.h"
#include "writers/message_log.h"
#include "writers/output_file.h"
#include "writers/scratch_file.h"
#include "writers/tar_writer.h"
#include "writers/zimbra_archive.h"
#include "writers/zimbra_import_script.h"

namespace cyrconv {

class ZimbraPartPool;  // converter/zimbra/zimbra_part_tasks.h

inline constexpr std::string_view zimbra_archive_file = "zimbra.tgz";
inline constexpr std::string_view zimbra_flags_file = "zimbra-flags.zmm";

Finding zimbra_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail);

struct ZimbraJob : FolderJob {
  // An incremental run (converter/zimbra/zimbra_runs.h): what earlier archives hold of this folder; for
  // a calendar or address book, that it was posted from an earlier run and is left as it is.
  std::shared_ptr<const EarlierZimbraFolder> earlier;
  bool dav_earlier = false;
  SeenState seen;  // of its mailbox (or of the folder whose orphans it holds): its records are read again
  std::uint64_t flagged = 0;  // live records with flags or tags to set (counted by decide(); FolderFlags' rows)
};

struct ZimbraUser : RunUser {
  std::vector<std::size_t> jobs;  // in archive order
  bool refused = false;
  std::string fingerprint;  // of the snapshot as this user's archive holds it (journal/zimbra.done)
  std::set<std::string> tags;  // every keyword its mail folders use, and the draft tag (listed with the fingerprint)
  std::vector<ZimbraRun> runs;  // earlier archives (incremental run), oldest first
  unsigned run = 1;             // this run's number: its archive is zimbra_archive_name(run)
  ZimbraFolderCounts earlier_expected;  // the earlier run's zimbra-expected.tsv
  std::string archive_file() const { return zimbra_archive_name(run); }
  std::string flags_file() const { return zimbra_flags_name(run); }
  std::string check_file() const { return zimbra_flag_check_name(run); }
};

struct UserRun {
  const ConvertOptions& opt;
  ZimbraUser& user;
  Progress& progress;
  ZimbraArchive archive;  // this run's archive, in parts of --zimbra-part-size
  OutputFile zmm;
  OutputFile check;         // zimbra-flags-check.tsv: one row per group of zmm (FolderFlags)
  unsigned flag_groups = 0;  // groups written so far (their numbers in the check file)
  WriteStatus stream_status;  // the archive or zmm stream failed: nothing more goes in
  bool source_changed = false;  // a folder's index changed during the run: that failed the stream
  Worker w;  // checker, read buffer, prefetch of a folder's next message files (on `io`)
  MessageIdScanner message_id;
  ScratchFile raw, repaired;
  ScratchFile flag_needs;  // a folder's messages with flags, until its zmm lines are written
  IoThreads* io = nullptr;  // --io-depth > 1: the prefetch stage's I/O threads
  MessageLog* log = nullptr;  // report entries leave for it in batches (memory flat in folder size)
  // Folders without entries (path, view) and the folders that have some: the import creates
  // folders only for entries, so the empty ones that are no parent of a filled one get a
  // createFolder line at the end.
  std::vector<std::pair<std::string, std::string>> empty_folders;
  std::set<std::string> filled_folders;
  // Calendars and address books, posted one file each by the import script (never archive
  // entries: ArchiveFormatter's .ics branch closes the tar stream and ends the import).
  std::vector<ZimbraCollectionFile> collections;
  std::vector<ZimbraExpectedRow> expected;  // zimbra-expected.tsv

  UserRun(const ConvertOptions& o, ZimbraUser& u, Progress& p)
      : opt(o), user(u), progress(p), w(MessageCheckOptions{o.mime}) {}

  bool sync() const { return opt.sync != SyncPolicy::none; }
  void stream_failed(const WriteStatus& st) {
    if (stream_status) stream_status = st;
  }
  // One tar entry whose bytes are in `scratch`, or are `bytes`; it goes into the archive part
  // archive.current_name() names afterwards.
  WriteStatus add_entry(const std::string& name, ScratchFile& scratch, std::int64_t mtime, std::uint32_t mode);
  WriteStatus add_entry(const std::string& name, std::string_view bytes, std::int64_t mtime, std::uint32_t mode);
  void zmm_line(const std::string& line);
  // Moves a folder's report entries to the log once there are many: a folder of a million
  // messages with warnings would otherwise hold them all (several hundred bytes each).
  void spill_entries(ConvertFolder& out) {
    if (log && out.messages.size() >= 1024) log->spill(out.messages, out.spilled);
  }
  void check_line(const std::string& line);
};

// Keeps the bytes read from the source (in `scratch`, or re-read from `source` when they were
// never read: a duplicate record) under quarantine/<folder>/, as convert does for Maildir/mbox.
WriteStatus keep_zimbra_original(UserRun& run, const std::filesystem::path& dir, const std::filesystem::path& source,
                                 ScratchFile* scratch, std::uint32_t uid, std::string_view label, const AuditMessage& m);

// A mail folder (or a recovery folder of orphans) into the archive (zimbra_mail_folder.cpp).
void convert_zimbra_mail_folder(UserRun& run, ZimbraJob& job, const MailboxInventory& inv,
                                const std::vector<std::uint32_t>& orphan_uids);
// A calendar or address book: one file posted by the import script (zimbra_dav_folder.cpp).
void convert_zimbra_dav_folder(UserRun& run, ZimbraJob& job, const MailboxInventory& inv);
// A user's folders into its archive, then the import script and its files (zimbra_user.cpp);
// `parts` (null: none) compresses a big archive's parts on other threads.
void convert_zimbra_user(const ConvertOptions& opt, ZimbraUser& user, std::vector<ZimbraJob>& jobs,
                         const std::vector<MailboxInventory>& inv, const NamePlan& plan, Progress& progress,
                         IoThreads* io, MessageLog* log, ZimbraPartPool* parts);

}  // namespace cyrconv
