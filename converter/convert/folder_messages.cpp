// The message pass of one UID range of a folder: each message through pass_message
// (converter/convert/message_pass.h) into the folder's Maildir or mbox, its original kept from the
// same read; one manifest line and one report entry each.

#include "converter/convert/folder_conversion.h"
#include "converter/source/inventory.h"
#include "converter/source/recover.h"
#include "writers/maildir.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

// One message on its way through the range: what the steps below share.
struct MessageWork {
  MessageWork(const FolderConversion::Item& i, const IndexRecord* record, RangeOutput& range, Worker& w, bool dup)
      : item(i), ro(range), worker(w), duplicate(dup), r(record) {}
  const FolderConversion::Item& item;
  RangeOutput& ro;
  Worker& worker;
  bool duplicate = false;  // a second record of the UID before it
  const IndexRecord* r = nullptr;  // null: an orphan file
  fs::path path;
  ManifestEntry me;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
  std::string base, letters;  // Maildir base name, keyword letters
  ScratchFile* kept = nullptr;  // the worker's copy of the bytes read
  bool streamed = false;
  FolderOutput::Streaming out;  // the message being written
};

// convert's sink for pass_message: the folder's Maildir file or its mbox.
struct FolderSink {
  FolderConversion& fc;
  MessageWork& mw;
  void start(const OutputEncoding& enc) {
    fc.fo.begin_message(mw.out, mw.ro, enc, mw.item.target_uid, mw.flags, mw.me.keywords, mw.base, mw.internaldate,
                        mw.worker);
    mw.streamed = true;
  }
  void begin() { start(encoding_for(fc.opt, false, nullptr, MessageCheckResult{})); }
  void feed(std::string_view chunk) { fc.fo.feed_message(mw.out, mw.ro, chunk, mw.worker); }
  void end() {
    fc.fo.end_message(mw.out, mw.ro, mw.worker);
    mw.ro.bytes_written += mw.out.r.size;
  }
  void adjust(AuditMessage&, const MessageCheckResult&) {}
  WriteStatus commit() { return fc.commit_message(mw, mw.out.r); }
  void undo() { fc.undo_stream(mw); }
  WriteStatus keep(std::string_view label, const AuditMessage& m, ScratchFile* kept) {
    return fc.fo.keep_original(mw.path, kept, mw.item.source_uid, label, m, mw.worker);
  }
  // The repaired message from the kept bytes, the checker fed again for the encoder's line ends.
  WriteStatus repair(const AuditMessage& m, const MessageCheckResult& check, ScratchFile& kept) {
    Worker& w = mw.worker;
    start(encoding_for(fc.opt, true, &m, check));
    w.checker.reset();
    WriteStatus st = kept.read_all(w.buffer, [&](std::string_view chunk) {
      w.checker.feed(chunk);
      feed(chunk);
      return WriteStatus{};
    });
    end();
    if (st) st = commit();
    if (!st) undo();
    return st;
  }
  void failed(const WriteStatus& st) { fc.fail_write(mw, st); }
  void stop(const std::string& reason) {
    mw.ro.failed = true;
    mw.ro.fail_reason = reason;
  }
};


// --io-depth: the files the range streams, in its order, read ahead.
void FolderConversion::prefetch_range(std::size_t begin, std::size_t end, RangeOutput& ro, Worker& worker) {
  if (!run.io || ro.failed) return;
  std::vector<fs::path> ahead;
  std::uint32_t prev = 0;
  ItemRecords records(*this);
  for (std::size_t i = begin; i < end; ++i) {
    const Item& item = items[i];
    const bool dup = !recovery && item.source_uid == prev;
    prev = item.source_uid;
    if (item.earlier >= 0 || dup) continue;
    const IndexRecord* r = records.at(i);
    if ((!r && !recovery) || (r && inv.missing(item.source_uid)) ||
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
  WriteStatus scratch;
  ScratchFile* kept = kept_copy(worker, opt.out, scratch);
  if (!kept && !ro.failed) {
    ro.failed = true;
    ro.fail_reason = scratch.message;
    ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", scratch.message, 0, scratch.message));
  }
  std::uint32_t previous_uid = 0;
  std::size_t spill_at = 1024;
  ItemRecords records(*this);
  for (std::size_t i = begin; i < end; ++i) {
    const Item& item = items[i];
    const bool duplicate = !recovery && item.source_uid == previous_uid;
    previous_uid = item.source_uid;
    if (item.earlier >= 0) continue;
    const IndexRecord* record = records.at(i);
    if (!record && !recovery && !ro.failed) {
      // The index changed since the folder was prepared: the rest of the range is not converted.
      ro.failed = true;
      ro.fail_reason = records.error();
      ro.findings.push_back(make_finding(Finding::Severity::error, "source_changed", source.dir.string(), 0, ro.fail_reason));
    }
    if (run.stopped() && !ro.failed) {
      ro.failed = true;
      ro.fail_reason = "the run stopped (" + run.reason + "): the rest of this folder is not converted; re-run to resume";
      ro.findings.push_back(make_finding(Finding::Severity::error, "stopped", "", 0, ro.fail_reason));
    }
    MessageWork mw(item, record, ro, worker, duplicate);
    mw.kept = kept;
    convert_message(mw, count_progress);
    // Report entries go to the message log as the range goes (memory flat in folder size); a
    // log that does not take them leaves them in memory, tried again after as many more.
    if (run.log && ro.messages.size() >= spill_at && !run.log->spill(ro.messages, ro.spilled))
      spill_at = 2 * ro.messages.size();
  }
  if (run.log) run.log->spill(ro.messages, ro.spilled);  // on failure they stay in memory
}

// The manifest entry's source side: UIDs, file, flags, date, keywords.
void FolderConversion::describe_message(MessageWork& mw) {
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
  if (recovery)
    ++ro.count.orphans;
  else
    ++ro.count.messages;
  auto done = [&] {
    (void)ro.manifest->write(manifest_line(me, fo.is_mbox()));
    if (count_progress) progress.add(r ? r->size : 0, 1);
  };
  if (ro.failed) {
    me.disposition = MessageDisposition::not_converted;
    account_message(ro.count, me.disposition, false);
    return done();
  }
  if (r && opt.skip_deleted && (mw.flags & imapflag::deleted)) {
    ++ro.skipped_deleted;
    me.disposition = MessageDisposition::skipped_deleted;
    return done();
  }
  mw.base = maildir_base_name(uidvalidity, mw.item.target_uid, mw.internaldate);
  mw.letters = r ? record_keyword_letters(*r, kw) : std::string();
  PassInput in;
  in.record = r;
  in.uid = mw.item.source_uid;
  in.path = &mw.path;
  in.index_version = inv.header.minor_version;
  in.duplicate = mw.duplicate;
  in.missing = r && inv.missing(mw.item.source_uid);
  in.recovery = recovery;
  in.on_corrupt = opt.on_corrupt;
  in.folder_name = &job.out.name;
  PassResult pr;
  FolderSink sink{*this, mw};
  pass_message(mw.worker, mw.kept, in, sink, pr);
  if (pr.streamed) {
    me.sha1 = pr.check.sha1;
    me.sha1_known = pr.read.status == SourceOpen::Status::ok;
    if (!r) me.size = pr.check.size;
  }
  me.disposition = pr.disposition;
  if (me.disposition == MessageDisposition::repaired)
    me.changes.insert(me.changes.begin(), pr.m.changes.begin(), pr.m.changes.end());
  if (me.disposition == MessageDisposition::quarantined || me.disposition == MessageDisposition::missing)
    me.reason = pr.m.reason;
  account_message(ro.count, me.disposition, recovery);
  done();
  if (!pr.keep_failed && (!pr.m.findings.empty() || pr.m.action != MessageAction::write))
    ro.messages.push_back(std::move(pr.m));
}

void FolderConversion::undo_stream(MessageWork& mw) {
  if (!mw.streamed) return;
  mw.streamed = false;
  if (fo.is_mbox())
    (void)mw.ro.mbox->rewind_to(mw.out.r.mbox_mark);
  else
    mw.worker.message_file.abort();
  mw.ro.bytes_written -= mw.out.r.size;
}

void FolderConversion::fail_write(MessageWork& mw, const WriteStatus& st) {
  run.note(st);
  mw.ro.failed = true;
  mw.ro.fail_reason = st.message;
  mw.ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, mw.item.source_uid, st.message));
}

// The streamed message becomes part of the folder: its place in the mbox, or its file in cur/
// and its uidlist line.
WriteStatus FolderConversion::commit_message(MessageWork& mw, const FolderOutput::Written& done) {
  RangeOutput& ro = mw.ro;
  ManifestEntry& me = mw.me;
  if (!done.write) return done.write;
  if (fo.is_mbox()) {
    if (auto st = ro.mbox->settle(); !st) return st;  // --gzip: into the compressed stream now
    ro.mbox_first = false;
    ++ro.mbox_committed;
    me.mbox_offset = done.mbox_mark;
    if (done.quoted_lines)
      me.changes.push_back("mboxrd: " + std::to_string(done.quoted_lines) + " line(s) matching ^>*From  got one more '>'");
    if (done.added_final_newline) me.changes.push_back("mbox: added the line end the last line lacked");
    if (done.renamed_headers)
      me.changes.push_back("renamed " + std::to_string(done.renamed_headers) +
                           " header field(s) mbox readers take as their own to X-Cyrconv-Orig-*");
    mw.streamed = false;  // committed: nothing to undo
    return {};
  }
  const std::string name = maildir_file_name(mw.base, done.size, done.vsize, maildir_info_flags(mw.flags, mw.letters));
  // A resumed run meets the files it committed before it was stopped: same name, same bytes.
  if (auto st = mw.worker.message_file.commit(fo.maildir / "cur" / name, mw.internaldate, sync_each,
                                              OutputFile::OnExisting::keep_identical);
      !st)
    return st;
  mw.streamed = false;
  me.output_file = out.output.substr(user.root_rel.size() + 1) + "/cur/" + name;
  // Dovecot matches uidlist entries on the whole name before ":2,", S= and W= included.
  (void)ro.uidlist->write(std::to_string(mw.item.target_uid) + " :" + name.substr(0, name.find(':')) + "\n");
  return {};
}

}  // namespace cyrconv
