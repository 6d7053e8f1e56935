// One mail folder (or the recovery folder of a folder's orphan files) into the user's archive:
// each message file read once into a scratch file (checked, SHA-1 and Message-ID in the same
// pass), then a tar entry, repaired, quarantined, or accounted as missing; its manifest line.
// The folder's records are read again a window at a time in UID order (for_each_live_window),
// each window's message files read ahead while it is converted: memory holds one window.


#include "converter/plan/output_layout.h"
#include "converter/source/inventory.h"
#include "converter/source/live_records.h"
#include "converter/source/recover.h"
#include "converter/zimbra/zimbra_folder_flags.h"
#include "converter/zimbra/zimbra_limits.h"
#include "writers/manifest.h"
#include "writers/message_encoder.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

struct Item {
  const IndexRecord* record;  // null: an orphan file
  std::uint32_t source_uid, target_uid;
};
constexpr std::size_t item_window = 4096;

// One message on its way into the archive.
struct ZimbraMessage {
  const Item& item;
  const IndexRecord* r = nullptr;  // null: an orphan file
  fs::path path;
  ManifestEntry me;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
  explicit ZimbraMessage(const Item& i) : item(i), r(i.record) {}
};

struct FolderRun {
  UserRun& run;
  ZimbraJob& job;
  const MailboxInventory& inv;
  const ConvertOptions& opt;
  ConvertFolder& out;
  const bool recovery;
  const MailboxRef& source;
  const std::string folder_path;
  const std::string side;
  const fs::path quarantine_dir;
  const fs::path manifest_path;
  OutputFile manifest;
  std::vector<Item> items;  // the window in progress
  FolderFlags folder_flags;
  std::vector<bool> carried;  // by job.earlier->held: earlier manifest lines written again
  std::uint64_t reused = 0;         // UIDs that name another message than an earlier archive's
  std::uint64_t entries = 0;
  std::uint32_t previous_uid = 0;
  std::uint32_t prefetch_previous = 0;  // the last UID listed for reading ahead
  std::uint64_t bytes_seen = 0;         // of the records given so far (progress)

  FolderRun(UserRun& r, ZimbraJob& j, const MailboxInventory& i)
      : run(r),
        job(j),
        inv(i),
        opt(r.opt),
        out(j.out),
        recovery(j.orphans_of != nullptr),
        source(j.orphans_of ? *j.orphans_of : *j.mailbox),
        folder_path(j.name->path),
        side(side_file_name(*j.name)),
        quarantine_dir(folder_quarantine_dir(r.user.root, side)),
        manifest_path(folder_manifest_path(r.user.root, side)) {
    folder_flags.spill = &r.flag_needs;
    folder_flags.dir = r.user.root;
    folder_flags.rows.reserve(j.flagged);  // at most one row per message with flags: no doubling
  }

  bool open_manifest() {
    WriteStatus mst = make_directories(manifest_path.parent_path());
    if (mst) mst = manifest.open(manifest_path.parent_path(), side + ".jsonl");
    if (mst) return true;
    out.failed = true;
    out.fail_reason = mst.message;
    out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", mst.message, 0, mst.message));
    if (!recovery) out.count.messages = out.count.not_converted = inv.live_count;
    return false;
  }

  // The window's messages, its message files read ahead (--io-depth) while they are converted.
  void convert_window() {
    PrefetchScope prefetch_scope{run.w.prefetch};
    prefetch();
    for (const Item& item : items) convert_message(item);
  }

  // --io-depth: the message files the window reads, in its order (not the missing, the
  // duplicate or, with --skip-deleted, the \Deleted ones), read ahead.
  void prefetch() {
    if (!run.io) return;
    std::vector<fs::path> ahead;
    for (const Item& item : items) {
      const IndexRecord* r = item.record;
      if (r && opt.skip_deleted && (converted_system_flags(r->system_flags) & imapflag::deleted)) continue;
      const bool duplicate = r && item.source_uid == prefetch_previous;
      prefetch_previous = item.source_uid;
      if (r && (duplicate || inv.missing(item.source_uid))) continue;
      ahead.push_back(r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + "."));
    }
    run.w.prefetch.start(run.io, static_cast<std::size_t>(opt.io_depth), read_buffer_size, std::move(ahead));
  }

  // The folder's index changed since the inventory (or since decide() read it): the user's
  // archive is not made (none is made from a store that moves); the messages not reached yet are
  // counted as not converted.
  void source_changed(const std::string& error) {
    const std::uint64_t left = inv.live_count > out.count.messages ? inv.live_count - out.count.messages : 0;
    out.count.messages += left;
    out.count.not_converted += left;
    run.progress.add(inv.bytes > bytes_seen ? inv.bytes - bytes_seen : 0, left);
    out.failed = true;
    out.fail_reason = error;
    if (run.stream_status) run.source_changed = true;  // else the stream's own failure is reported
    run.stream_failed(WriteStatus{false, error, 0});
    run.user.findings.push_back(zimbra_finding(Finding::Severity::error, "source_changed", source.dir.string(), 0,
                                               error + ": this user's archive is not made"));
  }

  void describe(ZimbraMessage& zm) {
    zm.me.uid = zm.item.target_uid;
    SourceMessage sm = describe_source_message(source, inv, zm.r, zm.item.source_uid, zm.me);
    zm.path = std::move(sm.path);
    zm.flags = sm.flags;
    zm.internaldate = sm.internaldate;
  }

  void finish_message(ZimbraMessage& zm, const AuditMessage* m) {
    (void)manifest.write(manifest_line(zm.me, false));
    run.progress.add(zm.r ? zm.r->size : 0, 1);
    if (m && (!m->findings.empty() || m->action != MessageAction::write)) out.messages.push_back(*m);
    run.spill_entries(out);
  }

  // An earlier archive holds it (or it was quarantined then): its manifest line is kept.
  bool carry_earlier(ZimbraMessage& zm) {
    if (!job.earlier) return false;
    const std::size_t k = job.earlier->find(zm.item.target_uid);
    const bool known = k < job.earlier->held.size();
    const ManifestRecord before = known ? job.earlier->record(k) : ManifestRecord{};
    if (known && same_zimbra_message(before, zm.r, zm.me.source_file)) {
      const bool in_archive = before.kind != Disposition::quarantined;
      if (recovery)
        ++(in_archive ? out.count.orphans_recovered : out.count.orphans_quarantined);
      else {
        ++out.count.earlier;
        out.count.earlier_quarantined += !in_archive;
      }
      (void)manifest.write(job.earlier->line(k) + "\n");
      carried.resize(job.earlier->held.size());
      carried[k] = true;
      run.progress.add(zm.r ? zm.r->size : 0, 1);
      return true;
    }
    if (known) ++reused;  // another message under an earlier UID: written anew
    return false;
  }

  void fail_write(ZimbraMessage& zm, const WriteStatus& st) {
    out.failed = true;
    out.fail_reason = st.message;
    out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", st.message, zm.item.source_uid, st.message));
  }
  void convert_message(const Item& item);
  void finish();
};

// zimbra-tgz's sink for pass_message: the bytes go into run.raw (the `keep` of pass_message)
// and the Message-ID scanner; a tar entry is added from there once the decision is made.
struct ArchiveSink {
  FolderRun& f;
  ZimbraMessage& zm;
  std::string entry;
  std::uint32_t mode;
  std::string msgid;
  void begin() { f.run.message_id.reset(); }
  void feed(std::string_view chunk) { f.run.message_id.feed(chunk); }
  void end() { msgid = f.run.message_id.value(); }
  void adjust(AuditMessage& m, const MessageCheckResult& check) {
    quarantine_zimbra_long_line(check, f.opt.zimbra_max_line, m);  // Zimbra would refuse it
  }
  WriteStatus entered(ScratchFile& bytes) {
    if (auto st = f.run.add_entry(entry, bytes, zm.internaldate, mode); !st) return st;
    zm.me.output_file = f.run.archive.current_name() + ":" + entry;  // the part it went into
    f.out.bytes_written += bytes.size();
    ++f.entries;
    f.folder_flags.add(zm.item.target_uid, msgid, zm.flags, flag_need(zm.flags, zm.me.keywords));
    return {};
  }
  WriteStatus commit() { return entered(f.run.raw); }
  void undo() {}
  WriteStatus keep(std::string_view label, const AuditMessage& m, ScratchFile* kept) {
    return keep_zimbra_original(f.run, f.quarantine_dir, zm.path, kept, zm.item.source_uid, label, m);
  }
  // The smallest change the message needs, bytes otherwise as Cyrus stored them (CRLF kept).
  WriteStatus repair(const AuditMessage&, const MessageCheckResult& check, ScratchFile& kept) {
    OutputEncoding enc;
    enc.crlf_to_lf = false;
    enc.drop_nul = true;
    enc.fix_line_ends = true;
    for (const auto& h : check.faults)
      if (h.fault == MessageFault::no_blank_line_after_header) enc.blank_line_before = static_cast<std::int64_t>(h.offset);
    MessageEncoder encoder(enc);
    UserRun& run = f.run;
    WriteStatus st = run.repaired.clear();
    if (st)
      st = kept.read_all(run.w.buffer, [&](std::string_view chunk) {
        run.w.encoded.clear();
        encoder.encode(chunk, run.w.encoded);
        return run.repaired.write(run.w.encoded);
      });
    if (st) {
      run.w.encoded.clear();
      encoder.finish(run.w.encoded);
      st = run.repaired.write(run.w.encoded);
    }
    return st ? entered(run.repaired) : st;
  }
  void failed(const WriteStatus& st) { f.fail_write(zm, st); }
  void stop(const std::string& reason) {
    f.out.failed = true;
    f.out.fail_reason = reason;
  }
};

void FolderRun::convert_message(const Item& item) {
  ZimbraMessage zm(item);
  describe(zm);
  if (recovery)
    ++out.count.orphans;
  else
    ++out.count.messages;
  if (carry_earlier(zm)) return;
  if (out.failed || !run.stream_status) {
    zm.me.disposition = MessageDisposition::not_converted;
    account_message(out.count, zm.me.disposition, false);
    finish_message(zm, nullptr);
    return;
  }
  if (zm.r && opt.skip_deleted && (zm.flags & imapflag::deleted)) {
    ++out.skipped_deleted;
    zm.me.disposition = MessageDisposition::skipped_deleted;
    finish_message(zm, nullptr);
    return;
  }
  const bool duplicate = zm.r && item.source_uid == previous_uid;
  previous_uid = item.source_uid;
  PassInput in;
  in.record = zm.r;
  in.uid = item.source_uid;
  in.path = &zm.path;
  in.index_version = inv.header.minor_version;
  in.duplicate = duplicate;
  in.missing = zm.r && inv.missing(item.source_uid);
  in.recovery = recovery;
  in.on_corrupt = opt.on_corrupt;
  in.folder_name = &out.name;
  // Zimbra imports an entry whose owner-write bit is clear as unread (TarArchiveInputStream.isUnread).
  ArchiveSink sink{*this, zm, folder_path + "/" + std::to_string(item.target_uid) + ".eml",
                   (zm.flags & imapflag::seen) ? 0600u : 0400u, {}};
  PassResult pr;
  pass_message(run.w, &run.raw, in, sink, pr);
  if (pr.streamed) {
    zm.me.sha1 = pr.check.sha1;
    zm.me.sha1_known = pr.read.status == SourceOpen::Status::ok;
    if (!zm.r) zm.me.size = pr.check.size;
  }
  if (!pr.m.size && zm.r) pr.m.size = zm.r->size;  // not read, or empty: the index's size
  zm.me.disposition = pr.disposition;
  if (pr.disposition == MessageDisposition::repaired) zm.me.changes = pr.m.changes;
  if (pr.disposition == MessageDisposition::quarantined || pr.disposition == MessageDisposition::missing)
    zm.me.reason = pr.m.reason;
  account_message(out.count, pr.disposition, recovery && !pr.keep_failed);
  finish_message(zm, pr.keep_failed ? nullptr : &pr.m);
}

// Earlier lines of messages gone from the source, the folder's flag commands, its expected count.
void FolderRun::finish() {
  if (recovery) out.count.written = out.count.repaired = out.count.quarantined = 0;
  std::uint64_t earlier_entries = 0;
  if (job.earlier) {
    // Messages Cyrus expunged since stay in Zimbra: their lines stay in the manifest.
    for (std::size_t k = 0; k < job.earlier->held.size(); ++k)
      if (k >= carried.size() || !carried[k]) (void)manifest.write(job.earlier->line(k) + "\n");
    earlier_entries = job.earlier->in_archives;
    if (reused)
      out.findings.push_back(zimbra_finding(Finding::Severity::warning, "zimbra_uid_reused", manifest_path.string(), 0,
                                            std::to_string(reused) +
                                                " UID(s) name other messages than an earlier archive holds under them "
                                                "(UIDVALIDITY changed?): written into this run's archive; the earlier "
                                                "ones stay in Zimbra"));
  }

  // Flags the entries could not carry; a folder without entries is created by the zmm file,
  // or it would not exist after the import.
  const std::vector<std::uint32_t> unmatched = folder_flags.emit(run, folder_path);
  if (!unmatched.empty()) {
    std::string uids;
    for (std::size_t i = 0; i < unmatched.size() && i < 20; ++i) uids += (i ? ", " : "") + std::to_string(unmatched[i]);
    if (unmatched.size() > 20) uids += ", ...";
    out.findings.push_back(zimbra_finding(
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
    out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
}

}  // namespace

void convert_zimbra_mail_folder(UserRun& run, ZimbraJob& job, const MailboxInventory& inv,
                                const std::vector<std::uint32_t>& orphan_uids) {
  FolderRun f(run, job, inv);
  ConvertFolder& out = job.out;
  out.uidvalidity = inv.header.uidvalidity;
  out.uidnext = f.recovery ? static_cast<std::uint32_t>(orphan_uids.size() + 1) : inv.header.last_uid + 1;
  out.output = run.user.root_rel + "/" + run.user.archive_file();
  if (!f.open_manifest()) return;
  if (f.recovery) {
    std::uint32_t next = 1;
    for (std::size_t at = 0; at < orphan_uids.size(); at += item_window) {
      f.items.clear();
      for (std::size_t k = at; k < orphan_uids.size() && k < at + item_window; ++k)
        f.items.push_back(Item{nullptr, orphan_uids[k], next++});
      f.convert_window();
    }
  } else {
    const MailboxRef& mailbox = *job.mailbox;
    const std::string changed = for_each_live_window(mailbox, job.seen, inv, true, [&](const std::vector<IndexRecord>& window) {
      f.items.clear();
      for (const auto& r : window) {
        f.items.push_back(Item{&r, r.uid, r.uid});
        f.bytes_seen += r.size;
      }
      f.convert_window();
    }, item_window);
    if (!changed.empty()) f.source_changed(changed);
  }
  f.finish();
}

}  // namespace cyrconv
