#include "converter/convert/convert.h"
#include "converter/follow/follow_source.h"
#include "converter/convert/carry_extras.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "converter/zimbra/convert_zimbra.h"
#include "converter/convert/dav_export.h"
#include "converter/cli/interrupt.h"
#include "converter/source/inventory.h"
#include "converter/source/census.h"
#include "converter/source/mailbox_error.h"
#include "converter/source/recover.h"
#include "converter/source/io_fanout.h"
#include "converter/convert/journal.h"
#include "converter/convert/keyword_commands.h"
#include "converter/plan/output_layout.h"
#include "converter/plan/plan_names.h"
#include "converter/convert/prior_output.h"
#include "converter/cli/progress.h"
#include "converter/convert/range_parts.h"
#include "converter/audit/scan.h"
#include "converter/source/prefetch.h"
#include "converter/source/source_io.h"
#include "converter/source/user_state.h"
#include "parsers/message_check.h"
#include "writers/gzip_file.h"
#include "writers/imapbase_insert.h"
#include "writers/maildir.h"
#include "writers/manifest.h"
#include "writers/mbox.h"
#include "writers/message_encoder.h"
#include "writers/message_log.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// A folder's files are counted once: a folder a shard plan splits, only in the report of the
// shard that holds its first range (report merge sums the shards' counts).
bool owns_folder_files(const ConvertFolder& f) {
  return !f.plan_split || std::find(f.plan_ranges.begin(), f.plan_ranges.end(), std::size_t{0}) != f.plan_ranges.end();
}

constexpr std::size_t read_buffer_size = 256 * 1024;

// Per-thread reusable state: no heap work per message once warm.
struct Worker {
  explicit Worker(MessageCheckOptions o) : checker(o), buffer(read_buffer_size) {}
  MessageChecker checker;
  std::vector<char> buffer;
  std::string encoded;
  OutputFile message_file;
  Prefetcher prefetch;  // --io-depth: the folder's next message files, read ahead
};

struct FolderJob {
  const MailboxRef* mailbox = nullptr;     // null for a recovery folder of orphans
  const MailboxRef* orphans_of = nullptr;  // recovery folder: the folder whose orphans it holds
  std::size_t inventory = 0;               // index into the inventories
  std::size_t user = 0;
  const FolderNameResult* name = nullptr;
  std::uint64_t bytes = 0;
  ConvertFolder out;
};

struct UserPlan {
  std::string owner;
  fs::path root;   // absolute output root of this user
  std::string root_rel;
  const UserState* state = nullptr;
  NamingOutcome naming;
  std::vector<Finding> findings;
  CarriedExtras extras;  // converter/convert/carry_extras.h
};

Finding make_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

// Shared by every folder of a run: the first disk-full error stops the rest cleanly, leaving
// what is done resumable (README "Re-runs").
struct RunControl {
  std::atomic<bool> stop{false};
  std::mutex lock;
  std::string reason;
  void note(const WriteStatus& st) {
    if (st || !st.disk_full()) return;
    std::lock_guard<std::mutex> g(lock);
    if (!stop.load()) {
      reason = st.message;
      stop.store(true);
    }
  }
  // Also true once SIGINT/SIGTERM arrived (converter/cli/interrupt.h): every check of a message
  // boundary then winds the run down as a full disk does.
  bool stopped() {
    if (!stop.load(std::memory_order_relaxed) && interrupt_requested()) {
      std::lock_guard<std::mutex> g(lock);
      if (!stop.load()) {
        reason = "interrupted";
        interrupted = true;
        stop.store(true);
      }
    }
    return stop.load(std::memory_order_acquire);  // then `reason` (set before) is seen
  }
  bool interrupted = false;  // set under `lock` with `stop`
  IoThreads* io = nullptr;  // --io-depth > 1: the I/O threads of the prefetch stage
  MessageLog* log = nullptr;  // where each range's report entries go when it ends

  // --sync folder: a folder's journal entry may be written only once its files are on disk.
  // Instead of fsyncs of each folder's uidlist, manifest, mbox file and cur/ (each one a journal
  // commit of the file system, waited for by the worker), finished folders wait here, and a
  // thread of its own makes one syncfs of the output file system cover a group of them (every
  // 256 folders or 2 seconds) and then writes their entries; the run ends with one more syncfs,
  // for the entries. Workers never wait for the disk.
  struct DoneEntry {
    fs::path root;
    std::string side;
    FolderDone done;
    ConvertFolder* out;
  };
  std::mutex done_lock;
  std::condition_variable done_wake;
  std::vector<DoneEntry> done_waiting;
  bool done_quit = false;
  std::thread syncer;
  int out_fd = -1;  // the output root, for syncfs
  ~RunControl() { finish_syncer(); }

  void start_syncer(const fs::path& out) {
    out_fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    syncer = std::thread([this] {
      std::unique_lock<std::mutex> g(done_lock);
      while (!done_quit) {
        done_wake.wait_for(g, std::chrono::seconds(2), [this] { return done_quit || done_waiting.size() >= 256; });
        if (done_quit || done_waiting.empty()) continue;
        std::vector<DoneEntry> group;
        group.swap(done_waiting);
        g.unlock();
        write_done_group(group);
        g.lock();
      }
    });
  }
  void journal_done(DoneEntry e) {
    std::lock_guard<std::mutex> g(done_lock);
    done_waiting.push_back(std::move(e));
    if (done_waiting.size() >= 256) done_wake.notify_one();
  }
  // After the last folder: the rest of the entries, then a syncfs for the entries themselves.
  void finish_syncer() {
    if (!syncer.joinable()) return;
    {
      std::lock_guard<std::mutex> g(done_lock);
      done_quit = true;
    }
    done_wake.notify_one();
    syncer.join();
    write_done_group(done_waiting);
    if (out_fd >= 0) {
      (void)::syncfs(out_fd);
      ::close(out_fd);
      out_fd = -1;
    }
  }
  void write_done_group(std::vector<DoneEntry>& group) {
    if (group.empty()) return;
    std::string why;
    if (out_fd < 0 || ::syncfs(out_fd) != 0)
      why = std::string("syncfs of the output failed: ") + std::strerror(out_fd < 0 ? EBADF : errno);
    for (auto& e : group) {
      WriteStatus st = why.empty() ? write_folder_done(e.root, e.side, e.done, false) : WriteStatus{false, why};
      if (st) {
        remove_folder_pending(e.root, e.side);
        continue;
      }
      // Not journaled: the next run converts the folder again (its files are kept when equal).
      e.out->failed = true;
      e.out->fail_reason = st.message;
      e.out->findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
    }
    group.clear();
  }
};

// The file system the output goes to, for the disk-space check: the nearest existing ancestor
// of --out, its statvfs, and the block size every file is rounded up to.
struct OutputSpace {
  fs::path probe;
  struct statvfs vfs {};
  bool known = false;
  std::uint64_t block = 4096;
  std::uint64_t blocks(std::uint64_t bytes) const { return (bytes + block - 1) / block * block; }
};

OutputSpace probe_output_space(const fs::path& out) {
  OutputSpace s;
  s.probe = out;
  std::error_code ec;
  while (!s.probe.empty() && !fs::exists(s.probe, ec) && s.probe.has_parent_path() && s.probe.parent_path() != s.probe)
    s.probe = s.probe.parent_path();
  s.known = ::statvfs(s.probe.c_str(), &s.vfs) == 0;
  if (s.known && s.vfs.f_frsize) s.block = s.vfs.f_frsize;
  return s;
}

std::array<std::uint8_t, 20> sha1_from_hex(const std::string& hex) {
  std::array<std::uint8_t, 20> d{};
  auto nibble = [](char c) -> std::uint8_t {
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  };
  for (std::size_t i = 0; i < 20 && 2 * i + 1 < hex.size(); ++i)
    d[i] = static_cast<std::uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  return d;
}

ManifestEntry entry_from_record(const ManifestRecord& r) {
  ManifestEntry e;
  e.uid = r.uid;
  e.source_uid = r.source_uid;
  e.source_file = r.source_file;
  e.output_file = r.output_file;
  e.mbox_offset = r.mbox_offset.value_or(0);
  e.flags = r.flags;
  e.keywords = r.keywords;
  e.internaldate = r.internaldate;
  e.size = r.size;
  e.sha1_known = r.sha1.size() == 40;
  if (e.sha1_known) e.sha1 = sha1_from_hex(r.sha1);
  e.disposition = r.disposition;
  e.changes = r.changes;
  e.reason = r.reason;
  return e;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Where one UID range of a folder writes, and what it counted. A folder too big for one task is
// converted as several ranges in parallel (--split-bytes, --split-messages): the first range
// writes into the folder's own mbox, uidlist and manifest, each later one into unnamed files of
// its own that are appended to the folder's in UID order once every range is done. So the
// output's bytes do not depend on the split.
struct RangeOutput {
  OutputFile* mbox = nullptr;
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
  fs::path maildir;        // Maildir folder directory
  fs::path mbox_file;      // mbox folder file
  OutputFile mbox;         // the folder's mbox, committed at the end
  OutputFile uidlist;
  OutputFile manifest;
  fs::path manifest_path, uidlist_path;
  fs::path quarantine_dir;
  std::string side_name;
  bool mbox_first = true;
  MboxFolderState mbox_state;

  FolderOutput(const ConvertOptions& o, const UserPlan& u, FolderJob& j) : opt(o), user(u), job(j) {}

  bool is_mbox() const { return opt.format == OutputFormat::mbox; }

  void locate(const FolderNameResult& target) {
    name = &target;
    side_name = side_file_name(target);
    quarantine_dir = user.root / "quarantine" / side_name;
    manifest_path = user.root / "manifests" / (side_name + ".jsonl");
    maildir = user.root / "Maildir";
    if (!target.maildirpp.empty()) maildir /= target.maildirpp;
    uidlist_path = maildir / "dovecot-uidlist";
    mbox_file = user.root / "mail" / (target.mbox_path.empty() ? std::string("INBOX") : target.mbox_path);
    job.out.output = is_mbox() ? user.root_rel + "/mail/" +
                                     (target.mbox_path.empty() ? std::string("INBOX") : target.mbox_path) +
                                     (opt.gzip ? ".gz" : "")
                               : user.root_rel + "/Maildir" + (target.maildirpp.empty() ? "" : "/" + target.maildirpp);
  }

  // `uidlist_base`: the earlier uidlist (incremental run) to carry on, else a new one is begun.
  // `mbox_base`: the earlier mbox file to copy first (incremental run), with its X-IMAPbase.
  WriteStatus open(std::uint32_t uidvalidity, std::uint32_t uidnext, const FolderKeywords& kw, bool write_keywords,
                   const std::string* uidlist_base, const std::set<std::uint32_t>& new_uids, const fs::path* mbox_base,
                   Worker& w) {
    if (auto st = make_directories(user.root / "manifests"); !st) return st;
    if (auto st = manifest.open(manifest_path.parent_path(), side_name + ".jsonl"); !st) return st;
    if (!is_mbox()) {
      if (auto st = prepare_maildir(maildir, name->maildirpp.empty()); !st) return st;
      if (auto st = uidlist.open(maildir, "dovecot-uidlist"); !st) return st;
      std::string head = dovecot_uidlist(uidvalidity, uidnext, {});
      if (uidlist_base) {
        std::string error;
        auto merged = uidlist_with_uidnext(*uidlist_base, uidnext, error, new_uids);
        if (!merged) return WriteStatus{false, uidlist_path.string() + ": " + error};
        head = std::move(*merged);
      }
      if (auto st = uidlist.write(head); !st) return st;
      if (write_keywords && !kw.letters_order.empty())
        if (auto st = write_small_file(maildir / "dovecot-keywords", dovecot_keywords(kw.letters_order),
                                       opt.sync == SyncPolicy::message);
            !st)
          return st;
    } else {
      if (auto st = make_directories(mbox_file.parent_path()); !st) return st;
      if (auto st = mbox.open(mbox_file.parent_path(), mbox_file.filename().string()); !st) return st;
      mbox_state = MboxFolderState{uidvalidity, uidnext ? uidnext - 1 : 0, kw.all_used};
      if (mbox_base) return copy_earlier_mbox(*mbox_base, uidvalidity, uidnext, w);
    }
    return {};
  }

  // An incremental run never changes the earlier mbox in place: it copies it (with X-IMAPbase
  // carrying the new last UID, a fixed-width field) and appends, then renames the copy over it.
  WriteStatus copy_earlier_mbox(const fs::path& earlier, std::uint32_t uidvalidity, std::uint32_t uidnext, Worker& w) {
    bool head = true;
    WriteStatus st;
    std::string first;
    SourceStream s = stream_source_file(earlier, w.buffer, [&](std::string_view chunk) {
      if (!st) return;
      if (head) {
        first.append(chunk);
        if (first.size() < (1u << 20) && first.find("\n\n") == std::string::npos) return;
        if (auto b = find_mbox_imapbase("\n" + first); b && b->uidvalidity == uidvalidity) {
          char digits[16];
          std::snprintf(digits, sizeof digits, "%010u", uidnext ? uidnext - 1 : 0);
          first.replace(b->last_uid_offset - 1, 10, digits);
        } else {
          job.out.findings.push_back(make_finding(
              Finding::Severity::warning, "mbox_imapbase_not_updated", earlier.string(), 0,
              "no X-IMAPbase of UIDVALIDITY " + std::to_string(uidvalidity) +
                  " with a 10-digit UID field in the first message: its last UID is left as it was"));
        }
        head = false;
        st = mbox.write(first);
        first.clear();
        first.shrink_to_fit();
        return;
      }
      st = mbox.write(chunk);
    });
    if (st && head && !first.empty()) st = mbox.write(first);
    if (!st) return st;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
    mbox_first = mbox.bytes_written() == 0;
    return {};
  }

  // Keeps the original bytes of a repaired or quarantined message, with the reason beside them.
  WriteStatus keep_original(const fs::path& source, std::uint32_t uid, std::string_view label, const AuditMessage& m,
                            Worker& w) {
    if (auto st = make_directories(quarantine_dir); !st) return st;
    OutputFile copy;
    const std::string file = std::string(label) + "-" + std::to_string(uid) + ".eml";
    if (auto st = copy.open(quarantine_dir, file); !st) return st;
    WriteStatus write_status;
    SourceStream s = stream_source_file(source, w.buffer, [&](std::string_view chunk) {
      if (write_status) write_status = copy.write(chunk);
    });
    if (!write_status) return write_status;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
    // Ours to replace: a resumed run rewrites the same bytes.
    if (auto st = copy.commit(quarantine_dir / file, -1, opt.sync == SyncPolicy::message, OutputFile::OnExisting::replace);
        !st)
      return st;
    return write_small_file(quarantine_dir / (std::string(label) + "-" + std::to_string(uid) + ".reason"),
                            reason_text(uid, source, m), opt.sync == SyncPolicy::message);
  }

  static std::string reason_text(std::uint32_t uid, const fs::path& source, const AuditMessage& m) {
    std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + m.action + "\n";
    if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
    for (const auto& c : m.changes) s += "change: " + c + "\n";
    for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
    return s;
  }

  // Streams one message file into the output with `enc`; returns the check of the bytes read.
  struct Written {
    SourceStream read;
    MessageCheckResult check;
    std::uint64_t size = 0, vsize = 0;
    std::uint64_t renamed_headers = 0, quoted_lines = 0;
    std::uint64_t mbox_mark = 0;
    bool added_final_newline = false;
    WriteStatus write;
  };

  Written stream_message(RangeOutput& ro, const fs::path& source, OutputEncoding enc, std::uint32_t uid,
                         std::uint32_t flags, const std::vector<std::string>& keywords, const std::string& maildir_base,
                         std::int64_t internaldate, Worker& w) {
    Written r;
    // mbox metadata goes at the end of the message's own header: a header that starts with a
    // continuation line cannot swallow it, and the message's fields stay first.
    const std::string trailer =
        is_mbox() ? mbox_metadata_headers(uid, flags, keywords, ro.mbox_first ? &mbox_state : nullptr) : std::string();
    enc.header_trailer = trailer;
    MessageEncoder encoder(enc);
    w.checker.reset();
    if (!is_mbox()) {
      r.write = w.message_file.open(maildir / "tmp", maildir_base);
    } else {
      r.mbox_mark = ro.mbox->bytes_written();
    }
    bool first = true;
    r.read = w.prefetch.stream(source, w.buffer, [&](std::string_view chunk) {
      w.checker.feed(chunk);
      if (!r.write) return;
      if (first && is_mbox()) {
        // The From_ line needs the envelope sender, which Cyrus put in the first Return-Path.
        r.write = ro.mbox->write(mbox_from_line(envelope_sender_from_header(chunk), internaldate));
      }
      first = false;
      w.encoded.clear();
      encoder.encode(chunk, w.encoded);
      if (r.write) r.write = is_mbox() ? ro.mbox->write(w.encoded) : w.message_file.write(w.encoded);
    });
    if (first && is_mbox() && r.write) r.write = ro.mbox->write(mbox_from_line("", internaldate));  // empty file
    w.encoded.clear();
    encoder.finish(w.encoded);
    if (r.write && !w.encoded.empty()) r.write = is_mbox() ? ro.mbox->write(w.encoded) : w.message_file.write(w.encoded);
    if (r.write && is_mbox()) {
      // The empty line that separates messages; a last line without its newline gets one first.
      r.added_final_newline = encoder.added_line_end() || encoder.last_output() != '\n';
      r.write = ro.mbox->write(r.added_final_newline ? "\n\n" : "\n");
    }
    r.check = w.checker.finish();
    r.size = encoder.output_size();
    r.vsize = encoder.crlf_size();
    r.renamed_headers = encoder.renamed_headers();
    r.quoted_lines = encoder.quoted_lines();
    return r;
  }
};

OutputEncoding encoding_for(const ConvertOptions& opt, bool repair, const AuditMessage* m,
                            const MessageCheckResult& check) {
  OutputEncoding enc;
  enc.crlf_to_lf = opt.format == OutputFormat::mbox || !opt.crlf;
  enc.mboxrd_quote = opt.format == OutputFormat::mbox;
  enc.rename_mbox_headers = opt.format == OutputFormat::mbox;
  if (repair && m) {
    enc.drop_nul = true;
    enc.fix_line_ends = true;
    if (check.has(MessageFault::no_blank_line_after_header))
      for (const auto& h : check.faults)
        if (h.fault == MessageFault::no_blank_line_after_header) enc.blank_line_before = static_cast<std::int64_t>(h.offset);
  }
  return enc;
}

// Keywords of a folder an incremental run adds to: the letters the target already has (ours or
// Dovecot's) stay, new keywords take the next free letters.
FolderKeywords merged_keywords(const MailboxInventory& inv, const std::map<char, std::string>& existing) {
  FolderKeywords kw = plan_keywords(inv);
  FolderKeywords m;
  m.all_used = kw.all_used;
  for (const auto& [letter, name] : existing) {
    const std::size_t i = static_cast<std::size_t>(letter - 'a');
    if (m.letters_order.size() <= i) m.letters_order.resize(i + 1);
    m.letters_order[i] = name;
  }
  for (const auto& k : kw.all_used)
    if (std::find(m.letters_order.begin(), m.letters_order.end(), k) == m.letters_order.end() &&
        m.letters_order.size() < 26)
      m.letters_order.push_back(k);
  for (unsigned n = 0; n < 128 && n < inv.flag_names.size(); ++n) {
    if (!inv.flag_names[n]) continue;
    auto it = std::find(m.letters_order.begin(), m.letters_order.end(), *inv.flag_names[n]);
    if (it != m.letters_order.end()) m.letter_of_slot[n] = static_cast<char>('a' + (it - m.letters_order.begin()));
  }
  return m;
}

// The file of an earlier message in cur/: where the manifest says, or (renamed by Dovecot since)
// the one with the same base name.
std::optional<fs::path> find_earlier_file(const fs::path& user_root, const std::string& output_file) {
  const fs::path p = user_root / output_file;
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) return p;
  const std::string name = p.filename().string();
  const std::string base = name.substr(0, name.find(':'));
  DIR* d = ::opendir(p.parent_path().c_str());
  if (!d) return std::nullopt;
  std::optional<fs::path> found;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n.size() > base.size() && n.substr(0, base.size()) == base && n[base.size()] == ':') {
      found = p.parent_path() / std::string(n);
      break;
    }
  }
  ::closedir(d);
  return found;
}

void convert_folder(const ConvertOptions& opt, const UserPlan& user, FolderJob& job, const MailboxInventory& planned,
                    const SeenState& seen_state, const std::vector<std::uint32_t>& orphan_uids,
                    tbb::enumerable_thread_specific<Worker>& workers, Progress& progress, RunControl& run) {
  Worker& w = workers.local();
  ConvertFolder& out = job.out;
  const bool recovery = job.orphans_of != nullptr;
  // A folder a shard plan splits across shards (README "Many machines"): this shard converts the
  // ranges it holds into part files. The holder of range 0 ("lead") also does the preparation's
  // side effects; the others make the same decisions read-only (nobody changes the folder's
  // uidlist or journal before the join). The owner's entry without ranges keeps only extras.
  const std::vector<PlanFolderRange>* plan = nullptr;
  if (!recovery)
    if (auto it = opt.plan_ranges.find({user.owner, job.mailbox->name.internal()}); it != opt.plan_ranges.end())
      plan = &it->second;
  const bool lead = !plan || plan->front().mine;
  if (plan) {
    out.plan_split = true;
    out.ranges = plan->size();
    for (std::size_t r = 0; r < plan->size(); ++r)
      if ((*plan)[r].mine) out.plan_ranges.push_back(r);
    if (out.plan_ranges.empty()) {
      out.findings.clear();
      return;
    }
  }
  // The folder's records are read again now (planning kept only its summary): memory holds the
  // records of the folders in progress, not the store's.
  MailboxInventory inv = planned;
  if (!recovery && inv.live.size() != inv.live_count) {
    LiveRecords again = reload_live_records(*job.mailbox, seen_state, planned);
    if (!again.error.empty()) {
      out.uidvalidity = planned.header.uidvalidity;
      out.failed = true;
      out.fail_reason = again.error;
      out.count.messages = planned.live_count;
      out.count.not_converted = planned.live_count;
      out.findings.push_back(make_finding(Finding::Severity::error, "source_changed", job.mailbox->dir.string(), 0,
                                          again.error));
      progress.add(job.bytes, planned.live_count);
      return;
    }
    inv.live = std::move(again.live);
  }
  const bool mbox_format = opt.format == OutputFormat::mbox;
  const MailboxRef& source = recovery ? *job.orphans_of : *job.mailbox;
  const std::uint32_t uidvalidity = inv.header.uidvalidity;  // a recovery folder takes its source's
  const std::uint32_t source_uidnext =
      recovery ? (orphan_uids.empty() ? 1 : orphan_uids.back() + 1) : inv.header.last_uid + 1;
  const bool sync_folder = opt.sync != SyncPolicy::none;
  out.uidvalidity = uidvalidity;

  // The messages to write: live records in UID order, or the orphan files of the source folder.
  struct Item {
    const IndexRecord* record;
    std::uint32_t source_uid;
    std::uint32_t target_uid;
    std::ptrdiff_t earlier = -1;  // index of its line in the earlier manifest
  };
  std::vector<Item> items;
  if (recovery) {
    for (std::uint32_t uid : orphan_uids) items.push_back(Item{nullptr, uid, 0});
  } else {
    for (const auto& r : inv.live) items.push_back(Item{&r, r.uid, r.uid});
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.source_uid < b.source_uid; });
  }

  // What is already at the target: nothing, our unfinished output, our finished output, or
  // something we must not merge into (then a sibling folder takes the messages).
  FolderOutput fo(opt, user, job);
  FolderNameResult target = *job.name;
  auto folder_path = [&](const FolderNameResult& n) {
    fo.locate(n);
    return mbox_format ? fo.mbox_file : fo.maildir;
  };
  auto inspect = [&](const FolderNameResult& n) {
    return inspect_prior_folder(user.root, side_file_name(n), !mbox_format, folder_path(n), uidvalidity, opt.gzip);
  };
  auto must_move = [&](const PriorFolder& p) {
    return p.state == PriorFolder::State::foreign ||
           (p.state == PriorFolder::State::done && p.done->uidvalidity != uidvalidity);
  };
  PriorFolder prior = inspect(target);
  if (must_move(prior)) {
    const std::string why = prior.state == PriorFolder::State::foreign
                                ? prior.why
                                : "the source's UIDVALIDITY is " + std::to_string(uidvalidity) +
                                      ", the earlier conversion's " + std::to_string(prior.done->uidvalidity) +
                                      " (the folder was re-created)";
    const std::string was = target.path.empty() ? "INBOX" : target.path;
    target = uidvalidity_sibling(*job.name, uidvalidity);
    out.findings.push_back(make_finding(
        Finding::Severity::warning,
        prior.state == PriorFolder::State::foreign ? "target_not_ours" : "uidvalidity_changed",
        folder_path(*job.name).string(), 0, why + ": converted into " + target.path + " instead; " + was + " is left as it is"));
    out.target = target.path;
    out.renamed = true;
    out.rename_reason = target.why;
    prior = inspect(target);
    if (must_move(prior)) {
      prior.state = PriorFolder::State::unreadable;
      prior.why = (prior.why.empty() ? target.path : prior.why) + ": the sibling folder is taken as well";
    }
  }
  fo.locate(target);
  const bool incremental = prior.state == PriorFolder::State::done;
  out.run = incremental ? "incremental" : prior.state == PriorFolder::State::partial ? "resumed" : "new";
  const fs::path parts_dir = range_parts_dir(user.root, fo.side_name);
  if (plan && prior.state == PriorFolder::State::partial) {
    // Other shards' messages in cur/ make the folder look partial: resumed only if this shard
    // left parts of its own before.
    bool mine_before = false;
    std::error_code ec;
    for (std::size_t r : out.plan_ranges)
      for (const char* what : {"json", "manifest"})
        mine_before = mine_before || fs::exists(parts_dir / range_part_file(r, what), ec);
    out.run = mine_before ? "resumed" : "new";
  }

  auto fail = [&](const std::string& kind, const std::string& file, const std::string& why) {
    out.failed = true;
    out.fail_reason = why;
    out.findings.push_back(make_finding(Finding::Severity::error, kind, file, 0, why));
  };
  if (prior.state == PriorFolder::State::unreadable) fail("output_exists", prior.why, prior.why);

  // Incremental: the earlier manifest says what was converted; those messages are not written
  // again, the others (new in the source, or not converted last time) are.
  EarlierManifest earlier;
  std::string uidlist_text;
  std::map<char, std::string> target_keywords;  // letter -> keyword in the target now
  std::uint32_t target_next = 0;                // the target's own UIDNEXT now
  if (incremental && !out.failed) {
    earlier = read_earlier_manifest(fo.manifest_path);
    if (!earlier.error.empty()) fail("journal_unreadable", fo.manifest_path.string(), earlier.error);
    target_next = prior.done->target_uidnext;
    std::string error;
    if (!mbox_format) {
      if (auto t = read_output_text(fo.uidlist_path, error)) {
        uidlist_text = std::move(*t);
        // Dovecot may list a UID it gave before it raises N in the header.
        const ParsedUidlist u = parse_dovecot_uidlist(uidlist_text);
        target_next = std::max(target_next, u.uidnext);
        if (!u.base_of_uid.empty()) target_next = std::max(target_next, u.base_of_uid.rbegin()->first + 1);
      }
      if (auto t = read_output_text(fo.maildir / "dovecot-keywords", error)) {
        std::vector<std::string> errors;
        target_keywords = parse_dovecot_keywords(*t, errors);
      }
    } else if (!out.failed) {
      std::string head;
      (void)stream_source_file(fo.mbox_file, w.buffer, [&](std::string_view c) {
        if (head.size() < (1u << 20)) head.append(c);
      });
      if (auto b = find_mbox_imapbase("\n" + head)) target_next = std::max(target_next, b->last_uid + 1);
    }
  }
  std::map<std::uint32_t, std::vector<std::size_t>> earlier_of_uid;  // source UID -> manifest lines
  for (std::size_t k = 0; k < earlier.records.size(); ++k) earlier_of_uid[earlier.records[k].source_uid].push_back(k);
  auto converted_before = [](const ManifestRecord& r) {
    return r.disposition == "written" || r.disposition == "repaired" || r.disposition == "quarantined";
  };
  std::vector<char> dropped(earlier.records.size(), 0);  // not converted then: tried again now
  std::vector<std::ptrdiff_t> item_of_line(earlier.records.size(), -1);
  {
    std::map<std::uint32_t, std::size_t> seen;
    for (std::size_t i = 0; i < items.size(); ++i) {
      auto it = earlier_of_uid.find(items[i].source_uid);
      if (it == earlier_of_uid.end()) continue;
      const std::size_t n = seen[items[i].source_uid]++;
      if (n >= it->second.size()) continue;
      const std::size_t k = it->second[n];
      if (converted_before(earlier.records[k])) {
        items[i].earlier = static_cast<std::ptrdiff_t>(k);
        item_of_line[k] = static_cast<std::ptrdiff_t>(i);
      } else {
        dropped[k] = 1;
      }
    }
  }

  // UIDs in the target. A new message keeps its Cyrus UID unless the target already used it
  // (mail delivered there since): then it and every later one are numbered on from the target's
  // UIDNEXT. The decision is journaled before anything is written, so a resumed run repeats it.
  std::uint32_t first_free = 1;
  if (incremental) {
    first_free = std::max<std::uint32_t>(target_next, 1);
    if (prior.pending && prior.pending->uidvalidity == uidvalidity && prior.pending->source_uidnext == source_uidnext)
      first_free = prior.pending->first_free_uid;
  }
  std::uint32_t next_uid = first_free;
  bool renumbered = false;
  std::size_t new_items = 0;
  for (auto& item : items) {
    if (item.earlier >= 0) continue;
    ++new_items;
    if (recovery || (incremental && item.source_uid < next_uid)) {
      item.target_uid = next_uid;
      renumbered = renumbered || !recovery;
    } else {
      item.target_uid = item.source_uid;
    }
    next_uid = std::max(next_uid, item.target_uid + 1);
  }
  // A first run keeps the source's UIDNEXT (verify checks it); an incremental one never goes
  // below what the target already handed out.
  std::uint32_t uidnext = recovery ? next_uid : source_uidnext;
  if (incremental) uidnext = std::max({recovery ? 0u : source_uidnext, next_uid, target_next});
  out.uidnext = uidnext;
  if (incremental && new_items && !out.failed && mbox_format && opt.gzip)
    fail("mbox_gzip_not_extended", fo.mbox_file.string() + ".gz",
         "a compressed mbox is not extended by an incremental run: convert the new messages into a new --out");
  if (lead && incremental && new_items && !out.failed &&
      !(prior.pending && prior.pending->first_free_uid == first_free && prior.pending->source_uidnext == source_uidnext)) {
    if (auto st = write_folder_pending(user.root, fo.side_name, FolderPending{uidvalidity, source_uidnext, first_free},
                                       sync_folder);
        !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  }

  const FolderKeywords kw = recovery                    ? FolderKeywords{}
                            : incremental && !mbox_format ? merged_keywords(inv, target_keywords)
                                                          : plan_keywords(inv);
  bool keywords_changed = !incremental;
  if (incremental && !mbox_format)
    for (std::size_t i = 0; i < kw.letters_order.size(); ++i)
      keywords_changed = keywords_changed || !target_keywords.count(static_cast<char>('a' + i));

  // Earlier messages first: flags that changed in the source follow it (Maildir: a rename in
  // cur/, the target's own changes kept), and their manifest lines are carried over.
  std::vector<std::string> earlier_lines;  // the manifest's first part, in order
  bool anything_changed = !incremental || new_items > 0 || keywords_changed || uidnext != prior.done->target_uidnext;
  for (std::size_t k = 0; incremental && k < earlier.records.size(); ++k) {
    if (dropped[k]) {
      anything_changed = true;
      continue;
    }
    ManifestRecord rec = earlier.records[k];
    if (item_of_line[k] < 0) {
      if (converted_before(rec)) ++out.kept_not_in_source;
      earlier_lines.push_back(earlier.lines[k]);
      continue;
    }
    const Item& item = items[static_cast<std::size_t>(item_of_line[k])];
    if (recovery) {
      ++out.count.orphans;
      if (rec.disposition == "quarantined")
        ++out.count.orphans_quarantined;
      else
        ++out.count.orphans_recovered;
    } else {
      ++out.count.messages;
      ++out.count.earlier;
      if (rec.disposition == "quarantined") ++out.count.earlier_quarantined;
    }
    progress.add(item.record ? item.record->size : 0, 1);
    if (!item.record) {
      earlier_lines.push_back(earlier.lines[k]);
      continue;
    }
    FlagState was{system_flags_from_names(rec.flags), sorted(rec.keywords)};
    const std::vector<std::string> now_keywords = record_keywords(*item.record, inv);
    FlagState now{converted_system_flags(item.record->system_flags), sorted(now_keywords)};
    if (was.system == now.system && was.keywords == now.keywords) {
      earlier_lines.push_back(earlier.lines[k]);
      continue;
    }
    anything_changed = true;
    if (!lead) {  // range 0's shard renames and records it
      earlier_lines.push_back(earlier.lines[k]);
      continue;
    }
    rec.flags = system_flag_names(now.system);
    rec.keywords = now_keywords;
    if (mbox_format || rec.disposition == "quarantined" || out.failed) {
      // An mbox is not rewritten for flags: the manifest carries them (README "Re-runs").
      if (rec.disposition != "quarantined") ++out.flags_not_applied;
      if (mbox_format && rec.disposition != "quarantined" &&
          std::find(rec.changes.begin(), rec.changes.end(), std::string(mbox_flags_stale)) == rec.changes.end())
        rec.changes.push_back(std::string(mbox_flags_stale));
    } else if (auto file = find_earlier_file(user.root, rec.output_file)) {
      const MaildirName current = parse_maildir_name(file->filename().string());
      FlagState there;
      std::string letters;
      for (char c : current.flags) {
        if (c == 'D') there.system |= imapflag::draft;
        if (c == 'F') there.system |= imapflag::flagged;
        if (c == 'R') there.system |= imapflag::answered;
        if (c == 'S') there.system |= imapflag::seen;
        if (c == 'T') there.system |= imapflag::deleted;
        if (c >= 'a' && c <= 'z' && static_cast<std::size_t>(c - 'a') < kw.letters_order.size())
          there.keywords.push_back(kw.letters_order[static_cast<std::size_t>(c - 'a')]);
      }
      there.keywords = sorted(there.keywords);
      const FlagState merged = merge_flag_change(there, was, now);
      for (const auto& k2 : merged.keywords) {
        auto it = std::find(kw.letters_order.begin(), kw.letters_order.end(), k2);
        if (it != kw.letters_order.end()) letters += static_cast<char>('a' + (it - kw.letters_order.begin()));
      }
      const std::string renamed = current.base + ":2," + maildir_info_flags(merged.system, letters);
      const fs::path to = file->parent_path() / renamed;
      if (to != *file && ::renameat2(AT_FDCWD, file->c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
        ++out.flags_not_applied;
        out.findings.push_back(make_finding(Finding::Severity::warning, "flags_not_applied", file->string(),
                                            item.source_uid, std::string("rename: ") + std::strerror(errno)));
      } else {
        ++out.flags_updated;
        rec.output_file = fs::path(rec.output_file).parent_path().string() + "/" + renamed;
      }
    } else {
      ++out.flags_not_applied;  // gone from the target (expunged there since): left gone
    }
    earlier_lines.push_back(manifest_line(entry_from_record(rec), mbox_format));
    if (!earlier_lines.back().empty()) earlier_lines.back().pop_back();  // its '\n'
  }
  if (out.flags_not_applied && mbox_format)
    out.findings.push_back(make_finding(Finding::Severity::warning, "flags_not_applied", fo.mbox_file.string(), 0,
                                        std::to_string(out.flags_not_applied) +
                                            " earlier message(s) changed flags in the source; the mbox is not "
                                            "rewritten for flags, the manifest holds the new ones"));
  if (out.kept_not_in_source)
    out.findings.push_back(make_finding(Finding::Severity::info, "kept_not_in_source", fo.manifest_path.string(), 0,
                                        std::to_string(out.kept_not_in_source) +
                                            " message(s) converted earlier are no longer in the source: kept"));
  // Only range 0's shard reports what the preparation found and counted (earlier messages).
  auto drop_preparation = [&] {
    if (lead) return;
    out.count = AuditAccounting{};
    out.flags_updated = out.flags_not_applied = out.kept_not_in_source = 0;
    out.findings.clear();
    out.messages.clear();
  };
  auto write_part = [&](const RangePart& part) {
    const std::string text = range_part_json(part);
    WriteStatus st = text.empty() ? WriteStatus{false, parts_dir.string() + ": a path of the folder is not UTF-8"}
                                  : make_directories(parts_dir);
    if (st) st = write_small_file(parts_dir / range_part_file(part.range, "json"), text, sync_folder);
    if (!st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  };
  if (incremental && !anything_changed) {  // the same snapshot again: nothing to touch
    if (lead && prior.pending) remove_folder_pending(user.root, fo.side_name);  // done, killed before this went
    if (plan) {
      drop_preparation();
      for (std::size_t r : out.plan_ranges) {
        RangePart part;
        part.range = r;
        part.ranges = plan->size();
        part.unchanged = true;
        write_part(part);
      }
    }
    return;
  }

  if (!out.failed) {
    const fs::path mbox_base = fo.mbox_file;
    std::string error;
    const bool have_mbox = incremental && mbox_format && fs::exists(mbox_base);
    std::set<std::uint32_t> new_uids;  // listed already if an interrupted run of this addition got that far
    for (const auto& item : items)
      if (item.earlier < 0) new_uids.insert(item.target_uid);
    if (auto st = fo.open(uidvalidity, uidnext, kw, keywords_changed && lead,
                          incremental && !uidlist_text.empty() ? &uidlist_text : nullptr, new_uids,
                          have_mbox && lead ? &mbox_base : nullptr, w);
        !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  }
  for (const auto& line : earlier_lines)
    if (!out.failed) (void)fo.manifest.write(line + "\n");
  const bool sync_each = opt.sync == SyncPolicy::message;

  std::set<std::uint32_t> missing;
  for (const auto& f : inv.findings)
    if (f.kind == "message_file_missing") missing.insert(f.uid);

  // UID ranges: a folder with more new messages than --split-bytes / --split-messages is cut into
  // ranges converted in parallel, never inside a run of records of one UID (a duplicate record
  // is recognised by its predecessor). Not with --on-corrupt fail: stopping a folder at its first
  // bad message needs them in UID order.
  std::vector<std::pair<std::size_t, std::size_t>> cuts;
  if (plan) {
    // The plan's UID bounds (a range may hold no item of this snapshot).
    auto at = [&](std::uint64_t uid) {
      return static_cast<std::size_t>(
          std::partition_point(items.begin(), items.end(), [&](const Item& it) { return it.source_uid < uid; }) -
          items.begin());
    };
    for (const auto& r : *plan) cuts.emplace_back(at(r.first_uid), at(std::uint64_t{r.last_uid} + 1));
  } else {
    const bool may_split = opt.on_corrupt != OnCorrupt::fail && !out.failed;
    std::size_t begin = 0;
    std::uint64_t bytes = 0, count = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].earlier >= 0) continue;
      const bool full = (opt.split_bytes && bytes >= opt.split_bytes) || (opt.split_messages && count >= opt.split_messages);
      if (may_split && full && i > begin && items[i].source_uid != items[i - 1].source_uid) {
        cuts.emplace_back(begin, i);
        begin = i;
        bytes = count = 0;
      }
      bytes += items[i].record ? items[i].record->size : 0;
      ++count;
    }
    cuts.emplace_back(begin, items.size());
  }
  out.ranges = cuts.size();

  auto convert_range = [&](std::size_t begin, std::size_t end, RangeOutput& ro, bool count_progress) {
    Worker& worker = workers.local();
    // --io-depth: the files the loop below streams, in its order, read ahead.
    PrefetchScope prefetch_scope{worker.prefetch};
    if (run.io && !ro.failed) {
      std::vector<fs::path> ahead;
      std::uint32_t prev = 0;
      for (std::size_t i = begin; i < end; ++i) {
        const Item& item = items[i];
        const bool dup = item.record && item.source_uid == prev;
        prev = item.source_uid;
        const IndexRecord* r = item.record;
        if (item.earlier >= 0 || dup || (r && missing.count(item.source_uid)) ||
            (r && opt.skip_deleted && (converted_system_flags(r->system_flags) & imapflag::deleted)))
          continue;
        ahead.push_back(r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + "."));
      }
      worker.prefetch.start(run.io, static_cast<std::size_t>(opt.io_depth), read_buffer_size, std::move(ahead));
    }
    std::uint32_t previous_uid = 0;
    for (std::size_t i = begin; i < end; ++i) {
    const Item& item = items[i];
    const bool duplicate = item.record && item.source_uid == previous_uid;
    previous_uid = item.source_uid;
    if (item.earlier >= 0) continue;
    if (run.stopped() && !ro.failed) {
      ro.failed = true;
      ro.fail_reason = "the run stopped (" + run.reason + "): the rest of this folder is not converted; re-run to resume";
      ro.findings.push_back(make_finding(Finding::Severity::error, "stopped", "", 0, ro.fail_reason));
    }
    const IndexRecord* r = item.record;
    const fs::path path = r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + ".");
    ManifestEntry me;
    me.uid = item.target_uid;
    me.source_uid = item.source_uid;
    me.source_file = path.string();
    std::uint32_t flags = 0;
    std::int64_t internaldate = 0;
    if (r) {
      flags = converted_system_flags(r->system_flags);
      internaldate = r->internaldate;
      if (r->date_origin != IndexRecord::DateOrigin::index) me.internaldate_source = to_string(r->date_origin);
      me.size = r->size;
      me.keywords = record_keywords(*r, inv);
    } else {
      // An orphan has no record: Cyrus set its file's mtime to the INTERNALDATE on append.
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) internaldate = st.st_mtime;
    }
    me.flags = system_flag_names(flags);
    me.internaldate = internaldate;

    AuditMessage m;
    if (recovery)
      ++ro.count.orphans;
    else
      ++ro.count.messages;
    if (ro.failed) {
      ++ro.count.not_converted;
      me.disposition = "not_converted";
      (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
      if (count_progress) progress.add(r ? r->size : 0, 1);
      continue;
    }
    if (r && opt.skip_deleted && (flags & imapflag::deleted)) {
      ++ro.skipped_deleted;
      me.disposition = "skipped_deleted";
      (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
      if (count_progress) progress.add(r->size, 1);
      continue;
    }
    if (r && !duplicate && missing.count(item.source_uid)) {
      m.uid = item.source_uid;
      m.file = path.string();
      m.action = opt.on_corrupt == OnCorrupt::fail ? "fail" : "missing";
      m.reason = "message file missing";
      m.findings.push_back(make_finding(Finding::Severity::error, "message_file_missing", path.string(), m.uid,
                                        "the index lists a live message but its file is missing"));
    }

    // Stream: read once, check and encode in the same pass.
    const std::string base = maildir_base_name(uidvalidity, item.target_uid, internaldate);
    const std::vector<std::string>& kws = me.keywords;
    const std::string letters = r ? record_keyword_letters(*r, kw) : std::string();

    FolderOutput::Written wr;
    bool streamed = false;
    if (m.action.empty() && !duplicate) {
      wr = fo.stream_message(ro, path, encoding_for(opt, false, nullptr, MessageCheckResult{}), item.target_uid, flags,
                             kws, base, internaldate, worker);
      streamed = true;
      me.sha1 = wr.check.sha1;
      me.sha1_known = wr.read.status == SourceOpen::Status::ok;
      if (!r) me.size = wr.check.size;
      ro.bytes_written += wr.size;
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.index_version = inv.header.minor_version;
      subject.read_failed = wr.read.status != SourceOpen::Status::ok;
      subject.read_error = wr.read.message;
      m = decide_message(subject, &wr.check, opt.on_corrupt, job.out.name);
      // This is the recovery folder: a recovered orphan is written, with the repairs it needs.
      if (m.action == "recover") m.action = m.changes.empty() ? "write" : "repair";
    } else if (duplicate) {
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.duplicate_record = true;
      m = decide_message(subject, nullptr, opt.on_corrupt, job.out.name);
    }
    m.size = streamed && wr.read.status == SourceOpen::Status::ok ? wr.check.size : (r ? r->size : 0);

    auto undo_stream = [&]() {
      if (!streamed) return;
      if (fo.is_mbox())
        (void)ro.mbox->rewind_to(wr.mbox_mark);
      else
        worker.message_file.abort();
      ro.bytes_written -= wr.size;
    };
    auto fail_write = [&](const WriteStatus& st) {
      run.note(st);
      ro.failed = true;
      ro.fail_reason = st.message;
      ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, item.source_uid, st.message));
    };
    auto commit_message = [&](const FolderOutput::Written& done) -> bool {
      if (!done.write) {
        fail_write(done.write);
        return false;
      }
      if (fo.is_mbox()) {
        ro.mbox_first = false;
        ++ro.mbox_committed;
        me.mbox_offset = done.mbox_mark;
        if (done.quoted_lines)
          me.changes.push_back("mboxrd: " + std::to_string(done.quoted_lines) + " line(s) matching ^>*From  got one more '>'");
        if (done.added_final_newline) me.changes.push_back("mbox: added the line end the last line lacked");
        if (done.renamed_headers)
          me.changes.push_back("renamed " + std::to_string(done.renamed_headers) +
                               " header field(s) mbox readers take as their own to X-Cyrconv-Orig-*");
        return true;
      }
      const std::string name = maildir_file_name(base, done.size, done.vsize, maildir_info_flags(flags, letters));
      // A resumed run meets the files it committed before it was stopped: same name, same bytes.
      if (auto st = worker.message_file.commit(fo.maildir / "cur" / name, internaldate, sync_each,
                                          OutputFile::OnExisting::keep_identical);
          !st) {
        fail_write(st);
        return false;
      }
      me.output_file = out.output.substr(user.root_rel.size() + 1) + "/cur/" + name;
      // Dovecot matches uidlist entries on the whole name before ":2,", S= and W= included.
      (void)ro.uidlist->write(std::to_string(item.target_uid) + " :" + name.substr(0, name.find(':')) + "\n");
      return true;
    };

    if (m.action == "write") {
      if (commit_message(wr)) {
        ++ro.count.written;
        me.disposition = "written";
      } else {
        undo_stream();
        ++ro.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "repair") {
      undo_stream();
      const auto kept = fo.keep_original(path, item.source_uid, "original", m, worker);
      FolderOutput::Written fixed = fo.stream_message(ro, path, encoding_for(opt, true, &m, wr.check), item.target_uid,
                                                      flags, kws, base, internaldate, worker);
      ro.bytes_written += fixed.size;
      if (kept && commit_message(fixed)) {
        ++ro.count.repaired;
        me.disposition = "repaired";
        me.changes.insert(me.changes.begin(), m.changes.begin(), m.changes.end());
      } else {
        if (!kept) fail_write(kept);
        ++ro.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "quarantine" || m.action == "fail") {
      undo_stream();
      if (m.action == "fail") {
        ro.failed = true;
        ro.fail_reason = "UID " + std::to_string(item.source_uid) + ": " + m.reason;
        ++ro.count.not_converted;
        me.disposition = "not_converted";
      } else {
        const auto kept = fo.keep_original(path, item.source_uid, "quarantined", m, worker);
        if (!kept) {
          fail_write(kept);
          ++ro.count.not_converted;
          me.disposition = "not_converted";
        } else {
          ++ro.count.quarantined;
          me.disposition = "quarantined";
          me.reason = m.reason;
        }
      }
    } else if (m.action == "missing") {
      ++ro.count.missing;
      me.disposition = "missing";
      me.reason = m.reason;
    }
    if (recovery) {
      if (me.disposition == "written" || me.disposition == "repaired")
        ++ro.count.orphans_recovered;
      else
        ++ro.count.orphans_quarantined;
    }
    (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
    if (count_progress) progress.add(r ? r->size : 0, 1);
    if (!m.findings.empty() || m.action != "write") ro.messages.push_back(std::move(m));
    }
    if (run.log) run.log->spill(ro.messages, ro.spilled);  // on failure they stay in memory
  };
  auto first_range = [&]() {
    auto ro = std::make_unique<RangeOutput>();
    ro->mbox = &fo.mbox;
    ro->manifest = &fo.manifest;
    ro->uidlist = &fo.uidlist;
    ro->mbox_first = fo.mbox_first;
    ro->failed = out.failed;
    ro->fail_reason = out.fail_reason;
    return ro;
  };
  // A later range writes into unnamed files of its own, opened when it starts (a range not
  // yet started holds no descriptor). A file that cannot be opened fails the range, and its
  // lines never reach the folder's files.
  auto later_range = [&]() {
    auto ro = std::make_unique<RangeOutput>();
    ro->mbox = &ro->own_mbox;
    ro->manifest = &ro->own_manifest;
    ro->uidlist = &ro->own_uidlist;
    ro->failed = out.failed;
    ro->fail_reason = out.fail_reason;
    return ro;
  };
  auto open_own_files = [&](RangeOutput& ro, const fs::path& dir, const std::string& hint) {
    // Distinct hints: where O_TMPFILE is refused they name the temporary files.
    for (auto [file, what] : {std::pair{&ro.own_manifest, ".manifest"}, std::pair{&ro.own_uidlist, ".uidlist"},
                              std::pair{&ro.own_mbox, ".mbox"}}) {
      if (ro.failed || (file == &ro.own_mbox && !mbox_format) || (file == &ro.own_uidlist && mbox_format)) continue;
      if (auto st = file->open(dir, hint + what); !st) {
        run.note(st);
        ro.failed = true;
        ro.lost_lines = true;
        ro.fail_reason = st.message;
        ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
      }
    }
  };
  std::vector<std::unique_ptr<RangeOutput>> ranges;
  if (plan) {
    drop_preparation();
    out.parts = user.root_rel + "/journal/ranges/" + fo.side_name;
    if (auto st = make_directories(parts_dir); !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
    for (std::size_t r : out.plan_ranges) {
      if (r == 0) {
        ranges.push_back(first_range());
        continue;
      }
      auto ro = later_range();
      open_own_files(*ro, parts_dir, range_part_file(r, "part"));
      ranges.push_back(std::move(ro));
    }
    tbb::this_task_arena::isolate([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, ranges.size(), 1),
          [&](const tbb::blocked_range<std::size_t>& b) {
            for (std::size_t k = b.begin(); k != b.end(); ++k) {
              const std::size_t r = out.plan_ranges[k];
              convert_range(cuts[r].first, cuts[r].second, *ranges[k], true);
              if (r != 0)
                for (OutputFile* f : {&ranges[k]->own_manifest, &ranges[k]->own_uidlist, &ranges[k]->own_mbox})
                  (void)f->park();
            }
          },
          tbb::simple_partitioner());
    });
    // Each range's files become its parts (a re-run replaces them), its <r>.json last.
    for (std::size_t k = 0; k < ranges.size(); ++k) {
      const std::size_t r = out.plan_ranges[k];
      RangeOutput& ro = *ranges[k];
      using OnExisting = OutputFile::OnExisting;
      for (auto [file, what] : {std::pair{ro.manifest, "manifest"}, std::pair{ro.uidlist, "uidlist"},
                                std::pair{ro.mbox, "mbox"}}) {
        if (ro.failed || (what == std::string_view("mbox") && !mbox_format) ||
            (what == std::string_view("uidlist") && mbox_format))
          continue;
        if (auto st = file->commit(parts_dir / range_part_file(r, what), -1, sync_folder, OnExisting::replace); !st) {
          run.note(st);
          ro.failed = true;
          ro.fail_reason = st.message;
          ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
        }
      }
      RangePart part;
      part.range = r;
      part.ranges = plan->size();
      part.failed = ro.failed;
      part.messages = ro.count.messages;
      part.written = ro.count.written + ro.count.repaired;
      part.bytes_written = ro.bytes_written;
      if (r == 0) {
        part.format = mbox_format ? "mbox" : "maildir";
        part.folder = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
        part.uidlist = fo.uidlist_path.lexically_relative(user.root).string();
        part.manifest = fo.manifest_path.lexically_relative(user.root).string();
        part.gzip = opt.gzip;
        part.sync = sync_folder;
        part.mbox_replace = incremental;
        part.imapbase_pending = mbox_format && ro.mbox_first;
        const std::string meta = mbox_metadata_headers(0, 0, {}, &fo.mbox_state);
        part.imapbase = meta.substr(0, meta.find('\n') + 1);
        part.done.folder = source.name.internal();
        part.done.target = target.path;
        part.done.uidvalidity = uidvalidity;
        part.done.source_uidnext = source_uidnext;
        part.done.target_uidnext = uidnext;
        part.done.manifest_lines = earlier_lines.size() + new_items;
        part.done.output = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
        part.done.uniqueid = source.unique_id;
      }
      write_part(part);
      ro.own_mbox.abort();
      ro.own_manifest.abort();
      ro.own_uidlist.abort();
    }
  } else {
  ranges.push_back(first_range());
  if (cuts.size() == 1) {
    convert_range(cuts[0].first, cuts[0].second, *ranges[0], true);
  } else {
    for (std::size_t k = 1; k < cuts.size(); ++k) ranges.push_back(later_range());
    const fs::path scratch_dir = mbox_format ? fo.mbox_file.parent_path() : fo.maildir / "tmp";
    auto run_later_range = [&](std::size_t k) {
      RangeOutput& ro = *ranges[k];
      open_own_files(ro, scratch_dir, fo.side_name + ".range-" + std::to_string(k));
      convert_range(cuts[k].first, cuts[k].second, ro, true);
      // Done before the ranges ahead of it, maybe: its buffers go until it is appended.
      for (OutputFile* f : {&ro.own_manifest, &ro.own_uidlist, &ro.own_mbox}) (void)f->park();
    };
    // Appends range k to the folder's files; mbox offsets in its manifest lines move by where
    // its segment lands. `imapbase`: the X-IMAPbase line its first message lacks, to insert
    // (range 0 committed no message, this range is the first that did).
    auto append_range = [&](std::size_t k, std::vector<char>& buffer, const std::string* imapbase) {
      RangeOutput& ro = *ranges[k];
      auto append = [&](OutputFile& to) { return [&to](std::string_view chunk) { return to.write(chunk); }; };
      WriteStatus st;
      if (!mbox_format) {
        st = ro.own_uidlist.read_back(buffer, append(fo.uidlist));
        if (st) st = ro.own_manifest.read_back(buffer, append(fo.manifest));
      } else {
        const std::uint64_t delta = fo.mbox.bytes_written();
        std::uint64_t inserted_at = UINT64_MAX, shift = 0;  // lines at or past it move by shift more
        if (!imapbase) {
          st = ro.own_mbox.read_back(buffer, append(fo.mbox));
        } else {
          ImapbaseInserter insert(*imapbase, append(fo.mbox));
          st = ro.own_mbox.read_back(buffer, [&](std::string_view chunk) { return insert.feed(chunk); });
          if (st) st = insert.finish();
          if (st && !insert.inserted())
            st = WriteStatus{false, fo.mbox_file.string() + ": range " + std::to_string(k) +
                                        ": no X-UID field to put X-IMAPbase before"};
          if (st) {
            inserted_at = insert.inserted_at();
            shift = insert.size();
            ro.bytes_written += shift;
          }
        }
        std::string line;
        if (st)
          st = ro.own_manifest.read_back(buffer, [&](std::string_view chunk) -> WriteStatus {
            while (!chunk.empty()) {
              const std::size_t eol = chunk.find('\n');
              line.append(chunk.substr(0, eol));
              if (eol == std::string_view::npos) break;
              chunk.remove_prefix(eol + 1);
              const auto off = shift ? manifest_line_mbox_offset(line) : std::nullopt;
              const std::uint64_t moved = delta + (off && *off >= inserted_at ? shift : 0);
              if (auto w2 = fo.manifest.write(manifest_line_shifted(line, moved) + "\n"); !w2) return w2;
              line.clear();
            }
            return {};
          });
      }
      if (!st) {
        run.note(st);
        ro.lost_lines = true;
        if (!ro.failed) {
          ro.failed = true;
          ro.fail_reason = st.message;
          ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
        }
      }
      ro.own_mbox.abort();
      ro.own_manifest.abort();
      ro.own_uidlist.abort();
    };
    // Ranges are appended as soon as every range before them is in, by the thread that finished
    // the last of those, so the copying overlaps the conversion of the ranges still running
    // instead of trailing the folder. In mbox the folder's first message must carry X-IMAPbase:
    // when range 0 committed none, the first later range that did gets the line inserted (rare:
    // every message of range 0 missing or quarantined).
    std::mutex join_lock;
    std::vector<char> range_done(cuts.size(), 0);
    std::size_t joined = 1;     // ranges before this one are in the folder's files
    bool imapbase_owed = mbox_format && fo.mbox_first;  // until a committed message carries it
    std::string imapbase;
    if (imapbase_owed) {
      const std::string meta = mbox_metadata_headers(0, 0, {}, &fo.mbox_state);
      imapbase = meta.substr(0, meta.find('\n') + 1);
    }
    auto finished = [&](std::size_t k) {
      std::lock_guard<std::mutex> g(join_lock);
      range_done[k] = 1;
      if (!range_done[0]) return;
      imapbase_owed = imapbase_owed && ranges[0]->mbox_first;  // range 0 wrote it with its first message
      while (joined < cuts.size() && range_done[joined]) {
        const bool insert = imapbase_owed && ranges[joined]->mbox_committed > 0;
        append_range(joined, workers.local().buffer, insert ? &imapbase : nullptr);
        imapbase_owed = imapbase_owed && !insert;
        ++joined;
      }
    };
    // Isolated: while this thread waits for the ranges, it takes only ranges of this folder,
    // never another folder (whose worker state it would share).
    tbb::this_task_arena::isolate([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, cuts.size(), 1),
          [&](const tbb::blocked_range<std::size_t>& r) {
            for (std::size_t k = r.begin(); k != r.end(); ++k) {
              if (k == 0)
                convert_range(cuts[0].first, cuts[0].second, *ranges[0], true);
              else
                run_later_range(k);
              finished(k);
            }
          },
          tbb::simple_partitioner());
    });
  }
  }
  // What the ranges counted, in UID order; a stop is reported once. A range whose lines could
  // not be appended leaves the folder uncommitted (no uidlist, manifest or journal entry), so
  // the next run converts it again instead of committing files that do not list its messages.
  bool lines_lost = false;
  if (run.log) run.log->spill(out.messages, out.spilled);  // the preparation's, ahead of the ranges'
  for (auto& rp : ranges) {
    RangeOutput& ro = *rp;
    lines_lost = lines_lost || ro.lost_lines;
    out.count += ro.count;
    out.skipped_deleted += ro.skipped_deleted;
    out.bytes_written += ro.bytes_written;
    if (ro.failed && !out.failed) {
      out.failed = true;
      out.fail_reason = ro.fail_reason;
    }
    for (auto& f : ro.findings) {
      if (f.kind == "stopped" && std::any_of(out.findings.begin(), out.findings.end(),
                                             [](const Finding& g) { return g.kind == "stopped"; }))
        continue;
      out.findings.push_back(std::move(f));
    }
    out.spilled.insert(out.spilled.end(), ro.spilled.begin(), ro.spilled.end());
    // Left in memory only when the log could not take them (then they may list after entries
    // of later ranges: nothing is lost, the order within each range holds).
    for (auto& m : ro.messages) out.messages.push_back(std::move(m));
  }
  if (recovery) {
    // Orphans are counted against their source folder's accounting, not as index messages.
    out.count.written = out.count.repaired = out.count.quarantined = 0;
  }
  if (plan) return;  // `report merge` joins the parts and finishes the folder

  // Finish: uidlist, the mbox file, the manifest, then the journal entry that says the folder is
  // done. A folder stopped by a full disk, or an incremental run that failed, commits none of
  // them: the next run takes up from the files already committed.
  auto fail_write = [&](const WriteStatus& st) {
    run.note(st);
    out.failed = true;
    out.fail_reason = st.message;
    out.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  };
  if (out.failed && (incremental || run.stopped() || lines_lost || prior.state == PriorFolder::State::unreadable))
    return;
  using OnExisting = OutputFile::OnExisting;
  // --sync message: each file fsynced here; --sync folder: the group's syncfs (RunControl).
  const bool fsync_files = opt.sync == SyncPolicy::message;
  if (!fo.is_mbox()) {
    if (auto st = fo.uidlist.commit(fo.uidlist_path, -1, fsync_files, OnExisting::replace); !st) fail_write(st);
    if (fsync_files)
      if (auto st = sync_directory(fo.maildir / "cur"); !st) fail_write(st);
  } else {
    // A first run's mbox is new (or, resumed, the very bytes an interrupted run committed); an
    // incremental run's is a copy of the earlier one plus the new messages.
    const OnExisting existing = incremental ? OnExisting::replace : OnExisting::keep_identical;
    if (!opt.gzip) {
      if (auto st = fo.mbox.commit(fo.mbox_file, -1, fsync_files, existing); !st) fail_write(st);
    } else {
      // Commit the plain file under a temporary name, then compress it into place.
      fs::path plain = fo.mbox_file;
      plain.replace_filename("." + fo.mbox_file.filename().string() + ".cyrconv-plain");
      ::unlink(plain.c_str());
      if (auto st = fo.mbox.commit(plain, -1, false, OnExisting::refuse); !st) {
        fail_write(st);
      } else if (auto gz = gzip_into_place(plain, fs::path(fo.mbox_file.string() + ".gz"), fsync_files); !gz) {
        fail_write(gz);
      }
    }
  }
  if (auto st = fo.manifest.commit(fo.manifest_path, -1, fsync_files, OnExisting::replace); !st) fail_write(st);
  if (out.failed) return;
  FolderDone done;
  done.folder = recovery ? source.name.internal() + std::string(orphan_suffix) : source.name.internal();
  done.target = target.path;
  done.uidvalidity = uidvalidity;
  done.source_uidnext = source_uidnext;
  done.target_uidnext = uidnext;
  done.manifest_lines = earlier_lines.size() + new_items;
  done.output = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
  done.uniqueid = source.unique_id;
  if (opt.sync == SyncPolicy::folder) {
    run.journal_done({user.root, fo.side_name, done, &out});
    return;
  }
  if (auto st = write_folder_done(user.root, fo.side_name, done, fsync_files); !st) {
    fail_write(st);
    return;
  }
  remove_folder_pending(user.root, fo.side_name);
}

}  // namespace

ConvertReport run_convert(const SourceInputs& inputs, const ConvertOptions& opt) {
  // converter/zimbra/convert_zimbra.cpp; --dry-run plans a Zimbra archive here like the other formats.
  if (opt.format == OutputFormat::zimbra_tgz && !opt.dry_run) return run_convert_zimbra(inputs, opt);
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  ConvertReport report;
  report.out = opt.out.string();
  report.format = opt.format == OutputFormat::maildir ? "maildir" : opt.format == OutputFormat::mbox ? "mbox" : "zimbra-tgz";
  report.profile = to_string(opt.profile);
  report.on_corrupt = to_string(opt.on_corrupt);
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());

  // Pass 1: discover.
  Discovery disc = discover(inputs, opt.io_depth);
  report.findings = std::move(disc.findings);
  const std::set<std::string> wanted(opt.users.begin(), opt.users.end());
  std::vector<const MailboxRef*> selected;
  std::vector<ConvertFolder> not_converted;  // deleted folders and non-mail collections
  for (const auto& mb : disc.mailboxes) {
    const std::string owner = mb.deleted ? std::string() : mb.name.owner();
    if (!wanted.empty() && !wanted.count(owner)) continue;
    if (mb.deleted) {
      if (opt.guests.count(owner)) continue;  // a guest's DELETED folders are its owner shard's
      ConvertFolder f;
      bool valid = true;
      f.name = display_folder_name(mb.name, valid, disc.caret);
      f.name_raw = mb.name.internal();
      f.action = "deleted";
      f.count.count_files(count_message_files(mb.dir), 0, 0, 0, true, 0);
      f.findings.push_back(make_finding(Finding::Severity::info, "deleted_folder_skipped", mb.dir.string(), 0,
                                        "folder in the DELETED hierarchy (delayed delete): not converted"));
      not_converted.push_back(std::move(f));
      continue;
    }
    if (selected_for_conversion(mb, wanted)) selected.push_back(&mb);  // not on disk: already a finding
  }
  for (const auto& u : opt.users) {
    bool found = false;
    for (const auto* mb : selected) found = found || mb->name.owner() == u;
    if (!found && !u.empty())  // "" (a shard's shared unit) may hold DELETED folders only
      report.findings.push_back(make_finding(Finding::Severity::error, "user_not_found", "", 0,
                                             "--users names " + u + " but the store has no folder of that user"));
  }

  // Per-user databases (seen state, subscriptions), loaded once per owner.
  const SourceStates states = load_source_states(inputs, selected, opt.io_depth);

  // Pass 2: inventory, in parallel (io_depth per worker at a time: converter/source/io_fanout.h).
  // Mail folders keep only their summary until they are converted (then their records are read
  // again): memory does not grow with the store. Kept: what each takes on disk as Maildir files
  // (whole blocks), for the space check.
  const OutputSpace space = probe_output_space(opt.out);
  std::vector<MailboxInventory> inv(selected.size());
  std::vector<std::uint64_t> maildir_bytes(selected.size(), 0);
  for_each_io(opt.io_depth, selected.size(), [&](std::size_t i) {
    inv[i] = inventory_mailbox(*selected[i], states.seen_for(*selected[i]));
    for (const auto& r : inv[i].live) maildir_bytes[i] += space.blocks(r.size);
    if (selected[i]->kind == MailboxKind::email) std::vector<IndexRecord>().swap(inv[i].live);
  });

  // Pass 3: plan. Names per user (all of a user's folders at once; the same plan verify makes),
  // then largest folders first. A rename map that itself collides is refused before anything
  // is written.
  NamePlan plan = plan_names(selected, inv, opt.profile, opt.rename_map, disc.caret);
  for (const auto& e : plan.rename_map_errors)
    report.findings.push_back(make_finding(Finding::Severity::error, "rename_map_refused", "", 0, e));
  for (const auto& e : plan.naming_errors)
    report.findings.push_back(make_finding(Finding::Severity::error, "naming_refused", "", 0, e));
  if (plan.refused()) {  // nothing written
    report.fatal = true;
    report.errors = report.findings.size();
    return report;
  }
  std::vector<UserPlan> users;
  for (auto& pu : plan.users) {
    UserPlan u;
    u.owner = pu.owner;
    u.root_rel = pu.root_rel;
    u.root = opt.out / u.root_rel;
    u.state = states.by_owner.at(pu.owner).get();
    u.naming = std::move(pu.naming);
    users.push_back(std::move(u));
  }
  const auto& orphans = plan.orphans;

  auto name_of = [&](std::size_t u, const std::string& internal) -> const FolderNameResult* {
    for (const auto& r : users[u].naming.folders)
      if (r.internal_name == internal) return &r;
    return nullptr;
  };

  // A guest of a shard (ConvertOptions::guests) gets only its folders with ranges in the plan.
  auto guest = [&](std::size_t u) { return opt.guests.count(users[u].owner) > 0; };
  std::vector<FolderJob> jobs;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::size_t u = plan.user_of[i];
    if (guest(u)) {
      const auto split = opt.plan_ranges.find({users[u].owner, selected[i]->name.internal()});
      if (split == opt.plan_ranges.end() ||
          std::none_of(split->second.begin(), split->second.end(), [](const PlanFolderRange& r) { return r.mine; }))
        continue;
    }
    FolderJob job;
    job.mailbox = selected[i];
    job.inventory = i;
    job.user = u;
    job.name = name_of(u, selected[i]->name.internal());
    job.bytes = inv[i].bytes;
    bool valid = true;
    job.out.name = display_folder_name(selected[i]->name, valid, disc.caret);
    job.out.name_raw = selected[i]->name.internal();
    job.out.findings = inv[i].findings;
    std::erase_if(job.out.findings, [](const Finding& f) {
      return f.kind == "message_file_missing" || f.kind == "orphan_message_file";
    });
    if (job.name) {
      job.out.target = job.name->path;
      job.out.renamed = job.name->renamed;
      job.out.rename_reason = job.name->why;
      job.out.action = to_string(job.name->action);
    }
    jobs.push_back(std::move(job));
    if (!orphans[i].empty() && !guest(u)) {
      FolderJob rec;
      rec.orphans_of = selected[i];
      rec.inventory = i;
      rec.user = u;
      rec.name = name_of(u, selected[i]->name.internal() + std::string(orphan_suffix));
      rec.out.name = jobs.back().out.name + " (orphan files)";
      rec.out.name_raw = selected[i]->name.internal();
      rec.out.action = "recover_orphans";
      if (rec.name) rec.out.target = rec.name->path;
      jobs.push_back(std::move(rec));
    }
  }
  std::vector<std::size_t> order(jobs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return jobs[a].bytes > jobs[b].bytes; });

  // Pass 4: convert, largest folders first. A user's output from an earlier run is resumed or
  // added to (README "Re-runs"), never replaced; one made with other byte-changing options is
  // left alone.
  std::vector<bool> user_refused(users.size(), false);
  const JournalOptions journal_options{report.format, opt.crlf ? "crlf" : "lf", report.profile, report.on_corrupt,
                                       opt.skip_deleted, opt.gzip};
  for (std::size_t u = 0; u < users.size(); ++u) {
    std::string error;
    const auto was = read_journal_options(users[u].root, error);
    std::string refusal = error;
    if (was && *was != journal_options)
      refusal = "this output was made with other options: " + describe_options_change(*was, journal_options) +
                "; re-run with the same options or into a new --out";
    if (!refusal.empty()) {
      user_refused[u] = true;
      users[u].findings.push_back(make_finding(Finding::Severity::error, "options_changed", users[u].root.string(), 0, refusal));
    }
  }
  for (auto& job : jobs) {
    if (!user_refused[job.user]) continue;
    const MailboxInventory& mi = inv[job.inventory];
    job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
    job.out.count.not_converted = job.out.count.messages;
    job.name = nullptr;
  }

  // The earlier output follows the source's expunges, renames, deletions and re-creations
  // (--follow-source; counted only without it): converter/follow/follow_source.h.
  // A shard of a plan with split folders only counts: other shards write into those folders meanwhile.
  if (opt.follow_source && !opt.plan_ranges.empty())
    report.findings.push_back(make_finding(Finding::Severity::warning, "follow_source_not_applied", opt.out.string(), 0,
                                           "--follow-source is not applied by a shard of a plan that splits folders: "
                                           "run one convert with it on the joined output"));
  {
    const std::string stamp = follow_source_stamp();
    tbb::parallel_for(std::size_t{0}, users.size(), [&](std::size_t u) {
      if (user_refused[u] || guest(u)) return;
      FollowInput fi{users[u].root, opt.format == OutputFormat::maildir, opt.gzip, opt.sync != SyncPolicy::none,
                     opt.follow_source && opt.plan_ranges.empty(), opt.dry_run, stamp, {}, {}};
      std::map<std::string, std::size_t> index_of;
      for (std::size_t i = 0; i < selected.size(); ++i)
        if (plan.user_of[i] == u) {
          const bool mail = selected[i]->kind == MailboxKind::email;
          fi.folders.push_back({selected[i]->name.internal(), selected[i]->unique_id,
                                mail ? inv[i].header.uidvalidity : 0, mail ? name_of(u, selected[i]->name.internal()) : nullptr});
          index_of[selected[i]->name.internal()] = i;
        }
      // Folders the store still has but this run does not convert (not on disk, unreadable):
      // present, so nothing of theirs is moved.
      for (const auto& mb : disc.mailboxes)
        if (!mb.deleted && mb.name.owner() == users[u].owner && !index_of.count(mb.name.internal()))
          fi.folders.push_back({mb.name.internal(), mb.unique_id, 0, nullptr});
      fi.live_uids = [&](const std::string& internal, std::vector<std::uint32_t>& uids, std::string& error) {
        const std::size_t i = index_of.at(internal);
        const LiveRecords again = reload_live_records(*selected[i], states.seen_for(*selected[i]), inv[i]);
        error = again.error;
        for (const auto& r : again.live) uids.push_back(r.uid);
        return error.empty();
      };
      for (auto& f : follow_source(fi).findings) users[u].findings.push_back(std::move(f));
    });
  }

  // Disk space: refuse before writing anything when the output file system lacks what the new
  // messages need (each file rounded up to a block, plus manifests), unless told not to check.
  bool space_short = false;
  if ((opt.check_space || opt.dry_run) && space.known) {
    {
      const struct statvfs& vfs = space.vfs;
      const fs::path& probe = space.probe;
      std::error_code ec;
      // Errs on the high side: every file takes whole blocks, and every folder a few of its own
      // (Maildir: the folder, cur/ new/ tmp/, uidlist, marker, manifest, journal; mbox: the
      // file's last block, manifest, journal).
      const std::uint64_t block = space.block;
      const std::uint64_t folder_overhead = (opt.format == OutputFormat::maildir ? 8 : 3) * block;
      std::uint64_t needed = 0, files = 0;
      for (const auto& job : jobs) {
        if (user_refused[job.user] || !job.name || job.name->action != FolderAction::mail_folder || job.orphans_of)
          continue;
        std::string error;
        const auto done = read_folder_done(users[job.user].root, side_file_name(*job.name), error);
        const MailboxInventory& mi = inv[job.inventory];
        std::uint64_t folder_bytes = 0, folder_files = 0;
        const auto split = opt.plan_ranges.find({users[job.user].owner, job.mailbox->name.internal()});
        if (split != opt.plan_ranges.end() && (!done || done->uidvalidity != mi.header.uidvalidity)) {
          // A plan-split folder: this shard writes its own ranges only (each file's last block counted whole).
          for (const auto& r : split->second)
            if (r.mine) {
              folder_bytes += r.bytes + (opt.format == OutputFormat::maildir ? r.messages * space.block : 0) + 400 * r.messages;
              folder_files += r.messages;
            }
          if (!folder_files) continue;
        } else if (!done || done->uidvalidity != mi.header.uidvalidity) {
          folder_bytes = (opt.format == OutputFormat::maildir ? maildir_bytes[job.inventory] : mi.bytes) +
                         400 * mi.live_count;  // each message's manifest line
          folder_files = mi.live_count;
        } else {
          // Added to an earlier conversion: only the messages after it count (records read again).
          const LiveRecords again = reload_live_records(*job.mailbox, states.seen_for(*job.mailbox), mi);
          for (const auto& r : again.live) {
            if (r.uid < done->source_uidnext) continue;
            folder_bytes += (opt.format == OutputFormat::maildir ? space.blocks(r.size) : r.size) + 400;
            ++folder_files;
          }
        }
        if (done && !folder_files) continue;  // nothing new: nothing written
        needed += folder_bytes + folder_overhead;
        files += folder_files + 8;
        if (done && opt.format == OutputFormat::mbox) {
          // An incremental mbox run writes a copy of the earlier file before replacing it.
          const auto size = fs::file_size(users[job.user].root / "mail" /
                                              (job.name->mbox_path.empty() ? std::string("INBOX") : job.name->mbox_path),
                                          ec);
          if (!ec) needed += size;
        }
        // An mbox folder converted in UID ranges holds the later ranges' segments until they are
        // appended: up to its size once more, for a while.
        if (opt.format == OutputFormat::mbox && opt.on_corrupt != OnCorrupt::fail &&
            ((opt.split_bytes && folder_bytes > opt.split_bytes) || (opt.split_messages && folder_files > opt.split_messages)))
          needed += folder_bytes;
      }
      const std::uint64_t free_bytes = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
      const std::uint64_t free_files = static_cast<std::uint64_t>(vfs.f_favail);
      const bool inodes_counted = vfs.f_files != 0;  // some file systems report no inode limit
      report.space_needed = needed;
      report.space_free = free_bytes;
      if (needed > free_bytes || (inodes_counted && files > free_files)) {
        report.findings.push_back(make_finding(
            Finding::Severity::error, "disk_space", probe.string(), 0,
            "the output needs about " + std::to_string(needed) + " bytes and " + std::to_string(files) +
                " files; " + probe.string() + " has " + std::to_string(free_bytes) + " bytes and " +
                std::to_string(free_files) + " files free. Free space, or pass --no-space-check to try anyway"));
        space_short = true;
        if (!opt.dry_run) {
          report.fatal = true;
          report.errors = report.findings.size();
          return report;
        }
      }
    }
  }
  // --dry-run: what would be written, per user and folder; nothing is created.
  if (opt.dry_run) {
    std::map<std::string, ConvertUser> by_user;
    for (auto& job : jobs) {
      ConvertFolder& f = job.out;
      const MailboxInventory& mi = inv[job.inventory];
      f.count.messages = job.orphans_of ? 0 : mi.live_count;
      if (job.orphans_of) f.count.orphans = orphans[job.inventory].size();
      f.planned_bytes = job.orphans_of ? 0 : job.bytes;
      std::string error;
      if (job.name && read_folder_done(users[job.user].root, side_file_name(*job.name), error)) f.run = "incremental";
      ConvertUser& cu = by_user[users[job.user].owner];
      cu.user = users[job.user].owner;
      cu.output = users[job.user].root_rel;
      cu.folders.push_back(std::move(f));
    }
    for (std::size_t u = 0; u < users.size(); ++u) {
      ConvertUser& cu = by_user[users[u].owner];
      cu.user = users[u].owner;
      cu.output = users[u].root_rel;
      cu.findings = std::move(users[u].findings);
    }
    if (!not_converted.empty())
      for (auto& f : not_converted) by_user[""].folders.push_back(std::move(f));
    add_users_and_totals(report, std::move(by_user));
    report.dry_run = true;
    report.fatal = space_short;
    return report;
  }
  for (std::size_t u = 0; u < users.size(); ++u) {
    if (user_refused[u] || guest(u)) continue;
    std::string error;
    WriteStatus st = make_directories(users[u].root);
    if (st && !read_journal_options(users[u].root, error))
      st = write_journal_options(users[u].root, journal_options, opt.sync != SyncPolicy::none);
    if (!st)
      users[u].findings.push_back(make_finding(Finding::Severity::error, "output_failed", users[u].root.string(), 0, st.message));
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& job : jobs)
    if (!user_refused[job.user] && !job.orphans_of) {
      const auto split = job.mailbox ? opt.plan_ranges.find({users[job.user].owner, job.mailbox->name.internal()})
                                     : opt.plan_ranges.end();
      if (split == opt.plan_ranges.end()) {
        total_bytes += job.bytes;
        total_messages += inv[job.inventory].live_count;
      } else {
        for (const auto& r : split->second)
          if (r.mine) {
            total_bytes += r.bytes;
            total_messages += r.messages;
          }
      }
    }
  Progress progress("convert", total_bytes, total_messages, opt.quiet);
  tbb::enumerable_thread_specific<Worker> workers(MessageCheckOptions{opt.mime});
  RunControl run;
  if (opt.sync == SyncPolicy::folder) run.start_syncer(opt.out);
  auto log = std::make_shared<MessageLog>();  // report entries: a store's findings grow with it
  if (auto why = log->open(opt.out); !why.empty())
    report.findings.push_back(make_finding(Finding::Severity::warning, "report_in_memory", opt.out.string(), 0,
                                           why + "; the report keeps every message entry in memory instead"));
  else
    run.log = log.get();
  report.message_log = log;
  std::optional<IoThreads> io;
  if (opt.io_depth > 1) {
    io.emplace(static_cast<std::size_t>(opt.io_depth) * static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()));
    run.io = &*io;
  }
  // Largest first, really: each worker takes the next folder of `order` (a parallel_for over
  // `order` itself would start the second worker in the middle of the list). A worker that finds
  // the list empty helps with the UID ranges of split folders still running.
  std::atomic<std::size_t> next_job{0};
  const auto workers_count = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, workers_count, 1),
      [&](const tbb::blocked_range<std::size_t>&) {
        for (std::size_t k; (k = next_job.fetch_add(1, std::memory_order_relaxed)) < order.size();) {
          FolderJob& job = jobs[order[k]];
          const UserPlan& user = users[job.user];
          const MailboxInventory& mi = inv[job.inventory];
          if (user_refused[job.user]) continue;
          if (run.stopped() && job.name && job.name->action == FolderAction::mail_folder) {
            // Not started: counted, and left for the re-run that resumes.
            job.out.run = "not_started";
            job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
            if (auto split = job.mailbox && !job.orphans_of
                                 ? opt.plan_ranges.find({user.owner, job.mailbox->name.internal()})
                                 : opt.plan_ranges.end();
                split != opt.plan_ranges.end()) {
              // A plan-split folder: only this shard's ranges (report merge then names the shards to run).
              job.out.plan_split = true;
              job.out.count.messages = 0;
              for (std::size_t r = 0; r < split->second.size(); ++r)
                if (split->second[r].mine) {
                  job.out.plan_ranges.push_back(r);
                  job.out.count.messages += split->second[r].messages;
                }
            }
            job.out.count.not_converted = job.out.count.messages;
            job.out.failed = true;
            job.out.fail_reason = "the run stopped (" + run.reason + ") before this folder: re-run to resume";
            continue;
          }
          if (!job.name) {
            std::string why = "no target name was planned for this folder";
            for (const auto& [internal, reason] : user.naming.unnamed)
              if (internal == job.out.name_raw) why = reason;
            job.out.findings.push_back(make_finding(Finding::Severity::error, "naming_missing", job.mailbox ? job.mailbox->dir.string() : "", 0, why));
            job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
            job.out.count.not_converted = job.out.count.messages;
            continue;
          }
          try {
            switch (job.name->action) {
              case FolderAction::mail_folder:
                throw_test_point(job.mailbox);
                convert_folder(opt, user, job, mi, states.seen_for(*selected[job.inventory]), orphans[job.inventory],
                               workers, progress, run);
                break;
              case FolderAction::export_calendar:
              case FolderAction::export_addressbook:
                export_dav_collection(*job.mailbox, mi, user.root / job.name->export_file, job.out,
                                      opt.sync != SyncPolicy::none);
                job.out.output = user.root_rel + "/" + job.name->export_file;
                progress.add(job.bytes, mi.live_count);
                break;
              case FolderAction::skip:
                progress.add(job.bytes, mi.live_count);
                if (job.mailbox && job.mailbox->kind == MailboxKind::sieve) break;  // Sieve scripts: carry_extras
                job.out.count.messages = mi.live_count;
                job.out.count.not_converted = mi.live_count;
                if (mi.live_count)
                  job.out.findings.push_back(make_finding(Finding::Severity::warning, "collection_not_converted",
                                                          job.mailbox->dir.string(), 0,
                                                          "DAV collection of a kind that is not exported"));
                break;
            }
          } catch (const std::exception&) {
            rethrow_naming_mailbox(job.mailbox ? job.mailbox : job.orphans_of);
          }
        }
      },
      tbb::simple_partitioner());
  run.finish_syncer();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // An interrupt stops the run here, or skips what is left of pass 5 below (the re-run does it).
  auto note_interrupt = [&] {
    if (!run.stopped() || !run.interrupted || report.interrupted_by) return;
    report.stopped = true;
    report.interrupted_by = interrupt_signal();
    report.stop_reason = "interrupted by a signal: what was committed stays; run the same command again to resume";
    report.findings.push_back(make_finding(Finding::Severity::warning, "interrupted", opt.out.string(), 0, report.stop_reason));
  };
  if (run.stopped() && run.interrupted) {
    note_interrupt();
  } else if (run.stopped()) {
    report.stopped = true;
    report.stop_reason = "the output file system is full (" + run.reason +
                         "): what was committed stays; free space and run the same command again to resume";
    report.findings.push_back(make_finding(Finding::Severity::error, "disk_full", opt.out.string(), 0, report.stop_reason));
  }

  // Pass 5: finish (not after a stop: the full disk would refuse it, the resuming run does it). A Maildir root without an INBOX (the shared tree) still gets a uidlist, or
  // Dovecot would invent an INBOX with a UIDVALIDITY of its own. Then subscriptions per user.
  if (opt.format == OutputFormat::maildir && !run.stopped()) {
    for (std::size_t u = 0; u < users.size(); ++u) {
      bool has_inbox = false;
      std::uint32_t uidvalidity = 0;
      for (const auto& job : jobs) {
        if (job.user != u || !job.name || job.name->action != FolderAction::mail_folder) continue;
        has_inbox = has_inbox || job.name->maildirpp.empty();
        if (job.out.uidvalidity && (!uidvalidity || job.out.uidvalidity < uidvalidity)) uidvalidity = job.out.uidvalidity;
      }
      if (has_inbox || user_refused[u] || guest(u)) continue;
      const fs::path root = users[u].root / "Maildir";
      std::error_code ec;
      if (fs::exists(root / "dovecot-uidlist", ec)) continue;  // an earlier run's, or Dovecot's own
      WriteStatus st = prepare_maildir(root, true);
      if (st) st = write_small_file(root / "dovecot-uidlist", dovecot_uidlist(uidvalidity ? uidvalidity : 1, 1, {}),
                                    opt.sync != SyncPolicy::none);
      if (!st) users[u].findings.push_back(make_finding(Finding::Severity::error, "output_failed", root.string(), 0, st.message));
    }
  }
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    UserPlan& u = users[ui];
    if (u.owner.empty() || user_refused[ui] || run.stopped() || guest(ui)) continue;
    const bool maildir = opt.format == OutputFormat::maildir;
    std::vector<std::string> names;
    for (const auto& sub : u.state->subscriptions) {
      const FolderNameResult* n = nullptr;
      for (const auto& r : u.naming.folders)
        if (r.internal_name == sub.internal()) n = &r;
      if (!n || n->action != FolderAction::mail_folder) continue;
      // Dovecot's subscription files hold storage names: '.'-separated for Maildir++, the
      // file path below the mail root for mbox.
      if (maildir)
        names.push_back(n->maildirpp.empty() ? "INBOX" : n->maildirpp.substr(1));
      else
        names.push_back(n->mbox_path.empty() ? "INBOX" : n->mbox_path);
    }
    const fs::path file = maildir ? u.root / "Maildir" / "subscriptions" : u.root / "mail" / ".subscriptions";
    // A re-run adds to the subscriptions there (an earlier run's, or the user's since): never drops one.
    std::string error;
    auto earlier = read_output_text(file, error);
    if (earlier && earlier->rfind("V\t", 0) == 0) continue;  // Dovecot rewrote it in its own format: the user's now
    if (earlier) {
      std::size_t pos = 0;
      while (pos < earlier->size()) {
        std::size_t eol = earlier->find('\n', pos);
        if (eol == std::string::npos) eol = earlier->size();
        if (eol > pos) names.push_back(earlier->substr(pos, eol - pos));
        pos = eol + 1;
      }
    }
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    if (auto st = make_directories(file.parent_path()); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
    if (auto st = write_small_file(file, maildir_subscriptions(names), opt.sync != SyncPolicy::none); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
  }

  // Keywords beyond a folder's 26 Maildir letters: doveadm commands that put them into Dovecot's
  // index (converter/convert/keyword_commands.h). Shared folders live in another Dovecot namespace: not here.
  if (opt.format == OutputFormat::maildir && !run.stopped())
    for (std::size_t ui = 0; ui < users.size(); ++ui) {
      UserPlan& u = users[ui];
      if (u.owner.empty() || user_refused[ui] || guest(ui)) continue;
      std::vector<KeywordFolder> folders;
      for (const auto& job : jobs) {
        if (job.user != ui || !job.name || job.name->action != FolderAction::mail_folder || job.out.output.empty())
          continue;
        FolderNameResult target;
        target.path = job.out.target;
        folders.push_back({job.out.target.empty() ? std::string("INBOX") : job.out.target, opt.out / job.out.output,
                           u.root / "manifests" / (side_file_name(target) + ".jsonl")});
      }
      std::uint64_t extra = 0;
      for (auto& e : write_apply_keywords(u.root, u.owner, folders, opt.sync != SyncPolicy::none, extra))
        u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, e));
      if (extra)
        u.findings.push_back(make_finding(Finding::Severity::info, keywords_need_doveadm_kind,
                                          (u.root / "apply-keywords.sh").string(), 0, keywords_need_doveadm_detail(extra)));
    }

  // Besides messages: special-use, Sieve scripts, ACLs, quota (README "What is carried").
  for (std::size_t u = 0; u < users.size(); ++u) {
    if (user_refused[u] || run.stopped() || guest(u)) continue;
    ExtrasUser eu{users[u].owner, users[u].root, users[u].root_rel, {}, &users[u].findings, &users[u].extras};
    for (auto& job : jobs)
      if (job.user == u && job.mailbox) eu.folders.push_back({job.mailbox, job.name, &inv[job.inventory], &job.out});
    carry_extras({opt.format == OutputFormat::maildir, opt.sync != SyncPolicy::none, inputs.config_dir, disc.caret}, eu);
  }
  // --owner: each user's finished tree gets its owner in one walk (converter/convert/output_owner.h).
  if (opt.owner.enabled())
    tbb::parallel_for(std::size_t{0}, users.size(), [&](std::size_t u) {
      if (!user_refused[u] && !guest(u)) apply_output_owner(opt.owner, users[u].owner, users[u].root, users[u].findings);
    });

  // Every rename, for the administrator and for --rename-map on the next run.
  if (!run.stopped()) {
    std::string map = format_rename_map_header();
    for (std::size_t u = 0; u < users.size(); ++u)
      if (!guest(u)) map += format_rename_map_lines(users[u].owner, opt.profile, users[u].naming);
    if (auto st = write_small_file(opt.out / opt.rename_map_file, map, opt.sync != SyncPolicy::none); !st)
      report.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  }

  note_interrupt();
  std::map<std::string, ConvertUser> by_user;
  for (auto& job : jobs) {
    if (job.mailbox && !job.orphans_of && owns_folder_files(job.out)) count_folder_files(job.out.count, inv[job.inventory]);
    ConvertUser& cu = by_user[users[job.user].owner];
    cu.user = users[job.user].owner;
    cu.output = users[job.user].root_rel;
    cu.folders.push_back(std::move(job.out));
  }
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    auto& u = users[ui];
    ConvertUser& cu = by_user[u.owner];
    cu.user = u.owner;
    cu.output = u.root_rel;
    if (guest(ui)) continue;  // its owner shard reports the user; this one only the ranges
    cu.findings = std::move(u.findings);
    cu.extras = std::move(u.extras);
    for (const auto& f : u.state->findings) cu.findings.push_back(f);
  }
  if (!not_converted.empty()) {
    ConvertUser& cu = by_user[""];
    for (auto& f : not_converted) cu.folders.push_back(std::move(f));
  }
  add_users_and_totals(report, std::move(by_user));
  return report;
}

}  // namespace cyrconv
