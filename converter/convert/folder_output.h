#pragma once
// Where convert writes one folder: its Maildir directory or mbox file, uidlist, manifest and
// quarantine (FolderOutput), what each UID range of it writes into (RangeOutput), and the
// per-thread buffers that stream a message from the source into them (Worker).
#include <cstdint>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "converter/convert/convert.h"
#include "converter/plan/run_prep.h"
#include "converter/convert/carry_extras.h"
#include "converter/convert/message_pass.h"
#include "converter/plan/output_layout.h"
#include "converter/source/prefetch.h"
#include "converter/source/source_io.h"
#include "parsers/message_check.h"
#include "writers/gzip_stream.h"
#include "writers/mbox.h"
#include "writers/mbox_writer.h"
#include "writers/message_encoder.h"
#include "writers/message_log.h"
#include "writers/output_file.h"

namespace cyrconv {

// A user convert writes for (converter/plan/run_prep.h), and what is carried besides messages.
struct UserPlan : RunUser {
  CarriedExtras extras;  // converter/convert/carry_extras.h
};

// Where one UID range of a folder writes, and what it counted. A folder too big for one task is
// converted as several ranges in parallel (--split-bytes, --split-messages): the first range
// writes into the folder's own mbox, uidlist and manifest, each later one into unnamed files of
// its own that are appended to the folder's in UID order once every range is done. So the
// output's bytes do not depend on the split.
struct RangeOutput {
  MboxWriter* mbox = nullptr;
  MboxWriter own_writer;  // a later range's, into own_mbox
  OutputFile* manifest = nullptr;
  OutputFile* uidlist = nullptr;
  OutputFile own_mbox, own_manifest, own_uidlist;  // a later range's
  bool mbox_first = false;            // the next message committed to the mbox carries X-IMAPbase
  std::uint64_t mbox_committed = 0;   // messages committed to the mbox by this range
  AuditAccounting count;
  std::uint64_t skipped_deleted = 0, bytes_written = 0;
  bool failed = false;
  bool lost_lines = false;            // a later range's own files failed: its lines never reach the folder's
  std::string fail_reason;
  std::vector<Finding> findings;
  std::vector<AuditMessage> messages;
  std::vector<MessageLogSpan> spilled;  // its report entries, once it ended (RunControl::log)
};

// One folder's output: a Maildir directory or an mbox file, plus manifest and quarantine.
struct FolderOutput {
  const ConvertOptions& opt;
  const UserPlan& user;
  FolderJob& job;
  const FolderNameResult* name = nullptr;  // the target actually written (a sibling, sometimes)
  std::filesystem::path maildir;        // Maildir folder directory
  std::filesystem::path mbox_file;      // mbox folder file
  OutputFile mbox;         // the folder's mbox, committed at the end
  // --gzip: the folder's mbox compressed as it is written (compress_as_written), its pending message.
  GzipOutputFile mbox_gz;
  ScratchFile mbox_pending;
  bool compressing = false;
  MboxWriter writer;       // what range 0 writes the folder's mbox through
  OutputFile uidlist;
  OutputFile manifest;
  std::filesystem::path manifest_path, uidlist_path;
  std::filesystem::path quarantine_dir;
  std::string side_name;
  bool mbox_first = true;
  MboxFolderState mbox_state;

  FolderOutput(const ConvertOptions& o, const UserPlan& u, FolderJob& j) : opt(o), user(u), job(j) {}

  bool is_mbox() const { return opt.format == OutputFormat::mbox; }

  void locate(const FolderNameResult& target);

  // `uidlist_base`: the earlier uidlist file (incremental run) to carry on, else a new one is begun.
  // `mbox_base`: the earlier mbox file to copy first (incremental run), with its X-IMAPbase.
  WriteStatus open(std::uint32_t uidvalidity, std::uint32_t uidnext, const FolderKeywords& kw, bool write_keywords,
                   const std::filesystem::path* uidlist_base, const std::set<std::uint32_t>& new_uids,
                   const std::filesystem::path* mbox_base, Worker& w);

  // --gzip, before any message is written: the mbox goes into mbox_gz as it is written.
  WriteStatus compress_as_written();

  // An incremental run never changes the earlier mbox in place: it copies it (with X-IMAPbase
  // carrying the new last UID, a fixed-width field) and appends, then renames the copy over it.
  WriteStatus copy_earlier_mbox(const std::filesystem::path& earlier, std::uint32_t uidvalidity, std::uint32_t uidnext,
                                Worker& w);

  // Keeps the original bytes of a repaired or quarantined message (those read, in `kept`, or,
  // when the file was not read, the source's), with the reason beside them.
  WriteStatus keep_original(const std::filesystem::path& source, ScratchFile* kept, std::uint32_t uid,
                            std::string_view label, const AuditMessage& m, Worker& w);

  // One message written into the output as its bytes come: begin, feed each chunk (the worker's
  // checker fed the same chunk first), end.
  struct Written {
    std::uint64_t size = 0, vsize = 0;
    std::uint64_t renamed_headers = 0, quoted_lines = 0;
    std::uint64_t mbox_mark = 0;
    bool added_final_newline = false;
    WriteStatus write;
  };
  struct Streaming {
    Written r;
    MessageEncoder encoder;
    std::string trailer;  // the encoder's header trailer (mbox metadata)
    std::int64_t internaldate = 0;
    bool first = true;
  };
  void begin_message(Streaming& s, RangeOutput& ro, OutputEncoding enc, std::uint32_t uid, std::uint32_t flags,
                     const std::vector<std::string>& keywords, const std::string& maildir_base,
                     std::int64_t internaldate, Worker& w);
  void feed_message(Streaming& s, RangeOutput& ro, std::string_view chunk, Worker& w);
  void end_message(Streaming& s, RangeOutput& ro, Worker& w);
};

// How a message is encoded for this run's format; `repair`: with the fixes its check asks for.
OutputEncoding encoding_for(const ConvertOptions& opt, bool repair, const AuditMessage* m,
                            const MessageCheckResult& check);

}  // namespace cyrconv
