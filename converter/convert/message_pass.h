#pragma once
// The message pass convert, convert --format zimbra-tgz and audit share: each message file
// streamed once through the checker into a sink (a Maildir file or an mbox, a tar entry, nothing
// for audit) and into a kept copy, then one decision (write / repair / quarantine / fail /
// missing) acted on through the sink, and counted in one place.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "converter/plan/message_policy.h"
#include "converter/source/inventory.h"
#include "converter/source/prefetch.h"
#include "parsers/message_check.h"
#include "writers/manifest.h"
#include "writers/output_file.h"
#include "writers/report_model.h"
#include "writers/scratch_file.h"

namespace cyrconv {

// Each worker's buffer for streaming message files (and prefetching them).
inline constexpr std::size_t read_buffer_size = 256 * 1024;

// Per-thread reusable state of a message pass: no heap work per message once warm. `encoded`
// and `message_file` are the writing passes' (audit writes nothing).
// A source message as convert and zimbra-tgz describe it before reading it: its file, and (into
// `me`) the file, flags, INTERNALDATE, size and keywords its record gives. An orphan (`r` null)
// takes its INTERNALDATE from the file's mtime, which Cyrus set to it on append.
struct SourceMessage {
  std::filesystem::path path;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
};
SourceMessage describe_source_message(const MailboxRef& source, const MailboxInventory& inv, const IndexRecord* r,
                                      std::uint32_t source_uid, ManifestEntry& me);

struct Worker {
  explicit Worker(MessageCheckOptions o) : checker(o), buffer(read_buffer_size) {}
  MessageChecker checker;
  std::vector<char> buffer;
  std::string encoded;
  OutputFile message_file;
  // convert: the bytes read, for a repaired or quarantined message's original (kept_copy)
  std::optional<ScratchFile> original;
  std::filesystem::path original_dir;
  Prefetcher prefetch;  // --io-depth: the next message files, read ahead
};

// The worker's scratch for the bytes read, opened in `dir` on first use; null when it cannot be
// (`st` says why).
ScratchFile* kept_copy(Worker& w, const std::filesystem::path& dir, WriteStatus& st);

// A live record whose message file is missing: "missing" (or "fail" under --on-corrupt fail),
// with the inventory's finding when it has one, else the standard one.
AuditMessage missing_file_message(std::uint32_t uid, const std::string& file, OnCorrupt on_corrupt,
                                  const Finding* found = nullptr);

// One message as the pass takes it.
struct PassInput {
  const IndexRecord* record = nullptr;  // null: an orphan file
  std::uint32_t uid = 0;                // its UID in the source
  const std::filesystem::path* path = nullptr;
  std::uint32_t index_version = 0;
  bool duplicate = false;  // a second record of the UID: its file is not read again
  bool missing = false;    // the inventory found no file for the record
  bool recovery = false;   // the recovery folder: a recovered orphan is written (repaired if need be)
  OnCorrupt on_corrupt = OnCorrupt::repair;
  const std::string* folder_name = nullptr;
  const Finding* missing_finding = nullptr;  // the inventory's, else the standard one
};

// What the pass made of it.
struct PassResult {
  AuditMessage m;
  MessageCheckResult check;
  SourceStream read;
  bool streamed = false;       // the file was read (into the sink and the kept copy)
  bool keep_failed = false;    // the kept copy could not be written: the output failed
  WriteStatus keep_error;
  MessageDisposition disposition = MessageDisposition::not_converted;
  bool read_ok() const { return streamed && read.status == SourceOpen::Status::ok; }
};

// The decision for a message once read (or not: missing, duplicate): decide_message, a recovered
// orphan written (repaired if need be), the size the report gives.
void decide_passed_message(const PassInput& in, PassResult& r);

// Counts one message's outcome; `recovery`: an orphan of the recovery folder, counted as
// recovered (in the output) or quarantined besides (count_orphan: only that, audit's way).
void account_message(AuditAccounting& c, MessageDisposition d, bool recovery);
void count_orphan(AuditAccounting& c, MessageDisposition d);

// A sink takes one message's bytes and acts on the decision:
//   void begin();  void feed(std::string_view);  void end();   the bytes as they are read
//   void adjust(AuditMessage&, const MessageCheckResult&);   a format's own limits
//   WriteStatus commit();   keep what was streamed        void undo();   drop it
//   WriteStatus keep(std::string_view label, const AuditMessage&, ScratchFile* kept);
//                           the original beside (`kept` null: the file was not read; read it)
//   WriteStatus repair(const AuditMessage&, const MessageCheckResult&, ScratchFile& kept);
//                           the repaired message, encoded from the kept bytes, committed
//   void failed(const WriteStatus&);   the output failed: the folder stops
//   void stop(const std::string& reason);   --on-corrupt fail: the folder stops
// `keep` receives the bytes as they are read (convert: the worker's scratch, zimbra-tgz: the
// archive entry's), so a repaired or quarantined message's original is never read again.
template <class Sink>
void pass_message(Worker& w, ScratchFile* keep, const PassInput& in, Sink& sink, PassResult& r);
// Its first half, the one read: the file through the checker into `keep` and the sink.
template <class Sink>
void read_message(Worker& w, ScratchFile* keep, const std::filesystem::path& path, Sink& sink, PassResult& r);

// audit's sink: the check is all it needs.
struct NullSink {
  void begin() {}
  void feed(std::string_view) {}
  void end() {}
};

// What convert does with a message of that action (audit's forecast; recover: written).
MessageDisposition disposition_for(MessageAction a);

// The `.reason` file beside a kept original: UID, source file, action, reason, changes, findings.
std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m);

template <class Sink>
MessageDisposition act_on_decision(ScratchFile* keep, PassResult& r, Sink& sink) {
  const AuditMessage& m = r.m;
  auto undo = [&] {
    if (r.streamed) sink.undo();
  };
  switch (m.action) {
    case MessageAction::write:
      if (auto st = sink.commit(); !st) {
        undo();
        sink.failed(st);
        return MessageDisposition::not_converted;
      }
      return MessageDisposition::written;
    case MessageAction::repair: {
      undo();
      WriteStatus st = keep ? sink.keep("original", m, keep) : WriteStatus{false, "no copy of the bytes read"};
      if (st) st = sink.repair(m, r.check, *keep);
      if (!st) {
        sink.failed(st);
        return MessageDisposition::not_converted;
      }
      return MessageDisposition::repaired;
    }
    case MessageAction::quarantine:
      undo();
      // A file read only in part is read again for its copy (the error, if it persists, fails it).
      if (auto st = sink.keep("quarantined", m, r.read_ok() ? keep : nullptr); !st) {
        sink.failed(st);
        return MessageDisposition::not_converted;
      }
      return MessageDisposition::quarantined;
    case MessageAction::fail:
      undo();
      sink.stop("UID " + std::to_string(m.uid) + ": " + m.reason);
      return MessageDisposition::not_converted;
    case MessageAction::missing: return MessageDisposition::missing;
    default: undo(); return MessageDisposition::not_converted;
  }
}

// Where read_message's next read() goes: straight into the kept copy's memory (so keeping a
// message costs no copy: the buffer read into is the copy; a message past its 256 KiB goes to
// the scratch file a buffer at a time), or the worker's buffer when nothing is kept.
struct ReadTarget {
  ScratchFile* keep;
  WriteStatus kept;
  std::span<char> own;
  std::span<char> next() {
    if (keep && kept) {
      const std::span<char> room = keep->space(kept);
      if (kept && !room.empty()) return room;
    }
    return own;
  }
};

template <class Sink>
void read_message(Worker& w, ScratchFile* keep, const std::filesystem::path& path, Sink& sink, PassResult& r) {
  w.checker.reset();
  ReadTarget target{keep, keep ? keep->clear() : WriteStatus{}, w.buffer};
  sink.begin();
  // One pointer captured each: the std::functions stay off the heap.
  struct Feed {
    MessageChecker& checker;
    ReadTarget& target;
    Sink& sink;
  } feed{w.checker, target, sink};
  r.read = w.prefetch.stream(path, ReadSpace([t = &target] { return t->next(); }), [f = &feed](std::string_view chunk) {
    f->checker.feed(chunk);
    // Read in place (ScratchFile::write sees it and only counts it); a prefetched first chunk
    // or one read into the worker's buffer is copied.
    if (f->target.keep && f->target.kept) f->target.kept = f->target.keep->write(chunk);
    f->sink.feed(chunk);
  });
  r.check = w.checker.finish();
  r.streamed = true;
  sink.end();
  if (!target.kept) {
    r.keep_failed = true;
    r.keep_error = target.kept;
  }
}

template <class Sink>
void pass_message(Worker& w, ScratchFile* keep, const PassInput& in, Sink& sink, PassResult& r) {
  if (!in.missing && !in.duplicate) {
    read_message(w, keep, *in.path, sink, r);
    if (r.keep_failed) {
      sink.undo();
      sink.failed(r.keep_error);
      r.disposition = MessageDisposition::not_converted;
      return;
    }
  }
  decide_passed_message(in, r);
  if (r.streamed) sink.adjust(r.m, r.check);
  r.disposition = act_on_decision(keep, r, sink);
}

}  // namespace cyrconv
