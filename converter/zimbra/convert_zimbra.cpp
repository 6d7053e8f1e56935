#include "converter/zimbra/convert_zimbra.h"

#include <sys/stat.h>
#include <tbb/blocked_range.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include <openssl/evp.h>

#include "converter/source/inventory.h"
#include "converter/source/census.h"
#include "converter/source/mailbox_error.h"
#include "converter/source/recover.h"
#include "converter/source/io_fanout.h"
#include "converter/convert/journal.h"
#include "converter/plan/output_layout.h"
#include "converter/plan/plan_names.h"
#include "converter/cli/progress.h"
#include "converter/source/prefetch.h"
#include "converter/convert/prior_output.h"
#include "converter/audit/scan.h"
#include "converter/zimbra/zimbra_limits.h"
#include "converter/zimbra/zimbra_runs.h"
#include "converter/zimbra/zimbra_counts.h"
#include "converter/source/source_io.h"
#include "parsers/dav_resource.h"
#include "parsers/message_check.h"
#include "parsers/message_id.h"
#include "writers/gzip_stream.h"
#include "writers/maildir.h"
#include "writers/manifest.h"
#include "writers/message_encoder.h"
#include "writers/scratch_file.h"
#include "writers/message_log.h"
#include "writers/tar_writer.h"
#include "writers/zimbra_flags.h"
#include "writers/zimbra_import_script.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t read_buffer_size = 256 * 1024;
constexpr std::string_view archive_name = "zimbra.tgz";
constexpr std::string_view flags_name = "zimbra-flags.zmm";
constexpr std::string_view script_name = "zimbra-import.sh";
constexpr std::string_view expected_name = "zimbra-expected.tsv";

Finding finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

struct Job {
  const MailboxRef* mailbox = nullptr;     // null for a recovery folder of orphans
  const MailboxRef* orphans_of = nullptr;  // recovery folder: the folder whose orphans it holds
  std::size_t inventory = 0;
  std::size_t user = 0;
  const FolderNameResult* name = nullptr;
  ConvertFolder out;
  // An incremental run (converter/zimbra/zimbra_runs.h): what earlier archives hold of this folder; for
  // a calendar or address book, that it was posted from an earlier run and is left as it is.
  std::shared_ptr<const EarlierZimbraFolder> earlier;
  bool dav_earlier = false;
};

struct User {
  std::string owner;
  std::string root_rel;
  fs::path root;
  const UserState* state = nullptr;
  NamingOutcome naming;
  std::vector<std::size_t> jobs;  // in archive order
  std::vector<Finding> findings;
  bool refused = false;
  std::string fingerprint;  // of the snapshot as this user's archive holds it (journal/zimbra.done)
  std::vector<ZimbraRun> runs;  // earlier archives (incremental run), oldest first
  unsigned run = 1;             // this run's number: its archive is zimbra_archive_name(run)
  ZimbraFolderCounts earlier_expected;  // the earlier run's zimbra-expected.tsv
  std::string archive_file() const { return zimbra_archive_name(run); }
  std::string flags_file() const { return zimbra_flags_name(run); }
};

// What one user's conversion shares between its folders: the archive, the flag commands, the
// per-thread buffers. One user is converted by one thread, start to end.
struct UserRun {
  const ConvertOptions& opt;
  User& user;
  Progress& progress;
  GzipOutputFile archive;
  TarWriter tar{[this](std::string_view b) { return archive.write(b); }};
  OutputFile zmm;
  WriteStatus stream_status;  // the archive or zmm stream failed: nothing more goes in
  MessageChecker checker;
  MessageIdScanner message_id;
  ScratchFile raw, repaired;
  std::vector<char> buffer = std::vector<char>(read_buffer_size);
  IoThreads* io = nullptr;  // --io-depth > 1: the prefetch stage's I/O threads
  Prefetcher prefetch;      // a folder's next message files, read ahead on `io`
  std::string encoded;
  // Folders without entries (path, view) and the folders that have some: the import creates
  // folders only for entries, so the empty ones that are no parent of a filled one get a
  // createFolder line at the end.
  std::vector<std::pair<std::string, std::string>> empty_folders;
  std::set<std::string> filled_folders;
  // Calendars and address books, posted one file each by the import script (never archive
  // entries: ArchiveFormatter's .ics branch closes the tar stream and ends the import).
  std::vector<ZimbraCollectionFile> collections;
  std::vector<ZimbraExpectedRow> expected;  // zimbra-expected.tsv

  UserRun(const ConvertOptions& o, User& u, Progress& p) : opt(o), user(u), progress(p), checker(MessageCheckOptions{o.mime}) {}

  bool sync() const { return opt.sync != SyncPolicy::none; }

  void stream_failed(const WriteStatus& st) {
    if (stream_status) stream_status = st;
  }

  // One tar entry whose bytes are in `scratch`.
  WriteStatus add_entry(const std::string& name, ScratchFile& scratch, std::int64_t mtime, std::uint32_t mode) {
    if (!stream_status) return stream_status;
    WriteStatus st = tar.begin(TarEntry{name, scratch.size(), mtime, mode});
    if (st) st = scratch.read_all(buffer, [&](std::string_view b) { return tar.write(b); });
    if (st) st = tar.end();
    if (!st) stream_failed(st);
    return st;
  }

  WriteStatus add_entry(const std::string& name, std::string_view bytes, std::int64_t mtime, std::uint32_t mode) {
    if (!stream_status) return stream_status;
    WriteStatus st = tar.begin(TarEntry{name, bytes.size(), mtime, mode});
    if (st) st = tar.write(bytes);
    if (st) st = tar.end();
    if (!st) stream_failed(st);
    return st;
  }

  void zmm_line(const std::string& line) {
    if (!stream_status) return;
    if (auto st = zmm.write(line); !st) stream_failed(st);
  }
};

std::string reason_text(std::uint32_t uid, const fs::path& source, const AuditMessage& m) {
  std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + m.action + "\n";
  if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
  for (const auto& c : m.changes) s += "change: " + c + "\n";
  for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
  return s;
}

// Keeps the bytes read from the source (in `scratch`, or re-read from `source` when they were
// never read: a duplicate record) under quarantine/<folder>/, as convert does for Maildir/mbox.
WriteStatus keep_original(UserRun& run, const fs::path& dir, const fs::path& source, ScratchFile* scratch,
                          std::uint32_t uid, std::string_view label, const AuditMessage& m) {
  if (auto st = make_directories(dir); !st) return st;
  const std::string name = std::string(label) + "-" + std::to_string(uid) + ".eml";
  OutputFile copy;
  if (auto st = copy.open(dir, name); !st) return st;
  if (scratch) {
    if (auto st = scratch->read_all(run.buffer, [&](std::string_view b) { return copy.write(b); }); !st) return st;
  } else {
    WriteStatus ws;
    SourceStream s = stream_source_file(source, run.buffer, [&](std::string_view b) {
      if (ws) ws = copy.write(b);
    });
    if (!ws) return ws;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
  }
  if (auto st = copy.commit(dir / name, -1, run.sync(), OutputFile::OnExisting::replace); !st) return st;
  return write_small_file(dir / (std::string(label) + "-" + std::to_string(uid) + ".reason"), reason_text(uid, source, m),
                          run.sync());
}

// The flags a message needs after import, for the zmm file.
struct FlagNeed {
  std::string flags;              // Zimbra flag letters; "" = no modifyItemFlags
  std::vector<std::string> tags;  // Zimbra tag names
  bool any() const { return !flags.empty() || !tags.empty(); }
};

FlagNeed flag_need(std::uint32_t flags, const std::vector<std::string>& keywords) {
  FlagNeed n;
  bool forwarded = false;
  for (const auto& k : keywords) {
    std::string lower = k;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "$forwarded")
      forwarded = true;  // Zimbra's own \Forwarded flag
    else
      n.tags.push_back(zimbra_tag_name(k));
  }
  if (flags & imapflag::draft) n.tags.emplace_back(zimbra_draft_tag);
  std::sort(n.tags.begin(), n.tags.end());
  n.tags.erase(std::unique(n.tags.begin(), n.tags.end()), n.tags.end());
  std::string letters;
  if (flags & imapflag::flagged) letters += 'f';
  if (flags & imapflag::answered) letters += 'r';
  if (forwarded) letters += 'w';
  if (flags & imapflag::deleted) letters += 'x';
  // modifyItemFlags replaces every flag, unread included: say unread again where it was.
  if (!letters.empty()) n.flags = ((flags & imapflag::seen) ? "" : "u") + letters;
  return n;
}

// Per folder, what the zmm file needs to find messages again: every written message's
// Message-ID (hashed, to group messages sharing one), and the full need of those with flags.
struct FolderFlags {
  struct Row {
    std::uint64_t id_hash = 0;
    std::uint64_t need_hash = 0;
    std::size_t needed = SIZE_MAX;  // index into needs, or SIZE_MAX
    bool searchable = false;
  };
  struct Needed {
    std::uint32_t uid;
    std::string msgid;
    FlagNeed need;
  };
  std::vector<Row> rows;
  std::vector<Needed> needs;

  void add(std::uint32_t uid, const std::string& msgid, std::uint32_t flags, FlagNeed need) {
    Row r;
    r.searchable = searchable(msgid);
    r.id_hash = std::hash<std::string>{}(msgid);
    std::string sig = need.flags + ((flags & imapflag::seen) ? "S" : "U");
    for (const auto& t : need.tags) sig += "\n" + t;
    r.need_hash = need.any() ? std::hash<std::string>{}(sig) : 0;
    if (need.any()) {
      r.needed = needs.size();
      needs.push_back(Needed{uid, msgid, std::move(need)});
    }
    rows.push_back(r);
  }

  // Writes the commands; returns the UIDs whose flags could not be scripted.
  std::vector<std::uint32_t> emit(UserRun& run, const std::string& folder_path) const {
    std::vector<std::uint32_t> unmatched;
    if (needs.empty()) return unmatched;
    std::map<std::uint64_t, std::vector<const Row*>> groups;
    for (const auto& r : rows) groups[r.id_hash].push_back(&r);
    const bool path_ok = folder_path.find_first_of("\\\"") == std::string::npos;
    std::set<std::uint64_t> done;
    for (const auto& r : rows) {
      if (r.needed == SIZE_MAX) continue;
      const Needed& n = needs[r.needed];
      const auto& group = groups[r.id_hash];
      bool same = r.searchable && path_ok && group.size() <= 1000;
      for (const Row* g : group) same = same && g->need_hash == r.need_hash;
      if (!same) {
        unmatched.push_back(n.uid);
        continue;
      }
      if (!done.insert(r.id_hash).second) continue;  // the group's first message spoke for all
      run.zmm_line(zmm_search(folder_path, n.msgid, group.size()));
      if (!n.need.flags.empty()) run.zmm_line(zmm_modify_flags(group.size(), n.need.flags));
      for (const auto& t : n.need.tags) run.zmm_line(zmm_tag(group.size(), t));
    }
    return unmatched;
  }
};

void count_not_converted(ConvertFolder& out, std::uint64_t n) { out.count.not_converted += n; }

// A mail folder (or a recovery folder of orphans) into the archive.
void convert_mail_folder(UserRun& run, Job& job, const MailboxInventory& inv, const std::vector<std::uint32_t>& orphan_uids) {
  const ConvertOptions& opt = run.opt;
  ConvertFolder& out = job.out;
  const bool recovery = job.orphans_of != nullptr;
  const MailboxRef& source = recovery ? *job.orphans_of : *job.mailbox;
  out.uidvalidity = inv.header.uidvalidity;
  out.uidnext = recovery ? static_cast<std::uint32_t>(orphan_uids.size() + 1) : inv.header.last_uid + 1;
  out.output = run.user.root_rel + "/" + run.user.archive_file();
  const std::string folder_path = job.name->path;
  const std::string side = side_file_name(*job.name);
  const fs::path quarantine_dir = run.user.root / "quarantine" / side;

  OutputFile manifest;
  const fs::path manifest_path = run.user.root / "manifests" / (side + ".jsonl");
  WriteStatus mst = make_directories(manifest_path.parent_path());
  if (mst) mst = manifest.open(manifest_path.parent_path(), side + ".jsonl");
  if (!mst) {
    out.failed = true;
    out.fail_reason = mst.message;
    out.findings.push_back(finding(Finding::Severity::error, "output_failed", mst.message, 0, mst.message));
    if (!recovery) out.count.messages = out.count.not_converted = inv.live.size();
    return;
  }

  struct Item {
    const IndexRecord* record;
    std::uint32_t source_uid, target_uid;
  };
  std::vector<Item> items;
  if (recovery) {
    std::uint32_t next = 1;
    for (std::uint32_t uid : orphan_uids) items.push_back(Item{nullptr, uid, next++});
  } else {
    for (const auto& r : inv.live) items.push_back(Item{&r, r.uid, r.uid});
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.source_uid < b.source_uid; });
  }
  std::set<std::uint32_t> missing;
  for (const auto& f : inv.findings)
    if (f.kind == "message_file_missing") missing.insert(f.uid);

  // --io-depth: the message files the loop below reads, in its order (not the missing, the
  // duplicate or, with --skip-deleted, the \Deleted ones), read ahead.
  PrefetchScope prefetch_scope{run.prefetch};
  if (run.io) {
    std::vector<fs::path> ahead;
    std::uint32_t previous = 0;
    for (const Item& item : items) {
      const IndexRecord* r = item.record;
      if (r && opt.skip_deleted && (converted_system_flags(r->system_flags) & imapflag::deleted)) continue;
      const bool duplicate = r && item.source_uid == previous;
      previous = item.source_uid;
      if (r && (duplicate || missing.count(item.source_uid))) continue;
      ahead.push_back(r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + "."));
    }
    run.prefetch.start(run.io, static_cast<std::size_t>(opt.io_depth), read_buffer_size, std::move(ahead));
  }

  FolderFlags folder_flags;
  std::set<std::uint32_t> carried;  // earlier manifest lines written again
  std::uint64_t reused = 0;         // UIDs that name another message than an earlier archive's
  std::uint64_t entries = 0;
  std::uint32_t previous_uid = 0;
  for (const Item& item : items) {
    const IndexRecord* r = item.record;
    const fs::path path = r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + ".");
    ManifestEntry me;
    me.uid = item.target_uid;
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
      struct stat st {};  // an orphan: Cyrus set its file's mtime to the INTERNALDATE on append
      if (::lstat(path.c_str(), &st) == 0) internaldate = st.st_mtime;
    }
    me.flags = system_flag_names(flags);
    me.internaldate = internaldate;
    if (recovery)
      ++out.count.orphans;
    else
      ++out.count.messages;
    auto finish_message = [&](const AuditMessage* m) {
      (void)manifest.write(manifest_line(me, false));
      run.progress.add(r ? r->size : 0, 1);
      if (m && (!m->findings.empty() || m->action != "write")) out.messages.push_back(*m);
    };

    if (job.earlier) {
      // An earlier archive holds it (or it was quarantined then): its manifest line is kept.
      auto it = job.earlier->by_uid.find(item.target_uid);
      if (it != job.earlier->by_uid.end() && same_zimbra_message(it->second.second, r, me.source_file)) {
        const bool in_archive = it->second.second.disposition != "quarantined";
        if (recovery)
          ++(in_archive ? out.count.orphans_recovered : out.count.orphans_quarantined);
        else {
          ++out.count.earlier;
          out.count.earlier_quarantined += !in_archive;
        }
        (void)manifest.write(it->second.first + "\n");
        carried.insert(item.target_uid);
        run.progress.add(r ? r->size : 0, 1);
        continue;
      }
      if (it != job.earlier->by_uid.end()) ++reused;  // another message under an earlier UID: written anew
    }
    if (out.failed || !run.stream_status) {
      ++out.count.not_converted;
      me.disposition = "not_converted";
      finish_message(nullptr);
      continue;
    }
    if (r && opt.skip_deleted && (flags & imapflag::deleted)) {
      ++out.skipped_deleted;
      me.disposition = "skipped_deleted";
      finish_message(nullptr);
      continue;
    }
    const bool duplicate = r && item.source_uid == previous_uid;
    previous_uid = item.source_uid;

    AuditMessage m;
    bool scratch_holds_source = false;
    MessageCheckResult check;
    std::string msgid;
    if (r && !duplicate && missing.count(item.source_uid)) {
      m.uid = item.source_uid;
      m.file = path.string();
      m.action = opt.on_corrupt == OnCorrupt::fail ? "fail" : "missing";
      m.reason = "message file missing";
      m.findings.push_back(finding(Finding::Severity::error, "message_file_missing", path.string(), m.uid,
                                   "the index lists a live message but its file is missing"));
    } else if (duplicate) {
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.duplicate_record = true;
      m = decide_message(subject, nullptr, opt.on_corrupt, out.name);
    } else {
      // Read once: check, SHA-1 and Message-ID in the same pass, bytes into the scratch file.
      run.checker.reset();
      run.message_id.reset();
      WriteStatus scratch = run.raw.clear();
      SourceStream s = run.prefetch.stream(path, run.buffer, [&](std::string_view chunk) {
        run.checker.feed(chunk);
        run.message_id.feed(chunk);
        if (scratch) scratch = run.raw.write(chunk);
      });
      check = run.checker.finish();
      msgid = run.message_id.value();
      me.sha1 = check.sha1;
      me.sha1_known = s.status == SourceOpen::Status::ok;
      if (!r) me.size = check.size;
      if (!scratch) {
        out.failed = true;
        out.fail_reason = scratch.message;
        out.findings.push_back(finding(Finding::Severity::error, "output_failed", scratch.message, item.source_uid, scratch.message));
        ++out.count.not_converted;
        me.disposition = "not_converted";
        finish_message(nullptr);
        continue;
      }
      scratch_holds_source = s.status == SourceOpen::Status::ok;
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.index_version = inv.header.minor_version;
      subject.read_failed = s.status != SourceOpen::Status::ok;
      subject.read_error = s.message;
      m = decide_message(subject, &check, opt.on_corrupt, out.name);
      if (m.action == "recover") m.action = m.changes.empty() ? "write" : "repair";
      if (s.status == SourceOpen::Status::ok) m.size = check.size;
      quarantine_zimbra_long_line(check, opt.zimbra_max_line, m);  // Zimbra would refuse it
    }
    if (!m.size && r) m.size = r->size;  // not read: the index's size

    const std::string entry = folder_path + "/" + std::to_string(item.target_uid) + ".eml";
    // Zimbra imports an entry whose owner-write bit is clear as unread (TarArchiveInputStream.isUnread).
    const std::uint32_t mode = (flags & imapflag::seen) ? 0600 : 0400;
    auto fail_write = [&](const WriteStatus& st) {
      out.failed = true;
      out.fail_reason = st.message;
      out.findings.push_back(finding(Finding::Severity::error, "output_failed", st.message, item.source_uid, st.message));
    };
    auto written = [&](std::uint64_t size) {
      me.output_file = run.user.archive_file() + ":" + entry;
      out.bytes_written += size;
      ++entries;
      folder_flags.add(item.target_uid, msgid, flags, flag_need(flags, me.keywords));
    };

    if (m.action == "write") {
      if (auto st = run.add_entry(entry, run.raw, internaldate, mode); st) {
        ++out.count.written;
        me.disposition = "written";
        written(run.raw.size());
      } else {
        fail_write(st);
        ++out.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "repair") {
      // The smallest change the message needs, bytes otherwise as Cyrus stored them (CRLF kept).
      OutputEncoding enc;
      enc.crlf_to_lf = false;
      enc.drop_nul = true;
      enc.fix_line_ends = true;
      for (const auto& h : check.faults)
        if (h.fault == MessageFault::no_blank_line_after_header) enc.blank_line_before = static_cast<std::int64_t>(h.offset);
      MessageEncoder encoder(enc);
      WriteStatus st = keep_original(run, quarantine_dir, path, &run.raw, item.source_uid, "original", m);
      if (st) st = run.repaired.clear();
      if (st)
        st = run.raw.read_all(run.buffer, [&](std::string_view chunk) {
          run.encoded.clear();
          encoder.encode(chunk, run.encoded);
          return run.repaired.write(run.encoded);
        });
      if (st) {
        run.encoded.clear();
        encoder.finish(run.encoded);
        st = run.repaired.write(run.encoded);
      }
      if (st) st = run.add_entry(entry, run.repaired, internaldate, mode);
      if (st) {
        ++out.count.repaired;
        me.disposition = "repaired";
        me.changes = m.changes;
        written(run.repaired.size());
      } else {
        fail_write(st);
        ++out.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "quarantine") {
      if (auto st = keep_original(run, quarantine_dir, path, scratch_holds_source ? &run.raw : nullptr, item.source_uid,
                                  "quarantined", m);
          st) {
        ++out.count.quarantined;
        me.disposition = "quarantined";
        me.reason = m.reason;
      } else {
        fail_write(st);
        ++out.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "fail") {
      out.failed = true;
      out.fail_reason = "UID " + std::to_string(item.source_uid) + ": " + m.reason;
      ++out.count.not_converted;
      me.disposition = "not_converted";
    } else if (m.action == "missing") {
      ++out.count.missing;
      me.disposition = "missing";
      me.reason = m.reason;
    }
    if (recovery) {
      if (me.disposition == "written" || me.disposition == "repaired")
        ++out.count.orphans_recovered;
      else
        ++out.count.orphans_quarantined;
    }
    finish_message(&m);
  }
  if (recovery) out.count.written = out.count.repaired = out.count.quarantined = 0;
  std::uint64_t earlier_entries = 0;
  if (job.earlier) {
    // Messages Cyrus expunged since stay in Zimbra: their lines stay in the manifest.
    for (const auto& [uid, line] : job.earlier->by_uid)
      if (!carried.count(uid)) (void)manifest.write(line.first + "\n");
    earlier_entries = job.earlier->in_archives;
    if (reused)
      out.findings.push_back(finding(Finding::Severity::warning, "zimbra_uid_reused", manifest_path.string(), 0,
                                     std::to_string(reused) +
                                         " UID(s) name other messages than an earlier archive holds under them "
                                         "(UIDVALIDITY changed?): written into this run's archive; the earlier ones "
                                         "stay in Zimbra"));
  }

  // Flags the entries could not carry; a folder without entries is created by the zmm file,
  // or it would not exist after the import.
  const std::vector<std::uint32_t> unmatched = folder_flags.emit(run, folder_path);
  if (!unmatched.empty()) {
    std::string uids;
    for (std::size_t i = 0; i < unmatched.size() && i < 20; ++i) uids += (i ? ", " : "") + std::to_string(unmatched[i]);
    if (unmatched.size() > 20) uids += ", ...";
    out.findings.push_back(finding(
        Finding::Severity::warning, "zimbra_flags_not_scripted", manifest_path.string(), 0,
        std::to_string(unmatched.size()) +
            " message(s) with flags or keywords have no Message-ID Zimbra can search for, or share theirs with a "
            "message of other flags, so zimbra-flags.zmm cannot reach them; their flags are in the manifest (UIDs " +
            uids + ")"));
  }
  if (entries == 0)
    run.empty_folders.emplace_back(folder_path, "message");
  else
    run.filled_folders.insert(folder_path);
  run.expected.push_back(ZimbraExpectedRow{folder_path, "message", entries + earlier_entries});
  if (auto st = manifest.commit(manifest_path, -1, run.sync(), OutputFile::OnExisting::replace); !st)
    out.findings.push_back(finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
}

// A calendar or addressbook: one file of all its resources (`calendars/<folder>.ics`,
// `contacts/<folder>.vcf`; Zimbra's ics and vcf imports read several objects from one body),
// posted by the import script into a folder it creates with the right view first.
void convert_dav_folder(UserRun& run, Job& job, const MailboxInventory& inv) {
  ConvertFolder& out = job.out;
  const MailboxRef& mb = *job.mailbox;
  const bool calendar = job.name->action == FolderAction::export_calendar;
  out.uidvalidity = inv.header.uidvalidity;
  out.uidnext = inv.header.last_uid + 1;
  const std::string sub = calendar ? "calendars" : "contacts";
  const std::string file_name = side_file_name(*job.name) + (calendar ? ".ics" : ".vcf");
  const fs::path dir = run.user.root / sub;
  out.output = run.user.root_rel + "/" + sub + "/" + file_name;
  if (job.dav_earlier) {
    // Posted from an earlier run: a second post would duplicate its contacts. Left as it is.
    out.count.messages = out.count.earlier = inv.live.size();
    for (const auto& r : inv.live) run.progress.add(r.size, 1);
    std::error_code ec;
    if (fs::exists(dir / file_name, ec))
      run.collections.push_back(ZimbraCollectionFile{job.name->path, sub + "/" + file_name, calendar});
    run.empty_folders.emplace_back(job.name->path, calendar ? "appointment" : "contact");
    const auto it = run.user.earlier_expected.find("/" + job.name->path);
    run.expected.push_back(ZimbraExpectedRow{job.name->path, calendar ? "appointment" : "contact",
                                             it == run.user.earlier_expected.end() ? 0 : it->second});
    return;
  }
  OutputFile file;
  WriteStatus fst = make_directories(dir);
  if (fst) fst = file.open(dir, file_name);
  std::uint64_t entries = 0, written_bytes = 0;
  for (const auto& r : inv.live) {
    ++out.count.messages;
    run.progress.add(r.size, 1);
    const fs::path path = message_file_path(mb, r);
    auto problem = [&](std::string kind, std::string detail) {
      ++out.count.not_converted;
      AuditMessage m;
      m.uid = r.uid;
      m.file = path.string();
      m.size = r.size;
      m.action = "not_converted";
      m.reason = detail;
      m.findings.push_back(Finding{Finding::Severity::error, std::move(kind), path.string(), 0, r.uid, detail});
      out.messages.push_back(std::move(m));
    };
    if (!run.stream_status || !fst) {
      if (!fst) problem("output_failed", fst.message);
      else ++out.count.not_converted;
      continue;
    }
    SourceOpen f = SourceOpen::map(path);
    if (f.status == SourceOpen::Status::missing) {
      ++out.count.missing;
      continue;
    }
    if (f.status != SourceOpen::Status::ok) {
      problem("dav_resource_unreadable", f.message);
      continue;
    }
    auto body = dav_resource_body(f.file.bytes(), path.string());
    if (!body) {
      problem("dav_resource_unreadable", body.error().to_string());
      continue;
    }
    std::string_view bytes = body.value();
    WriteStatus st = file.write(bytes);
    // Objects are separated by a line end: the next BEGIN must start a line.
    if (st && !bytes.empty() && bytes.back() != '\n') st = file.write("\r\n");
    if (!st) {
      fst = st;
      problem("output_failed", st.message);
      continue;
    }
    ++out.count.written;
    ++entries;
    written_bytes += bytes.size();
  }
  if (fst && entries > 0) fst = file.commit(dir / file_name, -1, run.sync(), OutputFile::OnExisting::keep_identical);
  if (!fst) {
    // Nothing of this collection exists: what was counted as written was not.
    if (entries > 0) out.findings.push_back(finding(Finding::Severity::error, "output_failed", fst.message, 0, fst.message));
    out.count.not_converted += out.count.written;
    out.count.written = 0;
    entries = 0;
  }
  out.bytes_written += fst ? written_bytes : 0;
  run.empty_folders.emplace_back(job.name->path, calendar ? "appointment" : "contact");  // the script creates it
  if (entries > 0) run.collections.push_back(ZimbraCollectionFile{job.name->path, sub + "/" + file_name, calendar});
  run.expected.push_back(ZimbraExpectedRow{job.name->path, calendar ? "appointment" : "contact", entries});
}

// The import script and the expected counts, cyrconv's own: an incremental run replaces them
// (they list every archive and the counts after all of them).
WriteStatus write_zimbra_side_file(const fs::path& root, std::string_view name, const std::string& text, bool sync,
                                   mode_t mode) {
  OutputFile f;
  WriteStatus st = f.open(root, name);
  if (st) st = f.write(text);
  if (st) st = f.commit(root / name, -1, sync, OutputFile::OnExisting::replace);
  if (st && ::chmod((root / name).c_str(), mode) != 0) st = write_error(root / name, "chmod");
  return st;
}

void convert_user(const ConvertOptions& opt, User& user, std::vector<Job>& jobs, const std::vector<MailboxInventory>& inv,
                  const NamePlan& plan, Progress& progress, IoThreads* io, MessageLog* log) {
  UserRun run(opt, user, progress);
  run.io = io;
  auto fail_all = [&](const WriteStatus& st) {
    user.findings.push_back(finding(Finding::Severity::error, "output_failed", user.root.string(), 0, st.message));
  };
  WriteStatus st = make_directories(user.root);
  if (st) st = run.raw.open(user.root);
  if (st) st = run.repaired.open(user.root);
  if (st) st = run.archive.open(user.root, user.archive_file());
  if (st) st = run.zmm.open(user.root, user.flags_file());
  if (!st) {
    fail_all(st);
    run.stream_status = st;
  }

  // Tags first: every keyword the user's folders use, and the draft tag.
  if (run.stream_status) {
    std::set<std::string> tags;
    for (std::size_t j : user.jobs) {
      const Job& job = jobs[j];
      if (!job.name || job.name->action != FolderAction::mail_folder || job.orphans_of) continue;
      const MailboxInventory& mi = inv[job.inventory];
      for (const auto& r : mi.live) {
        const std::uint32_t flags = converted_system_flags(r.system_flags);
        if (opt.skip_deleted && (flags & imapflag::deleted)) continue;
        for (const auto& t : flag_need(flags, record_keywords(r, mi)).tags) tags.insert(t);
      }
    }
    for (const auto& t : tags) run.zmm_line(zmm_create_tag(t));
  }

  for (std::size_t j : user.jobs) {
    Job& job = jobs[j];
    const MailboxInventory& mi = inv[job.inventory];
    if (!job.name) {
      job.out.findings.push_back(finding(Finding::Severity::error, "naming_missing", "", 0, "no target name was planned for this folder"));
      job.out.count.messages = job.orphans_of ? 0 : mi.live_count;
      job.out.count.not_converted = job.out.count.messages;
      continue;
    }
    try {
      switch (job.name->action) {
        case FolderAction::mail_folder:
          convert_mail_folder(run, job, mi, plan.orphans[job.inventory]);
          break;
        case FolderAction::export_calendar:
        case FolderAction::export_addressbook:
          convert_dav_folder(run, job, mi);
          break;
        case FolderAction::skip:
          progress.add(mi.bytes, mi.live_count);
          job.out.count.messages = mi.live_count;
          job.out.count.not_converted = mi.live_count;
          if (mi.live_count)
            job.out.findings.push_back(finding(Finding::Severity::warning, "collection_not_converted", job.mailbox->dir.string(), 0,
                                               "DAV collection of a kind that is not exported"));
          break;
      }
    } catch (const std::exception&) {
      rethrow_naming_mailbox(job.mailbox ? job.mailbox : job.orphans_of);
    }
    if (log) log->spill(job.out.messages, job.out.spilled);  // on failure they stay in memory
  }

  // The import script: folders the archive does not create (empty ones, calendars and address
  // books, which need their view before their post), the archive, the collections, the flags.
  ZimbraImportPlan import;
  import.account = user.owner;
  for (const auto& [path, view] : run.empty_folders) {
    const auto child = run.filled_folders.lower_bound(path + "/");
    const bool parent_of_filled = child != run.filled_folders.end() && child->rfind(path + "/", 0) == 0;
    if (!parent_of_filled || view != "message") import.folders.emplace_back(path, view);
  }
  std::sort(import.folders.begin(), import.folders.end());
  // Every archive, earlier ones first (the script's markers skip those already posted); an
  // archive without entries has nothing to post.
  std::vector<ZimbraRun> runs = user.runs;
  runs.push_back(ZimbraRun{user.run, user.archive_file(), user.flags_file(), 0, user.fingerprint});
  for (std::size_t j : user.jobs)
    if (jobs[j].name && jobs[j].name->action == FolderAction::mail_folder)
      runs.back().entries += jobs[j].out.count.written + jobs[j].out.count.repaired +
                             (jobs[j].orphans_of ? jobs[j].out.count.orphans_recovered : 0);
  for (const auto& r : runs) {
    if (r.entries > 0 || (r.number == 1 && user.runs.empty() && !run.filled_folders.empty())) import.archives.push_back(r.archive);
    import.flags_files.push_back(r.flags);
  }
  import.collections = run.collections;

  // Finish: the archive's end, then both files under their final names, never over existing ones.
  if (run.stream_status) {
    if (auto f = run.tar.finish(); !f) run.stream_failed(f);
  }
  if (run.stream_status) {
    if (auto c = run.archive.commit(user.root / user.archive_file(), run.sync()); !c) run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = run.zmm.commit(user.root / user.flags_file(), -1, run.sync(), OutputFile::OnExisting::keep_identical); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = write_zimbra_side_file(user.root, script_name, zimbra_import_script(import), run.sync(), 0755); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    if (auto c = write_zimbra_side_file(user.root, expected_name, zimbra_expected_tsv(run.expected), run.sync(), 0644); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    // The archive is there: record it, so the next run's manifests count its messages as earlier.
    if (auto c = write_small_file(user.root / zimbra_runs_file, zimbra_runs_text(runs), run.sync()); !c)
      run.stream_failed(c);
  }
  if (run.stream_status) {
    // Last: the archive is complete, and from this snapshot.
    WriteStatus j = make_directories(journal_dir(user.root));
    if (j) j = write_small_file(journal_dir(user.root) / "zimbra.done", user.fingerprint + "\n", run.sync());
    if (!j) user.findings.push_back(finding(Finding::Severity::error, "output_failed", j.message, 0, j.message));
  }
  if (!run.stream_status) {
    run.archive.abort();
    run.zmm.abort();
    if (st) fail_all(run.stream_status);
    // Nothing of this user's archive exists: what was counted as written was not.
    for (std::size_t j : user.jobs) {
      ConvertFolder& f = jobs[j].out;
      if (jobs[j].orphans_of) {
        f.count.orphans_quarantined += f.count.orphans_recovered;
        f.count.orphans_recovered = 0;
      }
      count_not_converted(f, f.count.written + f.count.repaired);
      f.count.written = f.count.repaired = 0;
      f.bytes_written = 0;
    }
  } else if (run.sync()) {
    if (auto s = sync_directory(user.root); !s) fail_all(s);
  }
  std::vector<std::string> run_files;  // incremental runs' archives and flag files
  for (unsigned k = 2; k <= user.run; ++k) {
    run_files.push_back(zimbra_archive_name(k));
    run_files.push_back(zimbra_flags_name(k));
  }
  apply_output_owner(opt.owner, user.owner, user.root, user.findings, run_files);  // --owner (converter/convert/output_owner.h)
}

// What one user's archive is made of: every folder's identity and every live record's UID,
// flags, date and size, plus the options that change the archive's bytes. Equal fingerprints
// give equal archives, so a re-run on the same snapshot has nothing to do.
std::string snapshot_fingerprint(const User& u, const std::vector<Job>& jobs, const std::vector<MailboxInventory>& inv,
                                 const ConvertOptions& opt) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha1(), nullptr);
  auto add = [&](std::string_view s) {
    EVP_DigestUpdate(ctx, s.data(), s.size());
    EVP_DigestUpdate(ctx, "\0", 1);
  };
  add(to_string(opt.profile));
  add(to_string(opt.on_corrupt));
  add(opt.skip_deleted ? "skip-deleted" : "");
  add(std::to_string(opt.zimbra_max_line));
  for (std::size_t j : u.jobs) {
    const Job& job = jobs[j];
    const MailboxInventory& mi = inv[job.inventory];
    add(job.out.name_raw);
    add(job.out.target);
    add(job.orphans_of ? "orphans" : "folder");
    add(std::to_string(mi.header.uidvalidity) + " " + std::to_string(mi.header.last_uid) + " " +
        std::to_string(mi.live.size()) + " " + std::to_string(mi.bytes));
    for (const auto& r : mi.live) {
      std::string rec = std::to_string(r.uid) + " " + std::to_string(r.system_flags) + " " +
                        std::to_string(r.internaldate) + " " + std::to_string(r.size) + " ";
      for (unsigned n = 0; n < 128; ++n) rec += r.user_flag(n) ? '1' : '0';
      add(rec);
    }
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int k = 0; k < len; ++k) {
    out += hex[md[k] >> 4];
    out += hex[md[k] & 15];
  }
  return out;
}

}  // namespace

ConvertReport run_convert_zimbra(const SourceInputs& inputs, const ConvertOptions& opt) {
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  ConvertReport report;
  report.out = opt.out.string();
  report.format = "zimbra-tgz";
  report.profile = to_string(opt.profile);
  report.on_corrupt = to_string(opt.on_corrupt);
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());

  // Discover and select, as convert does.
  Discovery disc = discover(inputs, opt.io_depth);
  report.findings = std::move(disc.findings);
  const std::set<std::string> wanted(opt.users.begin(), opt.users.end());
  std::vector<const MailboxRef*> selected;
  std::vector<ConvertFolder> not_converted;
  for (const auto& mb : disc.mailboxes) {
    const std::string owner = mb.deleted ? std::string() : mb.name.owner();
    if (!wanted.empty() && !wanted.count(owner)) continue;
    if (mb.deleted) {
      ConvertFolder f;
      bool valid = true;
      f.name = display_folder_name(mb.name, valid, disc.caret);
      f.name_raw = mb.name.internal();
      f.action = "deleted";
      f.count.count_files(count_message_files(mb.dir), 0, 0, 0, true, 0);
      f.findings.push_back(finding(Finding::Severity::info, "deleted_folder_skipped", mb.dir.string(), 0,
                                   "folder in the DELETED hierarchy (delayed delete): not converted"));
      not_converted.push_back(std::move(f));
      continue;
    }
    if (selected_for_conversion(mb, wanted)) selected.push_back(&mb);
  }
  for (const auto& u : opt.users) {
    bool found = false;
    for (const auto* mb : selected) found = found || mb->name.owner() == u;
    if (!found && !u.empty())  // "": the shared unit of a shard plan, possibly only DELETED folders
      report.findings.push_back(finding(Finding::Severity::error, "user_not_found", "", 0,
                                        "--users names " + u + " but the store has no folder of that user"));
  }
  const SourceStates states = load_source_states(inputs, selected, opt.io_depth);
  // Mail folders keep only their summary until their user's archive is made (then their records
  // are read again): memory holds the users in progress, not the store.
  std::vector<MailboxInventory> inv(selected.size());
  for_each_io(opt.io_depth, selected.size(), [&](std::size_t i) {
    inv[i] = inventory_mailbox(*selected[i], states.seen_for(*selected[i]));
    if (selected[i]->kind == MailboxKind::email) std::vector<IndexRecord>().swap(inv[i].live);
  });

  // Plan: the same names convert and verify compute.
  NamePlan plan = plan_names(selected, inv, opt.profile, opt.rename_map, disc.caret);
  for (const auto& e : plan.rename_map_errors)
    report.findings.push_back(finding(Finding::Severity::error, "rename_map_refused", "", 0, e));
  for (const auto& e : plan.naming_errors)
    report.findings.push_back(finding(Finding::Severity::error, "naming_refused", "", 0, e));
  if (plan.refused()) {
    report.fatal = true;
    report.errors = report.findings.size();
    return report;
  }
  std::vector<User> users;
  for (auto& pu : plan.users) {
    User u;
    u.owner = pu.owner;
    u.root_rel = pu.root_rel;
    u.root = opt.out / u.root_rel;
    u.state = states.by_owner.at(pu.owner).get();
    u.naming = std::move(pu.naming);
    users.push_back(std::move(u));
  }
  auto name_of = [&](std::size_t u, const std::string& internal) -> const FolderNameResult* {
    for (const auto& r : users[u].naming.folders)
      if (r.internal_name == internal) return &r;
    return nullptr;
  };
  std::vector<Job> jobs;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::size_t u = plan.user_of[i];
    Job job;
    job.mailbox = selected[i];
    job.inventory = i;
    job.user = u;
    job.name = name_of(u, selected[i]->name.internal());
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
    if (!plan.orphans[i].empty()) {
      Job rec;
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
  // Archive order: by target path (parents before children), so the same snapshot gives the
  // same bytes whatever order discovery found the folders in.
  for (std::size_t j = 0; j < jobs.size(); ++j) users[jobs[j].user].jobs.push_back(j);
  for (auto& u : users)
    std::stable_sort(u.jobs.begin(), u.jobs.end(), [&](std::size_t a, std::size_t b) {
      const bool ra = jobs[a].orphans_of != nullptr, rb = jobs[b].orphans_of != nullptr;
      return std::tie(jobs[a].out.target, jobs[a].out.name_raw, ra) < std::tie(jobs[b].out.target, jobs[b].out.name_raw, rb);
    });

  // Re-runs (README "Re-runs"): a user whose archive was completed from this very snapshot is
  // left as it is; an interrupted one is made again (an archive committed before the kill is
  // kept when the new bytes equal it); an archive of another snapshot is never replaced, and
  // adding to one is not built. Decided per user right before its archive, once its folders'
  // records are read again.
  auto leave_user = [&](User& u, const std::string& kind, const std::string& why, bool earlier) {
    u.refused = true;
    if (!kind.empty()) u.findings.push_back(finding(Finding::Severity::error, kind, u.root.string(), 0, why));
    for (std::size_t j : u.jobs) {
      Job& job = jobs[j];
      job.out.count.messages = job.orphans_of ? 0 : inv[job.inventory].live_count;
      if (earlier) {
        job.out.run = "unchanged";
        job.out.count.earlier = job.out.count.messages;
        // What the archive lacks stays lacking: a no-op re-run exits as the run that made it.
        if (job.name && job.name->action == FolderAction::mail_folder)
          for (const auto& r :
               read_earlier_manifest(u.root / "manifests" / (side_file_name(*job.name) + ".jsonl")).records)
            job.out.count.earlier_quarantined += r.disposition == "quarantined";
      } else {
        job.out.count.not_converted = job.out.count.messages;
      }
      job.name = nullptr;
    }
  };
  // A newer snapshot of a user whose archive exists: this run's archive holds only what no
  // earlier archive holds (converter/zimbra/zimbra_runs.h); earlier archives are never touched.
  auto start_incremental = [&](User& u) {
    std::string err;
    u.runs = read_zimbra_runs(u.root, err);
    if (!err.empty() || u.runs.empty()) {
      leave_user(u, "output_exists",
                 (err.empty() ? "this user's zimbra.tgz was made from another snapshot but is missing" : err) +
                     ": left untouched; no archive of the new messages is made",
                 false);
      return;
    }
    u.run = u.runs.back().number + 1;
    if (auto t = read_output_text(u.root / "zimbra-expected.tsv", err))
      if (auto e = parse_zimbra_expected(*t, (u.root / "zimbra-expected.tsv").string())) u.earlier_expected = e.value();
    for (std::size_t j : u.jobs) {
      Job& job = jobs[j];
      if (!job.name) continue;
      if (job.name->action == FolderAction::export_calendar || job.name->action == FolderAction::export_addressbook) {
        job.dav_earlier = true;
        continue;
      }
      if (job.name->action != FolderAction::mail_folder) continue;
      auto e = std::make_shared<EarlierZimbraFolder>(
          read_earlier_zimbra_folder(u.root / "manifests" / (side_file_name(*job.name) + ".jsonl"), u.runs));
      if (!e->error.empty()) {
        // Without the manifest nobody knows what the earlier archives hold: nothing is made.
        leave_user(u, "output_exists", e->error + ": no archive of the new messages is made", false);
        return;
      }
      job.earlier = std::move(e);
    }
  };
  auto decide = [&](User& u) {
    for (std::size_t j : u.jobs) {
      MailboxInventory& mi = inv[jobs[j].inventory];
      if (jobs[j].orphans_of || mi.live.size() == mi.live_count) continue;
      LiveRecords again = reload_live_records(*jobs[j].mailbox, states.seen_for(*jobs[j].mailbox), mi);
      if (!again.error.empty()) {
        // The archive holds all of a user's folders: none is made from a store that moves.
        leave_user(u, "source_changed", again.error + ": this user's archive is not made", false);
        return;
      }
      mi.live = std::move(again.live);
    }
    std::uint64_t user_bytes = 0;
    for (std::size_t j : u.jobs)
      if (!jobs[j].orphans_of) user_bytes += inv[jobs[j].inventory].bytes;
    if (auto why = zimbra_quota_problem(user_bytes, opt.zimbra_quota)) {
      leave_user(u, "zimbra_quota_exceeded", *why, false);
      return;
    }
    std::error_code ec;
    u.fingerprint = snapshot_fingerprint(u, jobs, inv, opt);
    std::string jerr;
    const auto done = read_output_text(journal_dir(u.root) / "zimbra.done", jerr);
    const bool archive_there = fs::exists(u.root / archive_name, ec) || fs::exists(u.root / flags_name, ec);
    // The last recorded archive completes this snapshot (a run killed after recording it, before
    // its journal): nothing to do either.
    std::string rerr;
    const auto recorded = read_zimbra_runs(u.root, rerr);
    const bool journal_same = done && *done == u.fingerprint + "\n";
    const bool same = journal_same || (!recorded.empty() && recorded.back().fingerprint == u.fingerprint);
    if (same && !journal_same && archive_there) {
      // Finish what the killed run left: its journal.
      WriteStatus j = make_directories(journal_dir(u.root));
      if (j) j = write_small_file(journal_dir(u.root) / "zimbra.done", u.fingerprint + "\n", opt.sync != SyncPolicy::none);
      if (!j) u.findings.push_back(finding(Finding::Severity::error, "output_failed", j.message, 0, j.message));
    }
    if (archive_there && same)
      leave_user(u, "", "", true);  // nothing to do
    else if (archive_there && done)
      start_incremental(u);
  };
  auto release = [&](const User& u) {
    for (std::size_t j : u.jobs)
      if (jobs[j].mailbox && jobs[j].mailbox->kind == MailboxKind::email)
        std::vector<IndexRecord>().swap(inv[jobs[j].inventory].live);
  };
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& u : users)
    for (std::size_t j : u.jobs)
      if (!jobs[j].orphans_of) {
        total_bytes += inv[jobs[j].inventory].bytes;
        total_messages += inv[jobs[j].inventory].live_count;
      }

  // Convert: users in parallel, largest first; one archive stream per user.
  std::vector<std::size_t> order;
  std::vector<std::uint64_t> user_bytes(users.size(), 0);
  for (std::size_t u = 0; u < users.size(); ++u) {
    for (std::size_t j : users[u].jobs) user_bytes[u] += inv[jobs[j].inventory].bytes;
    order.push_back(u);
  }
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return user_bytes[a] > user_bytes[b]; });
  const auto t0 = std::chrono::steady_clock::now();
  {
    Progress progress("convert", total_bytes, total_messages, opt.quiet);
    std::optional<IoThreads> io;
    if (opt.io_depth > 1) io.emplace(io_width(opt.io_depth));
    auto log = std::make_shared<MessageLog>();  // report entries: a store's findings grow with it
    if (auto why = log->open(opt.out); !why.empty())
      report.findings.push_back(finding(Finding::Severity::warning, "report_in_memory", opt.out.string(), 0,
                                        why + "; the report keeps every message entry in memory instead"));
    report.message_log = log;
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, order.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          for (std::size_t k = range.begin(); k != range.end(); ++k) {
            User& u = users[order[k]];
            decide(u);
            if (!u.refused)
              convert_user(opt, u, jobs, inv, plan, progress, io ? &*io : nullptr, log->is_open() ? log.get() : nullptr);
            else
              for (std::size_t j : u.jobs)
                if (!jobs[j].orphans_of) progress.add(inv[jobs[j].inventory].bytes, inv[jobs[j].inventory].live_count);
            release(u);
          }
        },
        tbb::simple_partitioner());
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  {
    std::string map = format_rename_map_header();
    for (const auto& u : users) map += format_rename_map_lines(u.owner, opt.profile, u.naming);
    if (auto st = write_small_file(opt.out / opt.rename_map_file, map, opt.sync != SyncPolicy::none); !st)
      report.findings.push_back(finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  }

  std::map<std::string, ConvertUser> by_user;
  for (auto& job : jobs) {
    if (job.mailbox && !job.orphans_of) count_folder_files(job.out.count, inv[job.inventory]);
    ConvertUser& cu = by_user[users[job.user].owner];
    cu.user = users[job.user].owner;
    cu.output = users[job.user].root_rel;
    cu.folders.push_back(std::move(job.out));
  }
  for (auto& u : users) {
    ConvertUser& cu = by_user[u.owner];
    cu.user = u.owner;
    cu.output = u.root_rel;
    cu.findings = std::move(u.findings);
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
