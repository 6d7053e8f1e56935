#pragma once
// What verify's per-folder checks share (converter/verify/ only): the worker's buffers, the job
// of one folder, the source messages as convert saw them, and the folder's findings.
//
// Memory does not grow with the folder beyond a few bytes a message (issue 25): source messages
// are made one at a time from the index records, the manifest is an index of its lines
// (manifest_index.h), the output's per-message facts wait in scratch files (scratch_store.h).
// Findings carry the step that made them, so a folder's findings come out in one order however
// the steps interleave: by UID, then step, then the order within the step.
#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "converter/source/census.h"
#include "converter/source/inventory.h"
#include "converter/source/io_fanout.h"
#include "converter/source/prefetch.h"
#include "converter/convert/journal.h"
#include "converter/plan/folder_naming.h"
#include "converter/plan/output_layout.h"
#include "converter/plan/plan_names.h"
#include "converter/verify/manifest_index.h"
#include "converter/verify/output_reader.h"
#include "converter/verify/verify.h"
#include "writers/verify_report.h"

namespace cyrconv::verify {

namespace fs = std::filesystem;

constexpr std::size_t read_buffer_size = 256 * 1024;
using Digest = std::array<std::uint8_t, 20>;

// Per-thread reusable state: one read buffer and one hasher, no heap work per message.
struct Worker {
  Worker() : buffer(read_buffer_size) {}
  std::vector<char> buffer;
  Sha1Stream sha;
  Prefetcher prefetch;  // --io-depth: the folder's next files, read ahead
};

// A big folder's messages are checked a window at a time (issue 25): the window's files are read
// and hashed on several threads into HashResults, then the checks run on one thread in UID order
// and take each digest from there instead of reading the file. So findings, counts and census
// marks are made exactly as by the sequential path; only the reading moved.
constexpr std::size_t default_folder_window = 1024;

// One file's digest, read ahead for a message's checks.
struct HashResult {
  fs::path path;
  bool lf_to_crlf = false;
  bool used = false;
  std::optional<Digest> digest;  // nullopt: unreadable, `why` says why
  std::uint64_t size = 0, vsize = 0, bytes_read = 0;
  std::string why;
};
// The files one message's checks will hash (at most: output, kept original, source file).
struct HashResults {
  std::array<HashResult, 3> items;
  std::size_t n = 0;
  void add(const fs::path& p, bool lf_to_crlf) {
    if (n == items.size()) return;  // a guess only: a file not here is read when asked for
    HashResult& h = items[n++];
    h.path = p;
    h.lf_to_crlf = lf_to_crlf;
    h.used = false;
  }
};

// One source message as convert saw it: a live record, or an orphan file of a recovery folder.
struct SourceMessage {
  std::uint32_t uid = 0;          // the UID in the output (orphans: 1..n)
  std::uint32_t source_uid = 0;   // the file's UID in the spool (names the quarantine files)
  const IndexRecord* record = nullptr;
  fs::path file;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::string letters;            // Maildir keyword letters
  std::int64_t internaldate = 0;
  std::uint64_t size = 0;
  bool duplicate = false;         // an earlier record had this UID
  bool file_missing = false;      // inventory found no file
  std::optional<Digest> guid;     // index GUID when the index has one
};

struct Job {
  std::size_t folder = 0;  // index into selected
  bool recovery = false;
  const FolderNameResult* name = nullptr;
  FolderNameResult sibling;                 // where convert put it when the planned target was taken
  std::optional<FolderDone> done;           // the journal's record of the folder's last conversion
  std::uint64_t bytes = 0;
  VerifyFolder out;
  // What this folder's checks found of each source file, for the census (by UID; `archived`:
  // the file is on the archive partition).
  struct Mark {
    std::uint32_t uid;
    CensusMark mark;
    bool archived;
  };
  std::vector<Mark> marks;
};

// The steps of a folder's check that make findings, in the order their findings are listed
// (within one UID).
enum class Step : std::uint8_t {
  outputs,          // manifest lines, uidlist, keywords file, listing; the mbox file as a whole
  imapbase,         // mbox: X-IMAPbase of the first and later messages
  output_messages,  // mbox: each message's own problems, in file order
  source,           // each source message against its manifest line and output
  manifest_left,    // manifest lines no source message accounts for
  output_left,      // output messages no source message accounts for
  listing_left,     // Maildir files the uidlist does not list
};

// Outcome of one source message for the counts.
enum class Outcome { verified, quarantined, listed_missing, skipped_deleted, not_converted, mismatched, lost };
void count(VerifyCounts& k, Outcome o);

struct FolderContext {
  FolderContext(const VerifyOptions& o, const MailboxRef& mb, const MailboxInventory& i, const PlannedUser& u,
                const std::vector<std::uint32_t>& orph, fs::path root, Job& j, Worker& wk, IoThreads* io_threads, int depth)
      : opt(o), mailbox(mb), inv(i), user(u), orphans(orph), user_root(std::move(root)), job(j), w(wk), io(io_threads),
        io_depth(depth) {}
  const VerifyOptions& opt;
  const MailboxRef& mailbox;
  const MailboxInventory& inv;
  const PlannedUser& user;
  const std::vector<std::uint32_t>& orphans;
  fs::path user_root;
  Job& job;
  Worker& w;
  IoThreads* io = nullptr;  // --io-depth > 1: the prefetch stage's I/O threads
  int io_depth = 1;
  // The folder's seen state: its records are read again from the index a window at a time when
  // `inv` does not hold them (converter/source/live_records.h).
  const SeenState* seen = nullptr;

  // Source side (prepare_source): the order of records (or orphans) by UID, empty when they
  // are in order already; the planned keyword letters.
  std::vector<std::uint32_t> order;
  FolderKeywords keywords;
  std::optional<std::map<char, std::string>> letters_from_file;  // Maildir: letters the keywords file gives
  ManifestIndex manifest;

  // Findings: each with the step and the position within it that order it.
  Step step = Step::outputs;
  std::uint64_t position = 0;
  struct Placed {
    Step step;
    std::uint64_t position;
    Finding finding;
  };
  std::vector<Placed> findings;

  VerifyFolder& out() { return job.out; }
  void add(Finding f) { findings.push_back(Placed{step, position, std::move(f)}); }
  // The current message's files hashed ahead (windowed folders), else null.
  HashResults* ready = nullptr;
  // The source SHA-1: the index GUID, else the source file read now.
  std::optional<Digest> source_sha1(const SourceMessage& m);
  // SHA-1 of a file as hash_file gives it (sizes into `size`/`vsize`), from `ready` when it
  // holds the file; bytes read count once either way.
  std::optional<Digest> hash(const fs::path& p, bool lf_to_crlf, std::string& why, std::uint64_t* size = nullptr,
                             std::uint64_t* vsize = nullptr);
};

Finding error(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail);
Finding info(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail);
std::string join(const std::vector<std::string>& v, const char* sep = " ");
std::string uid_text(std::uint32_t uid);

// Streams a whole file; the sink sees each chunk. Returns "" or what went wrong.
std::string read_file_chunks(const fs::path& p, Worker& w, std::uint64_t& bytes_read,
                             const std::function<void(std::string_view)>& sink);
std::optional<std::string> read_small(const fs::path& p, Worker& w, std::uint64_t& bytes_read);
// SHA-1 of a file's bytes, optionally with LF counted as CRLF; sizes in `w.sha`.
std::optional<Digest> hash_file(const fs::path& p, bool lf_to_crlf, Worker& w, std::uint64_t& bytes_read,
                                std::string& why);

// verify_source.cpp: the source messages, one at a time in UID order.
void prepare_source(FolderContext& c);
std::size_t source_count(const FolderContext& c);
void for_each_source_message(FolderContext& c, const std::function<void(const SourceMessage&)>& fn);

// verify_checks.cpp
void read_manifest(FolderContext& c, const fs::path& path);
// Each source message with the manifest line of the same Cyrus UID (null when there is none;
// lines of one UID go to its records in order); `left` for each line no message takes.
using PairFn = std::function<void(const SourceMessage&, const ManifestRecord*)>;
void pair_with_manifest(FolderContext& c, const PairFn& fn, const std::function<void(const ManifestRecord&)>& left);
// pair_with_manifest counting each message's outcome for the census and reporting lines the
// source does not have.
void for_each_source(FolderContext& c, const fs::path& mpath, const PairFn& fn);
// for_each_source a window of messages at a time: `plan` names each message's files to hash,
// which are hashed on several threads; then `fn` runs for each in order as for_each_source's.
using PlanFn = std::function<void(const SourceMessage&, const ManifestRecord*, HashResults&)>;
void for_each_source_windowed(FolderContext& c, const fs::path& mpath, std::size_t window, const PlanFn& plan,
                              const PairFn& fn);
// Whether a folder is checked in windows, and of how many messages.
std::size_t folder_window(const FolderContext& c);
bool windowed(const FolderContext& c);
// The files check_listed / check_body hash for a message (besides its output file).
void plan_kept_and_source(const fs::path& qdir, const SourceMessage& m, const ManifestRecord* e, HashResults& h);
// --io-depth > 1: reads ahead, in the order the checks read them, the files of each message.
void start_prefetch(FolderContext& c, const fs::path& qdir,
                    const std::function<std::optional<fs::path>(const SourceMessage&, const ManifestRecord*)>& output_of);
void check_manifest_entry(FolderContext& c, const SourceMessage& m, const ManifestRecord& e, const fs::path& mpath,
                          bool& bad);
void check_kept_original(FolderContext& c, const SourceMessage& m, const fs::path& qdir, const char* label, bool& bad);
// Checks that do not depend on the format: a listed disposition and the quarantine tree.
// Returns the outcome when the message is not expected in the output, nullopt otherwise.
std::optional<Outcome> check_listed(FolderContext& c, const SourceMessage& m, const ManifestRecord& e,
                                    const fs::path& qdir, const fs::path& mpath, bool& bad);
// The output's bytes against the source (a repaired message: its kept original instead) and
// the manifest's sha1; `how` is said of the output's digest.
void check_body(FolderContext& c, const SourceMessage& m, const ManifestRecord* e, const fs::path& file,
                const Digest& got, const std::string& how, const fs::path& qdir, const fs::path& mpath, bool& bad);
// The folder's findings into job.out.findings, in their order.
void finish_findings(FolderContext& c);

// verify_maildir.cpp, verify_mbox.cpp
void verify_maildir_folder(FolderContext& c);
void verify_mbox_folder(FolderContext& c);

}  // namespace cyrconv::verify
