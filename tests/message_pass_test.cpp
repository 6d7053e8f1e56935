// The one message pass (converter/convert/message_pass.h): one read feeds the checker, the sink
// and the kept copy; one decision; one place that counts.
#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "converter/convert/message_pass.h"
#include "test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

std::string scratch_text(ScratchFile& s) {
  std::string all;
  std::vector<char> buffer(4096);
  REQUIRE(s.read_all(buffer, [&](std::string_view b) {
    all.append(b);
    return WriteStatus{};
  }));
  return all;
}

// Records what the pass asked of it. At the end of the read it removes the source file: whatever
// the pass keeps or writes after that came from the one read.
struct RecordingSink {
  fs::path source;
  bool remove_at_end = true;
  std::string fed;
  std::vector<std::string> calls;
  std::string kept_original;  // what keep() saw in the kept copy
  bool kept_was_null = false;
  std::string repaired_from;

  void begin() { calls.push_back("begin"); }
  void feed(std::string_view chunk) { fed.append(chunk); }
  void end() {
    calls.push_back("end");
    if (remove_at_end) fs::remove(source);
  }
  void adjust(AuditMessage&, const MessageCheckResult&) {}
  WriteStatus commit() {
    calls.push_back("commit");
    return {};
  }
  void undo() { calls.push_back("undo"); }
  WriteStatus keep(std::string_view label, const AuditMessage&, ScratchFile* kept) {
    calls.push_back("keep " + std::string(label));
    kept_was_null = kept == nullptr;
    if (kept) kept_original = scratch_text(*kept);
    return {};
  }
  WriteStatus repair(const AuditMessage&, const MessageCheckResult&, ScratchFile& kept) {
    calls.push_back("repair");
    repaired_from = scratch_text(kept);
    return {};
  }
  void failed(const WriteStatus& st) { calls.push_back("failed " + st.message); }
  void stop(const std::string& reason) { calls.push_back("stop " + reason); }
};

struct Pass {
  test::TempDir dir;
  Worker w{MessageCheckOptions{}};
  ScratchFile keep;
  std::string folder = "INBOX";
  fs::path path = dir.path / "1.";
  PassInput in;
  Pass() {
    REQUIRE(keep.open(dir.path));
    in.path = &path;
    in.folder_name = &folder;
  }
  PassResult run(RecordingSink& sink) {
    sink.source = path;
    PassResult r;
    pass_message(w, &keep, in, sink, r);
    return r;
  }
};

std::string message_with_bare_cr(std::size_t body_bytes) {
  std::string m = "From: a@example.org\r\nSubject: t\r\n\r\n";
  while (m.size() < body_bytes) m += "a line of the body\r\n";
  return m + "a bare\rCR\r\n";
}

}  // namespace

TEST_CASE("a repaired orphan's original is the bytes of the one read, small or beyond the scratch buffer") {
  for (std::size_t body : {std::size_t{100}, std::size_t{600 * 1024}}) {
    Pass p;
    const std::string bytes = message_with_bare_cr(body);
    write_file(p.path, bytes);
    p.in.uid = 1;
    p.in.recovery = true;  // an orphan (no record) in the recovery folder: recovered, repaired
    RecordingSink sink;
    const PassResult r = p.run(sink);
    CHECK_FALSE(fs::exists(p.path));  // gone after the read: nothing below re-read it
    CHECK(r.m.action == MessageAction::repair);
    CHECK(r.disposition == MessageDisposition::repaired);
    CHECK(sink.fed == bytes);
    CHECK(sink.kept_original == bytes);
    CHECK(sink.repaired_from == bytes);
    CHECK(sink.calls == std::vector<std::string>{"begin", "end", "undo", "keep original", "repair"});
    CHECK(r.m.size == bytes.size());
  }
}

TEST_CASE("the kept copy, read straight into, is the file at the edges of its memory buffer, prefetched or not") {
  // The read goes into the kept copy's 256 KiB buffer; a full buffer goes to the scratch file
  // before the next read. A prefetched first chunk is read elsewhere and copied in.
  const std::size_t k = read_buffer_size;
  for (bool prefetch : {false, true}) {
    for (std::size_t size : {std::size_t{0}, k - 1, k, k + 1, 2 * k, 3 * k + 17}) {
      CAPTURE(prefetch);
      CAPTURE(size);
      Pass p;
      std::string bytes = message_with_bare_cr(100);
      for (std::size_t i = 0; bytes.size() < size; ++i) bytes += static_cast<char>('a' + i % 23);
      bytes.resize(size);
      write_file(p.path, bytes);
      IoThreads io(2);
      if (prefetch) p.w.prefetch.start(&io, 2, read_buffer_size, {p.path});
      p.in.uid = 1;
      p.in.recovery = true;
      p.in.on_corrupt = OnCorrupt::quarantine;
      RecordingSink sink;
      const PassResult r = p.run(sink);
      p.w.prefetch.stop();
      CHECK_FALSE(fs::exists(p.path));
      CHECK(r.read_ok());
      CHECK(sink.fed == bytes);
      CHECK(p.keep.size() == size);
      CHECK(scratch_text(p.keep) == bytes);
      if (size > 0) CHECK(sink.kept_original == bytes);
    }
  }
}

TEST_CASE("a scratch file takes bytes read into its room and bytes written, in order") {
  test::TempDir dir;
  ScratchFile s;
  REQUIRE(s.open(dir.path));
  std::string expect;
  for (int round = 0; round < 2; ++round) {
    REQUIRE(s.clear());
    expect.clear();
    for (int i = 0; i < 40; ++i) {
      WriteStatus st;
      const std::span<char> room = s.space(st);
      REQUIRE(st);
      REQUIRE_FALSE(room.empty());
      const std::size_t n = std::min<std::size_t>(room.size(), 20000 + 977 * i);
      for (std::size_t j = 0; j < n; ++j) room[j] = static_cast<char>('A' + (i + j) % 26);
      expect.append(room.data(), n);
      if (i % 2) s.added(n);
      else REQUIRE(s.write(std::string_view(room.data(), n)));  // seen as in place: not copied twice
      const std::string other = "written " + std::to_string(i) + "\n";
      REQUIRE(s.write(other));
      expect += other;
    }
    CHECK(s.size() == expect.size());
    CHECK(scratch_text(s) == expect);
  }
}

TEST_CASE("a quarantined message's copy comes from the read, a file read in part is read again for it") {
  Pass p;
  const std::string bytes = message_with_bare_cr(100);
  write_file(p.path, bytes);
  p.in.uid = 1;
  p.in.recovery = true;
  p.in.on_corrupt = OnCorrupt::quarantine;
  RecordingSink sink;
  PassResult r = p.run(sink);
  CHECK(r.m.action == MessageAction::quarantine);
  CHECK(r.disposition == MessageDisposition::quarantined);
  CHECK(sink.kept_original == bytes);
  CHECK(sink.calls == std::vector<std::string>{"begin", "end", "undo", "keep quarantined"});

  // A directory where the file should be: the read fails, the copy is not taken from it.
  Pass q;
  fs::create_directory(q.path);
  q.in.uid = 2;
  q.in.recovery = true;
  RecordingSink unreadable;
  unreadable.remove_at_end = false;
  r = q.run(unreadable);
  CHECK(r.m.action == MessageAction::quarantine);
  CHECK(unreadable.kept_was_null);
  CHECK(r.disposition == MessageDisposition::quarantined);
}

TEST_CASE("a clean message is committed as streamed, a missing or duplicate one is not read") {
  IndexRecord rec;
  rec.uid = 7;
  {
    Pass p;
    const std::string bytes = "From: a@example.org\r\nSubject: t\r\n\r\nbody\r\n";
    write_file(p.path, bytes);
    rec.size = bytes.size();
    p.in.record = &rec;
    p.in.uid = 7;
    RecordingSink sink;
    const PassResult r = p.run(sink);
    CHECK(r.m.action == MessageAction::write);
    CHECK(r.disposition == MessageDisposition::written);
    CHECK(sink.calls == std::vector<std::string>{"begin", "end", "commit"});
  }
  {
    Pass p;  // no file: the inventory said so
    p.in.record = &rec;
    p.in.uid = 7;
    p.in.missing = true;
    RecordingSink sink;
    PassResult r = p.run(sink);
    CHECK(r.m.action == MessageAction::missing);
    CHECK(r.disposition == MessageDisposition::missing);
    CHECK(r.m.size == rec.size);
    CHECK(sink.calls.empty());
    p.in.on_corrupt = OnCorrupt::fail;
    RecordingSink failing;
    r = p.run(failing);
    CHECK(r.m.action == MessageAction::fail);
    CHECK(r.disposition == MessageDisposition::not_converted);
    CHECK(failing.calls == std::vector<std::string>{"stop UID 7: message file missing"});
  }
  {
    Pass p;
    p.in.record = &rec;
    p.in.uid = 7;
    p.in.duplicate = true;
    RecordingSink sink;
    const PassResult r = p.run(sink);
    CHECK(r.m.action == MessageAction::quarantine);
    CHECK(r.disposition == MessageDisposition::quarantined);
    CHECK(sink.kept_was_null);  // the first record's read is not this one's
    CHECK(sink.calls == std::vector<std::string>{"keep quarantined"});
  }
}

TEST_CASE("the decision outside the recovery folder keeps recover (audit), one place counts") {
  PassInput in;
  const fs::path path = "/nonexistent/5.";
  const std::string folder = "user/a";
  in.path = &path;
  in.uid = 5;
  in.folder_name = &folder;
  PassResult r;
  r.streamed = true;
  r.read.status = SourceOpen::Status::ok;
  r.check.size = 10;
  decide_passed_message(in, r);
  CHECK(r.m.action == MessageAction::recover);
  CHECK(r.m.recover_folder == "user/a/Recovered-Orphans");
  CHECK(disposition_for(r.m.action) == MessageDisposition::written);
  CHECK(disposition_for(MessageAction::fail) == MessageDisposition::not_converted);

  AuditAccounting c;
  account_message(c, MessageDisposition::written, false);
  account_message(c, MessageDisposition::repaired, true);
  account_message(c, MessageDisposition::quarantined, true);
  account_message(c, MessageDisposition::missing, false);
  account_message(c, MessageDisposition::not_converted, false);
  account_message(c, MessageDisposition::skipped_deleted, false);
  CHECK(c.written == 1);
  CHECK(c.repaired == 1);
  CHECK(c.quarantined == 1);
  CHECK(c.missing == 1);
  CHECK(c.not_converted == 1);
  CHECK(c.orphans_recovered == 1);
  CHECK(c.orphans_quarantined == 1);

  for (auto a : {MessageAction::write, MessageAction::repair, MessageAction::quarantine, MessageAction::recover,
                 MessageAction::missing, MessageAction::fail, MessageAction::not_converted})
    CHECK(parse_message_action(to_string(a)) == a);
  for (auto d : {MessageDisposition::written, MessageDisposition::repaired, MessageDisposition::quarantined,
                 MessageDisposition::missing, MessageDisposition::skipped_deleted, MessageDisposition::not_converted})
    CHECK(parse_message_disposition(to_string(d)) == d);
  CHECK_FALSE(parse_message_action("writ"));
}
