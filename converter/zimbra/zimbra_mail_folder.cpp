// One mail folder (or the recovery folder of a folder's orphan files) into the user's archive:
// each message file read once into a scratch file (checked, SHA-1 and Message-ID in the same
// pass), then a tar entry, repaired, quarantined, or accounted as missing; its manifest line.

#include <set>

#include "converter/plan/output_layout.h"
#include "converter/source/inventory.h"
#include "converter/source/recover.h"
#include "converter/zimbra/zimbra_folder_flags.h"
#include "converter/zimbra/zimbra_limits.h"
#include "writers/manifest.h"
#include "writers/message_encoder.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

struct Item {
  const IndexRecord* record;
  std::uint32_t source_uid, target_uid;
};

// One message on its way into the archive.
struct ZimbraMessage {
  const Item& item;
  const IndexRecord* r = nullptr;  // null: an orphan file
  fs::path path;
  ManifestEntry me;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
  AuditMessage m;
  bool scratch_holds_source = false;  // run.raw holds the bytes read
  MessageCheckResult check;
  std::string msgid;
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
  std::vector<Item> items;
  std::set<std::uint32_t> missing;
  FolderFlags folder_flags;
  std::vector<bool> carried;  // by job.earlier->held: earlier manifest lines written again
  std::uint64_t reused = 0;         // UIDs that name another message than an earlier archive's
  std::uint64_t entries = 0;
  std::uint32_t previous_uid = 0;

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
        quarantine_dir(r.user.root / "quarantine" / side),
        manifest_path(r.user.root / "manifests" / (side + ".jsonl")) {
    folder_flags.spill = &r.flag_needs;
    folder_flags.rows.reserve(i.live.size());  // one row per written message: no doubling
  }

  bool open_manifest() {
    WriteStatus mst = make_directories(manifest_path.parent_path());
    if (mst) mst = manifest.open(manifest_path.parent_path(), side + ".jsonl");
    if (mst) return true;
    out.failed = true;
    out.fail_reason = mst.message;
    out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", mst.message, 0, mst.message));
    if (!recovery) out.count.messages = out.count.not_converted = inv.live.size();
    return false;
  }

  void list_items(const std::vector<std::uint32_t>& orphan_uids) {
    if (recovery) {
      std::uint32_t next = 1;
      for (std::uint32_t uid : orphan_uids) items.push_back(Item{nullptr, uid, next++});
    } else {
      for (const auto& r : inv.live) items.push_back(Item{&r, r.uid, r.uid});
      std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.source_uid < b.source_uid; });
    }
    for (const auto& f : inv.findings)
      if (f.kind == "message_file_missing") missing.insert(f.uid);
  }

  // --io-depth: the message files the folder reads, in its order (not the missing, the
  // duplicate or, with --skip-deleted, the \Deleted ones), read ahead.
  void prefetch() {
    if (!run.io) return;
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
    run.w.prefetch.start(run.io, static_cast<std::size_t>(opt.io_depth), read_buffer_size, std::move(ahead));
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
    if (m && (!m->findings.empty() || m->action != "write")) out.messages.push_back(*m);
    run.spill_entries(out);
  }

  // An earlier archive holds it (or it was quarantined then): its manifest line is kept.
  bool carry_earlier(ZimbraMessage& zm) {
    if (!job.earlier) return false;
    const std::size_t k = job.earlier->find(zm.item.target_uid);
    const bool known = k < job.earlier->held.size();
    const ManifestRecord before = known ? job.earlier->record(k) : ManifestRecord{};
    if (known && same_zimbra_message(before, zm.r, zm.me.source_file)) {
      const bool in_archive = before.disposition != "quarantined";
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

  bool read_and_decide(ZimbraMessage& zm, bool duplicate);
  void act(ZimbraMessage& zm);
  void repair(ZimbraMessage& zm, const std::string& entry, std::uint32_t mode, WriteStatus& st);
  void convert_message(const Item& item);
  void finish();
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
    ++out.count.not_converted;
    zm.me.disposition = "not_converted";
    finish_message(zm, nullptr);
    return;
  }
  if (zm.r && opt.skip_deleted && (zm.flags & imapflag::deleted)) {
    ++out.skipped_deleted;
    zm.me.disposition = "skipped_deleted";
    finish_message(zm, nullptr);
    return;
  }
  const bool duplicate = zm.r && item.source_uid == previous_uid;
  previous_uid = item.source_uid;
  if (!read_and_decide(zm, duplicate)) return;
  act(zm);
  if (recovery) {
    if (zm.me.disposition == "written" || zm.me.disposition == "repaired")
      ++out.count.orphans_recovered;
    else
      ++out.count.orphans_quarantined;
  }
  finish_message(zm, &zm.m);
}

// Missing, a duplicate record, or read once: check, SHA-1 and Message-ID in the same pass, the
// bytes into the scratch file. False: the scratch file failed (the message is accounted).
bool FolderRun::read_and_decide(ZimbraMessage& zm, bool duplicate) {
  const IndexRecord* r = zm.r;
  const Item& item = zm.item;
  AuditMessage& m = zm.m;
  if (r && !duplicate && missing.count(item.source_uid)) {
    m = missing_file_message(item.source_uid, zm.path.string(), opt.on_corrupt);
  } else if (duplicate) {
    MessageSubject subject;
    subject.record = r;
    subject.uid = item.source_uid;
    subject.file = zm.path.string();
    subject.duplicate_record = true;
    m = decide_message(subject, nullptr, opt.on_corrupt, out.name);
  } else {
    run.w.checker.reset();
    run.message_id.reset();
    WriteStatus scratch = run.raw.clear();
    SourceStream s = run.w.prefetch.stream(zm.path, run.w.buffer, [&](std::string_view chunk) {
      run.w.checker.feed(chunk);
      run.message_id.feed(chunk);
      if (scratch) scratch = run.raw.write(chunk);
    });
    zm.check = run.w.checker.finish();
    zm.msgid = run.message_id.value();
    zm.me.sha1 = zm.check.sha1;
    zm.me.sha1_known = s.status == SourceOpen::Status::ok;
    if (!r) zm.me.size = zm.check.size;
    if (!scratch) {
      out.failed = true;
      out.fail_reason = scratch.message;
      out.findings.push_back(
          zimbra_finding(Finding::Severity::error, "output_failed", scratch.message, item.source_uid, scratch.message));
      ++out.count.not_converted;
      zm.me.disposition = "not_converted";
      finish_message(zm, nullptr);
      return false;
    }
    zm.scratch_holds_source = s.status == SourceOpen::Status::ok;
    MessageSubject subject;
    subject.record = r;
    subject.uid = item.source_uid;
    subject.file = zm.path.string();
    subject.index_version = inv.header.minor_version;
    subject.read_failed = s.status != SourceOpen::Status::ok;
    subject.read_error = s.message;
    m = decide_message(subject, &zm.check, opt.on_corrupt, out.name);
    if (m.action == "recover") m.action = m.changes.empty() ? "write" : "repair";
    if (s.status == SourceOpen::Status::ok) m.size = zm.check.size;
    quarantine_zimbra_long_line(zm.check, opt.zimbra_max_line, m);  // Zimbra would refuse it
  }
  if (!m.size && r) m.size = r->size;  // not read: the index's size
  return true;
}

// The smallest change the message needs, bytes otherwise as Cyrus stored them (CRLF kept),
// from the scratch copy; the original kept first.
void FolderRun::repair(ZimbraMessage& zm, const std::string& entry, std::uint32_t mode, WriteStatus& st) {
  OutputEncoding enc;
  enc.crlf_to_lf = false;
  enc.drop_nul = true;
  enc.fix_line_ends = true;
  for (const auto& h : zm.check.faults)
    if (h.fault == MessageFault::no_blank_line_after_header) enc.blank_line_before = static_cast<std::int64_t>(h.offset);
  MessageEncoder encoder(enc);
  st = keep_zimbra_original(run, quarantine_dir, zm.path, &run.raw, zm.item.source_uid, "original", zm.m);
  if (st) st = run.repaired.clear();
  if (st)
    st = run.raw.read_all(run.w.buffer, [&](std::string_view chunk) {
      run.w.encoded.clear();
      encoder.encode(chunk, run.w.encoded);
      return run.repaired.write(run.w.encoded);
    });
  if (st) {
    run.w.encoded.clear();
    encoder.finish(run.w.encoded);
    st = run.repaired.write(run.w.encoded);
  }
  if (st) st = run.add_entry(entry, run.repaired, zm.internaldate, mode);
}

void FolderRun::act(ZimbraMessage& zm) {
  const AuditMessage& m = zm.m;
  ManifestEntry& me = zm.me;
  const std::string entry = folder_path + "/" + std::to_string(zm.item.target_uid) + ".eml";
  // Zimbra imports an entry whose owner-write bit is clear as unread (TarArchiveInputStream.isUnread).
  const std::uint32_t mode = (zm.flags & imapflag::seen) ? 0600 : 0400;
  auto fail_write = [&](const WriteStatus& st) {
    out.failed = true;
    out.fail_reason = st.message;
    out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", st.message, zm.item.source_uid, st.message));
    ++out.count.not_converted;
    me.disposition = "not_converted";
  };
  auto written = [&](std::uint64_t size) {
    me.output_file = run.archive.current_name() + ":" + entry;  // the part it went into
    out.bytes_written += size;
    ++entries;
    folder_flags.add(zm.item.target_uid, zm.msgid, zm.flags, flag_need(zm.flags, me.keywords));
  };
  if (m.action == "write") {
    if (auto st = run.add_entry(entry, run.raw, zm.internaldate, mode); !st) {
      fail_write(st);
    } else {
      ++out.count.written;
      me.disposition = "written";
      written(run.raw.size());
    }
  } else if (m.action == "repair") {
    WriteStatus st;
    repair(zm, entry, mode, st);
    if (!st) {
      fail_write(st);
    } else {
      ++out.count.repaired;
      me.disposition = "repaired";
      me.changes = m.changes;
      written(run.repaired.size());
    }
  } else if (m.action == "quarantine") {
    if (auto st = keep_zimbra_original(run, quarantine_dir, zm.path, zm.scratch_holds_source ? &run.raw : nullptr,
                                       zm.item.source_uid, "quarantined", m);
        !st) {
      fail_write(st);
    } else {
      ++out.count.quarantined;
      me.disposition = "quarantined";
      me.reason = m.reason;
    }
  } else if (m.action == "fail") {
    out.failed = true;
    out.fail_reason = "UID " + std::to_string(zm.item.source_uid) + ": " + m.reason;
    ++out.count.not_converted;
    me.disposition = "not_converted";
  } else if (m.action == "missing") {
    ++out.count.missing;
    me.disposition = "missing";
    me.reason = m.reason;
  }
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
  f.list_items(orphan_uids);
  PrefetchScope prefetch_scope{run.w.prefetch};
  f.prefetch();
  for (const Item& item : f.items) f.convert_message(item);
  f.finish();
}

}  // namespace cyrconv
