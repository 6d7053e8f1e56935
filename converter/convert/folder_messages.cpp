// The message pass of one UID range of a folder: each message file read once, checked and
// encoded in the same pass, then written, repaired (original kept), quarantined or accounted as
// missing; one manifest line and one report entry each.

#include "converter/convert/folder_conversion.h"
#include "converter/source/inventory.h"
#include "converter/source/recover.h"
#include "writers/maildir.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

// One message on its way through the range: what the steps below share.
struct MessageWork {
  MessageWork(const FolderConversion::Item& i, RangeOutput& range, Worker& w, bool dup)
      : item(i), ro(range), worker(w), duplicate(dup) {}
  const FolderConversion::Item& item;
  RangeOutput& ro;
  Worker& worker;
  bool duplicate = false;  // a second record of the UID before it
  const IndexRecord* r = nullptr;  // null: an orphan file
  fs::path path;
  ManifestEntry me;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
  AuditMessage m;
  std::string base, letters;  // Maildir base name, keyword letters
  FolderOutput::Written wr;
  bool streamed = false;
};

void FolderConversion::list_missing_files() {
  for (const auto& f : inv.findings)
    if (f.kind == "message_file_missing") missing.insert(f.uid);
}

// --io-depth: the files the range streams, in its order, read ahead.
void FolderConversion::prefetch_range(std::size_t begin, std::size_t end, RangeOutput& ro, Worker& worker) {
  if (!run.io || ro.failed) return;
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

void FolderConversion::convert_range(std::size_t begin, std::size_t end, RangeOutput& ro, bool count_progress) {
  Worker& worker = workers.local();
  PrefetchScope prefetch_scope{worker.prefetch};
  prefetch_range(begin, end, ro, worker);
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
    MessageWork mw(item, ro, worker, duplicate);
    convert_message(mw, count_progress);
  }
  if (run.log) run.log->spill(ro.messages, ro.spilled);  // on failure they stay in memory
}

// The manifest entry's source side: UIDs, file, flags, date, keywords.
void FolderConversion::describe_message(MessageWork& mw) {
  mw.r = mw.item.record;
  mw.me.uid = mw.item.target_uid;
  mw.me.source_uid = mw.item.source_uid;
  SourceMessage sm = describe_source_message(source, inv, mw.r, mw.item.source_uid, mw.me);
  mw.path = std::move(sm.path);
  mw.flags = sm.flags;
  mw.internaldate = sm.internaldate;
}

void FolderConversion::convert_message(MessageWork& mw, bool count_progress) {
  describe_message(mw);
  RangeOutput& ro = mw.ro;
  const IndexRecord* r = mw.r;
  ManifestEntry& me = mw.me;
  AuditMessage& m = mw.m;
  if (recovery)
    ++ro.count.orphans;
  else
    ++ro.count.messages;
  if (ro.failed) {
    ++ro.count.not_converted;
    me.disposition = "not_converted";
    (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
    if (count_progress) progress.add(r ? r->size : 0, 1);
    return;
  }
  if (r && opt.skip_deleted && (mw.flags & imapflag::deleted)) {
    ++ro.skipped_deleted;
    me.disposition = "skipped_deleted";
    (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
    if (count_progress) progress.add(r->size, 1);
    return;
  }
  if (r && !mw.duplicate && missing.count(mw.item.source_uid))
    m = missing_file_message(mw.item.source_uid, mw.path.string(), opt.on_corrupt);
  stream_and_decide(mw);
  apply_decision(mw);
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

// Stream: read once, check and encode in the same pass; then decide what the message needs.
void FolderConversion::stream_and_decide(MessageWork& mw) {
  const Item& item = mw.item;
  const IndexRecord* r = mw.r;
  mw.base = maildir_base_name(uidvalidity, item.target_uid, mw.internaldate);
  mw.letters = r ? record_keyword_letters(*r, kw) : std::string();
  AuditMessage& m = mw.m;
  if (m.action.empty() && !mw.duplicate) {
    FolderOutput::Written& wr = mw.wr;
    wr = fo.stream_message(mw.ro, mw.path, encoding_for(opt, false, nullptr, MessageCheckResult{}), item.target_uid,
                           mw.flags, mw.me.keywords, mw.base, mw.internaldate, mw.worker);
    mw.streamed = true;
    mw.me.sha1 = wr.check.sha1;
    mw.me.sha1_known = wr.read.status == SourceOpen::Status::ok;
    if (!r) mw.me.size = wr.check.size;
    mw.ro.bytes_written += wr.size;
    MessageSubject subject;
    subject.record = r;
    subject.uid = item.source_uid;
    subject.file = mw.path.string();
    subject.index_version = inv.header.minor_version;
    subject.read_failed = wr.read.status != SourceOpen::Status::ok;
    subject.read_error = wr.read.message;
    m = decide_message(subject, &wr.check, opt.on_corrupt, job.out.name);
    // This is the recovery folder: a recovered orphan is written, with the repairs it needs.
    if (m.action == "recover") m.action = m.changes.empty() ? "write" : "repair";
  } else if (mw.duplicate) {
    MessageSubject subject;
    subject.record = r;
    subject.uid = item.source_uid;
    subject.file = mw.path.string();
    subject.duplicate_record = true;
    m = decide_message(subject, nullptr, opt.on_corrupt, job.out.name);
  }
  m.size = mw.streamed && mw.wr.read.status == SourceOpen::Status::ok ? mw.wr.check.size : (r ? r->size : 0);
}

void FolderConversion::undo_stream(MessageWork& mw) {
  if (!mw.streamed) return;
  if (fo.is_mbox())
    (void)mw.ro.mbox->rewind_to(mw.wr.mbox_mark);
  else
    mw.worker.message_file.abort();
  mw.ro.bytes_written -= mw.wr.size;
}

void FolderConversion::fail_write(MessageWork& mw, const WriteStatus& st) {
  run.note(st);
  mw.ro.failed = true;
  mw.ro.fail_reason = st.message;
  mw.ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, mw.item.source_uid, st.message));
}

// The streamed message becomes part of the folder: its place in the mbox, or its file in cur/
// and its uidlist line.
bool FolderConversion::commit_message(MessageWork& mw, const FolderOutput::Written& done) {
  RangeOutput& ro = mw.ro;
  ManifestEntry& me = mw.me;
  if (!done.write) {
    fail_write(mw, done.write);
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
  const std::string name = maildir_file_name(mw.base, done.size, done.vsize, maildir_info_flags(mw.flags, mw.letters));
  // A resumed run meets the files it committed before it was stopped: same name, same bytes.
  if (auto st = mw.worker.message_file.commit(fo.maildir / "cur" / name, mw.internaldate, sync_each,
                                              OutputFile::OnExisting::keep_identical);
      !st) {
    fail_write(mw, st);
    return false;
  }
  me.output_file = out.output.substr(user.root_rel.size() + 1) + "/cur/" + name;
  // Dovecot matches uidlist entries on the whole name before ":2,", S= and W= included.
  (void)ro.uidlist->write(std::to_string(mw.item.target_uid) + " :" + name.substr(0, name.find(':')) + "\n");
  return true;
}

// Write, repair (original kept), quarantine, fail the folder, or account as missing.
void FolderConversion::apply_decision(MessageWork& mw) {
  RangeOutput& ro = mw.ro;
  ManifestEntry& me = mw.me;
  const AuditMessage& m = mw.m;
  const std::uint32_t uid = mw.item.source_uid;
  if (m.action == "write") {
    if (commit_message(mw, mw.wr)) {
      ++ro.count.written;
      me.disposition = "written";
    } else {
      undo_stream(mw);
      ++ro.count.not_converted;
      me.disposition = "not_converted";
    }
  } else if (m.action == "repair") {
    undo_stream(mw);
    const auto kept = fo.keep_original(mw.path, uid, "original", m, mw.worker);
    FolderOutput::Written fixed = fo.stream_message(ro, mw.path, encoding_for(opt, true, &m, mw.wr.check),
                                                    mw.item.target_uid, mw.flags, me.keywords, mw.base, mw.internaldate,
                                                    mw.worker);
    ro.bytes_written += fixed.size;
    if (kept && commit_message(mw, fixed)) {
      ++ro.count.repaired;
      me.disposition = "repaired";
      me.changes.insert(me.changes.begin(), m.changes.begin(), m.changes.end());
    } else {
      if (!kept) fail_write(mw, kept);
      ++ro.count.not_converted;
      me.disposition = "not_converted";
    }
  } else if (m.action == "quarantine" || m.action == "fail") {
    undo_stream(mw);
    if (m.action == "fail") {
      ro.failed = true;
      ro.fail_reason = "UID " + std::to_string(uid) + ": " + m.reason;
      ++ro.count.not_converted;
      me.disposition = "not_converted";
    } else if (const auto kept = fo.keep_original(mw.path, uid, "quarantined", m, mw.worker); !kept) {
      fail_write(mw, kept);
      ++ro.count.not_converted;
      me.disposition = "not_converted";
    } else {
      ++ro.count.quarantined;
      me.disposition = "quarantined";
      me.reason = m.reason;
    }
  } else if (m.action == "missing") {
    ++ro.count.missing;
    me.disposition = "missing";
    me.reason = m.reason;
  }
}

}  // namespace cyrconv
