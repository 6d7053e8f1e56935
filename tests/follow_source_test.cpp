// --follow-source on a hand-made earlier output (converter/follow/follow_source.h): a folder the source
// deleted (the snapshots fixture has none), mail the target received, a list of moves
// interrupted and finished by a run without the option, and the holding area's census. The
// renamed, re-created and expunged cases against real Cyrus are e2e_follow_source_cutover.
#include <doctest/doctest.h>

#include <fstream>
#include <map>

#include "converter/follow/follow_source.h"
#include "converter/follow/follow_source_moves.h"
#include "converter/convert/journal.h"
#include "converter/verify/mbox_reader.h"
#include "converter/verify/output_reader.h"
#include "converter/convert/prior_output.h"
#include "tests/test_support.h"
#include "writers/manifest.h"
#include "writers/mbox.h"

using namespace cyrconv;
using namespace cyrconv::test;
namespace fs = std::filesystem;

namespace {

const char* const message_name = "1000.V7U1.cyrconv,S=5,W=6";

// An earlier run's folder "Old" (UIDVALIDITY 7) with one message, Dovecot's flags on its name.
void earlier_folder(const fs::path& root) {
  const fs::path dir = root / "Maildir" / ".Old";
  for (const char* d : {"cur", "new", "tmp"}) fs::create_directories(dir / d);
  std::ofstream(dir / "cur" / (std::string(message_name) + ":2,S")) << "hello";
  std::ofstream(dir / "dovecot-uidlist") << "3 V7 N2\n1 :" << message_name << "\n";
  fs::create_directories(root / "manifests");
  ManifestEntry e;
  e.uid = 1;
  e.output_file = "Maildir/.Old/cur/" + std::string(message_name) + ":2,";
  e.size = 6;
  e.disposition = MessageDisposition::written;
  std::ofstream(root / "manifests" / "Old.jsonl") << manifest_line(e, false);
  REQUIRE(write_folder_done(root, "Old", FolderDone{"user.fred.Old", "Old", 7, 2, 2, 1, "Maildir/.Old", ""}, false));
  std::ofstream(root / "Maildir" / "subscriptions") << "INBOX\nOld\n";
}

bool has(const FollowResult& r, const std::string& kind) {
  for (const auto& f : r.findings)
    if (f.kind == kind) return true;
  return false;
}

// The target name of the fixture's folder user.fred.Old.
FolderNameResult old_folder_name() {
  FolderNameResult name;
  name.internal_name = "user.fred.Old";
  name.path = "Old";
  name.levels = {"Old"};
  name.maildirpp = ".Old";
  return name;
}

FollowInput input(const fs::path& root, bool apply) {
  FollowInput in;
  in.user_root = root;
  in.apply = apply;
  in.stamp = "20260101T000000Z";
  in.live_uids = [](const std::string&, std::vector<std::uint32_t>&, std::string&) { return true; };
  return in;
}

}  // namespace

TEST_CASE("follow_source: a folder deleted in the source moves whole to the holding area, only when asked") {
  TempDir tmp;
  earlier_folder(tmp.path);
  FollowResult dry = follow_source(input(tmp.path, false));
  CHECK(has(dry, "follow_source_available"));
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old"));
  CHECK(fs::exists(journal_dir(tmp.path) / "Old.done"));

  FollowResult r = follow_source(input(tmp.path, true));
  CHECK(r.folders_moved == 1);
  CHECK(has(r, "moved_to_holding"));
  const fs::path held = tmp.path / holding_dir_name / "20260101T000000Z" / "Old";
  CHECK_FALSE(fs::exists(tmp.path / "Maildir" / ".Old"));
  CHECK(read_file(held / "cur" / (std::string(message_name) + ":2,S")) == "hello");
  CHECK(fs::exists(held / "manifest.jsonl"));
  CHECK(fs::exists(held / "journal.done"));
  CHECK_FALSE(fs::exists(journal_dir(tmp.path) / "Old.done"));
  CHECK_FALSE(fs::exists(journal_dir(tmp.path) / "follow-source.pending"));
  CHECK(read_file(tmp.path / "Maildir" / "subscriptions") == "INBOX\n");
  const HoldingCensus c = census_holding_area(tmp.path);
  CHECK(c.messages == 1);
  CHECK(c.present == 1);
  CHECK(c.missing.empty());
  // Nothing more to do on the next run.
  FollowResult again = follow_source(input(tmp.path, true));
  CHECK(again.folders_moved == 0);
  CHECK_FALSE(has(again, "follow_source_available"));
}

TEST_CASE("follow_source: a folder holding mail the target received stays where it is") {
  TempDir tmp;
  earlier_folder(tmp.path);
  std::ofstream(tmp.path / "Maildir" / ".Old" / "new" / "1700000000.M1P1.host") << "delivered";
  FollowResult r = follow_source(input(tmp.path, true));
  CHECK(r.folders_moved == 0);
  CHECK(r.impossible == 1);
  CHECK(has(r, "follow_source_impossible"));
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old" / "new" / "1700000000.M1P1.host"));
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old" / "cur" / (std::string(message_name) + ":2,S")));
  CHECK_FALSE(fs::exists(tmp.path / holding_dir_name));
}

TEST_CASE("follow_source: an expunged message moves with its manifest line, its uidlist line goes") {
  TempDir tmp;
  earlier_folder(tmp.path);
  const FolderNameResult name = old_folder_name();
  FollowInput in = input(tmp.path, true);
  in.folders.push_back({"user.fred.Old", "", 7, &name});
  FollowResult r = follow_source(in);
  CHECK(r.messages_moved == 1);
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old"));
  CHECK(read_file(tmp.path / "manifests" / "Old.jsonl").empty());
  CHECK(read_file(tmp.path / "Maildir" / ".Old" / "dovecot-uidlist") == "3 V7 N2\n");
  const fs::path held = tmp.path / holding_dir_name / "20260101T000000Z" / "Old";
  CHECK(read_file(held / "cur" / (std::string(message_name) + ":2,S")) == "hello");
  CHECK(read_file(held / "manifest.jsonl").find("\"uid\":1") != std::string::npos);
  std::string error;
  CHECK(read_folder_done(tmp.path, "Old", error)->manifest_lines == 0);
  CHECK(census_holding_area(tmp.path).present == 1);
}

TEST_CASE("follow_source: convert --dry-run moves nothing, not even an interrupted list, and says what would move") {
  TempDir tmp;
  earlier_folder(tmp.path);
  const FolderNameResult name = old_folder_name();
  FollowInput in = input(tmp.path, true);
  in.dry_run = true;
  in.folders.push_back({"user.fred.Old", "", 7, &name});
  FollowMove m;
  m.kind = FollowMove::Kind::folder_deleted;
  m.side = "Gone";
  m.from = "Maildir/.Gone";
  m.detail = "user.fred.Gone";
  REQUIRE(write_pending_moves(tmp.path, PendingMoves{"20250505T050505Z", {m}}, false));
  FollowResult r = follow_source(in);
  CHECK(r.messages_moved == 0);
  CHECK(r.folders_moved == 0);
  CHECK_FALSE(fs::exists(tmp.path / holding_dir_name));
  CHECK(fs::exists(journal_dir(tmp.path) / "follow-source.pending"));
  CHECK(read_file(tmp.path / "Maildir" / ".Old" / "dovecot-uidlist") != "3 V7 N2\n");
  CHECK(has(r, "follow_source_pending"));
  CHECK(has(r, "follow_source_available"));
}

TEST_CASE("follow_source: an interrupted list of moves is finished by the next run, with or without the option") {
  TempDir tmp;
  earlier_folder(tmp.path);
  FollowMove m;
  m.kind = FollowMove::Kind::folder_deleted;
  m.side = "Old";
  m.from = "Maildir/.Old";
  m.detail = "user.fred.Old";
  REQUIRE(write_pending_moves(tmp.path, PendingMoves{"20250505T050505Z", {m}}, false));
  // Killed after the folder itself moved, before its manifest and journal entry did.
  fs::create_directories(tmp.path / holding_dir_name / "20250505T050505Z");
  fs::rename(tmp.path / "Maildir" / ".Old", tmp.path / holding_dir_name / "20250505T050505Z" / "Old");
  FollowResult r = follow_source(input(tmp.path, false));
  CHECK(r.folders_moved == 1);
  const fs::path held = tmp.path / holding_dir_name / "20250505T050505Z" / "Old";
  CHECK(fs::exists(held / "manifest.jsonl"));
  CHECK(fs::exists(held / "journal.done"));
  CHECK_FALSE(fs::exists(journal_dir(tmp.path) / "follow-source.pending"));
  CHECK(census_holding_area(tmp.path).missing.empty());
}

TEST_CASE("follow_source: a folder the store still has but this run does not convert is left alone") {
  TempDir tmp;
  earlier_folder(tmp.path);
  FollowInput in = input(tmp.path, true);
  in.folders.push_back({"user.fred.Old", "", 0, nullptr});  // e.g. its spool directory is unreadable now
  FollowResult r = follow_source(in);
  CHECK(r.folders_moved == 0);
  CHECK(r.folders_replaced == 0);
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old" / "cur" / (std::string(message_name) + ":2,S")));
  CHECK_FALSE(fs::exists(tmp.path / holding_dir_name));
}

TEST_CASE("follow_source: without unique ids a rename needs the same UIDVALIDITY and every written UID") {
  TempDir tmp;
  earlier_folder(tmp.path);
  FolderNameResult a, b;
  for (auto* n : {&a, &b}) n->levels = {"x"};
  a.internal_name = "user.fred.New";
  a.path = "New";
  a.maildirpp = ".New";
  b.internal_name = "user.fred.Other";
  b.path = "Other";
  b.maildirpp = ".Other";
  FollowInput in = input(tmp.path, true);
  // Both have UIDVALIDITY 7 (Cyrus gives one a second); only New still lists UID 1.
  in.folders.push_back({"user.fred.New", "", 7, &a});
  in.folders.push_back({"user.fred.Other", "", 7, &b});
  in.live_uids = [](const std::string& internal, std::vector<std::uint32_t>& uids, std::string&) {
    if (internal == "user.fred.New") uids = {1, 2};
    return true;
  };
  FollowResult r = follow_source(in);
  CHECK(r.folders_renamed == 1);
  CHECK(fs::exists(tmp.path / "Maildir" / ".New" / "cur" / (std::string(message_name) + ":2,S")));
  CHECK_FALSE(fs::exists(tmp.path / "Maildir" / ".Old"));
  std::string error;
  auto done = read_folder_done(tmp.path, "New", error);
  REQUIRE(done);
  CHECK(done->folder == "user.fred.New");
  CHECK(done->output == "Maildir/.New");
  CHECK(read_file(tmp.path / "manifests" / "New.jsonl").find("Maildir/.New/cur/") != std::string::npos);
  CHECK_FALSE(fs::exists(tmp.path / "manifests" / "Old.jsonl"));
  CHECK(read_file(tmp.path / "Maildir" / "subscriptions") == "INBOX\n");
}

TEST_CASE("follow_source: a re-created INBOX never moves the Maildir root that holds every folder") {
  TempDir tmp;
  earlier_folder(tmp.path);
  fs::create_directories(tmp.path / "Maildir" / "cur");
  REQUIRE(write_folder_done(tmp.path, "INBOX", FolderDone{"user.fred", "INBOX", 5, 1, 1, 0, "Maildir", ""}, false));
  FolderNameResult inbox, old;
  inbox.internal_name = "user.fred";
  inbox.path = "INBOX";
  inbox.levels = {"INBOX"};
  old.internal_name = "user.fred.Old";
  old.path = "Old";
  old.levels = {"Old"};
  old.maildirpp = ".Old";
  FollowInput in = input(tmp.path, true);
  in.folders.push_back({"user.fred", "", 6, &inbox});  // UIDVALIDITY 5 -> 6
  in.folders.push_back({"user.fred.Old", "", 7, &old});
  in.live_uids = [](const std::string&, std::vector<std::uint32_t>& uids, std::string&) {
    uids = {1};
    return true;
  };
  FollowResult r = follow_source(in);
  CHECK(r.folders_replaced == 0);
  CHECK(r.impossible == 1);
  CHECK(fs::exists(tmp.path / "Maildir" / ".Old" / "cur" / (std::string(message_name) + ":2,S")));
  CHECK(fs::exists(journal_dir(tmp.path) / "INBOX.done"));
}

namespace {

// One message of an mbox folder as convert writes it (the first with X-IMAPbase).
// `body_lines` lines of filler make messages larger than the 1 MiB chunks the folder file is read in.
std::string mbox_message(std::uint32_t uid, bool first, std::size_t body_lines = 0) {
  const MboxFolderState state{7, 3, {}};
  std::string filler;
  for (std::size_t i = 0; i < body_lines; ++i) filler += "line " + std::to_string(i) + " of a long message body\n";
  return mbox_from_line("", 1700000000 + uid) + mbox_metadata_headers(uid, 0, {}, first ? &state : nullptr) +
         "Subject: m" + std::to_string(uid) + "\n\nbody " + std::to_string(uid) + "\n" + filler + "\n";
}

// An earlier run's mbox folder mail/Old (UIDVALIDITY 7) with UIDs 1-3 and their manifest lines.
std::vector<std::string> earlier_mbox_folder(const fs::path& root, std::size_t body_lines = 0) {
  const std::vector<std::string> msgs = {mbox_message(1, true, body_lines), mbox_message(2, false, body_lines),
                                         mbox_message(3, false, body_lines)};
  fs::create_directories(root / "mail");
  fs::create_directories(root / "manifests");
  std::string file, manifest;
  for (std::uint32_t uid = 1; uid <= 3; ++uid) {
    ManifestEntry e;
    e.uid = uid;
    e.output_file = "mail/Old";
    e.mbox_offset = file.size();
    e.disposition = MessageDisposition::written;
    MboxReader reader([&](MboxMessage&& m) {
      e.size = m.size;
      e.sha1 = m.sha1;
      e.sha1_known = true;
    });
    reader.feed(msgs[uid - 1]);
    reader.finish();
    file += msgs[uid - 1];
    manifest += manifest_line(e, true);
  }
  std::ofstream(root / "mail" / "Old", std::ios::binary) << file;
  std::ofstream(root / "manifests" / "Old.jsonl") << manifest;
  REQUIRE(write_folder_done(root, "Old", FolderDone{"user.fred.Old", "Old", 7, 4, 4, 3, "mail/Old", ""}, false));
  return msgs;
}

FollowResult follow_mbox(const fs::path& root, std::vector<std::uint32_t> live) {
  FolderNameResult name = old_folder_name();
  name.mbox_path = "Old";
  FollowInput in = input(root, true);
  in.maildir = false;
  in.folders.push_back({"user.fred.Old", "", 7, &name});
  in.live_uids = [live](const std::string&, std::vector<std::uint32_t>& uids, std::string&) {
    uids = live;
    return true;
  };
  return follow_source(in);
}

// uid -> mbox_offset of a manifest file's lines.
std::map<std::uint32_t, std::uint64_t> offsets(const fs::path& manifest) {
  std::map<std::uint32_t, std::uint64_t> out;
  for (const auto& r : read_earlier_manifest(manifest).records) out[r.uid] = r.mbox_offset.value_or(~0ull);
  return out;
}

}  // namespace

TEST_CASE("follow_source: mbox, an expunged middle message is cut out of the file into the holding area") {
  TempDir tmp;
  const auto msgs = earlier_mbox_folder(tmp.path);
  FollowResult r = follow_mbox(tmp.path, {1, 3});
  CHECK(r.messages_moved == 1);
  CHECK(read_file(tmp.path / "mail" / "Old") == msgs[0] + msgs[2]);
  CHECK(offsets(tmp.path / "manifests" / "Old.jsonl") ==
        std::map<std::uint32_t, std::uint64_t>{{1, 0}, {3, msgs[0].size()}});
  const fs::path held = tmp.path / holding_dir_name / "20260101T000000Z" / "Old";
  CHECK(read_file(held / "Old") == msgs[1]);
  CHECK(offsets(held / "manifest.jsonl") == std::map<std::uint32_t, std::uint64_t>{{2, 0}});
  std::string error;
  CHECK(read_folder_done(tmp.path, "Old", error)->manifest_lines == 2);
  CHECK_FALSE(fs::exists(tmp.path / "mail" / "Old.follow-source.tmp"));
  CHECK_FALSE(fs::exists(journal_dir(tmp.path) / "follow-source.pending"));
  const HoldingCensus c = census_holding_area(tmp.path);
  CHECK(c.messages == 1);
  CHECK(c.present == 1);
  // Nothing more to do on the next run.
  CHECK(follow_mbox(tmp.path, {1, 3}).messages_moved == 0);
  CHECK(read_file(tmp.path / "mail" / "Old") == msgs[0] + msgs[2]);
}

TEST_CASE("follow_source: mbox, when the first message goes its X-IMAPbase moves to the new first") {
  TempDir tmp;
  const auto msgs = earlier_mbox_folder(tmp.path);
  FollowResult r = follow_mbox(tmp.path, {2, 3});
  CHECK(r.messages_moved == 1);
  const std::string line = "X-IMAPbase: 7 0000000003\n";
  REQUIRE(msgs[0].find(line) != std::string::npos);
  std::string first = msgs[1];
  first.insert(first.find("X-UID: "), line);
  CHECK(read_file(tmp.path / "mail" / "Old") == first + msgs[2]);
  CHECK(offsets(tmp.path / "manifests" / "Old.jsonl") ==
        std::map<std::uint32_t, std::uint64_t>{{2, 0}, {3, first.size()}});
  CHECK(read_file(tmp.path / holding_dir_name / "20260101T000000Z" / "Old" / "Old") == msgs[0]);
}

TEST_CASE("follow_source: mbox, messages larger than the read chunks are cut at their exact bounds") {
  TempDir tmp;
  const auto msgs = earlier_mbox_folder(tmp.path, 30000);  // about 1 MiB each: chunk bounds fall inside
  REQUIRE(msgs[0].size() > 900000);
  SUBCASE("the first two go: X-IMAPbase moves into the third, read across a chunk bound") {
    CHECK(follow_mbox(tmp.path, {3}).messages_moved == 2);
    std::string first = msgs[2];
    first.insert(first.find("X-UID: "), "X-IMAPbase: 7 0000000003\n");
    CHECK(read_file(tmp.path / "mail" / "Old") == first);
    CHECK(offsets(tmp.path / "manifests" / "Old.jsonl") == std::map<std::uint32_t, std::uint64_t>{{3, 0}});
    CHECK(read_file(tmp.path / holding_dir_name / "20260101T000000Z" / "Old" / "Old") == msgs[0] + msgs[1]);
  }
  SUBCASE("the middle one goes") {
    CHECK(follow_mbox(tmp.path, {1, 3}).messages_moved == 1);
    CHECK(read_file(tmp.path / "mail" / "Old") == msgs[0] + msgs[2]);
    CHECK(offsets(tmp.path / "manifests" / "Old.jsonl") ==
          std::map<std::uint32_t, std::uint64_t>{{1, 0}, {3, msgs[0].size()}});
    const fs::path held = tmp.path / holding_dir_name / "20260101T000000Z" / "Old";
    CHECK(read_file(held / "Old") == msgs[1]);
    CHECK(offsets(held / "manifest.jsonl") == std::map<std::uint32_t, std::uint64_t>{{2, 0}});
  }
}

TEST_CASE("follow_source: mbox, a message whose bytes are not what cyrconv wrote stays in the file") {
  TempDir tmp;
  const auto msgs = earlier_mbox_folder(tmp.path);
  // UID 3's bytes are not what the manifest says (the target rewrote them): it stays.
  std::string file = msgs[0] + msgs[1] + msgs[2];
  file.replace(file.rfind("body 3"), 6, "BODY 3");
  std::ofstream(tmp.path / "mail" / "Old", std::ios::binary) << file;
  FollowResult r = follow_mbox(tmp.path, {1});
  CHECK(r.messages_moved == 1);
  CHECK(r.impossible == 1);
  CHECK(read_file(tmp.path / "mail" / "Old") == msgs[0] + file.substr(msgs[0].size() + msgs[1].size()));
  CHECK(offsets(tmp.path / "manifests" / "Old.jsonl") ==
        std::map<std::uint32_t, std::uint64_t>{{1, 0}, {3, msgs[0].size()}});
}

TEST_CASE("follow_source: mbox, a list killed before or after its plan was fixed is finished by the next run") {
  TempDir done, killed;
  const auto msgs = earlier_mbox_folder(done.path);
  REQUIRE(follow_mbox(done.path, {1, 3}).messages_moved == 1);
  earlier_mbox_folder(killed.path);
  const std::string manifest = read_file(killed.path / "manifests" / "Old.jsonl");
  FollowMove m;
  m.kind = FollowMove::Kind::message;
  m.side = "Old";
  m.from = "mail/Old";
  m.line = manifest.substr(manifest.find('\n') + 1, manifest.rfind('\n', manifest.size() - 2) - manifest.find('\n') - 1);
  m.uid = 2;
  REQUIRE(m.line.find("\"uid\":2") != std::string::npos);
  REQUIRE(write_pending_moves(killed.path, PendingMoves{"20260101T000000Z", {m}}, false));
  const fs::path held = fs::path(holding_dir_name) / "20260101T000000Z" / "Old";
  SUBCASE("killed after the holding manifest: only the renames are left") {
    fs::create_directories(killed.path / held);
    fs::copy_file(done.path / held / "Old", killed.path / held / "Old");
    fs::copy_file(done.path / held / "manifest.jsonl", killed.path / held / "manifest.jsonl");
    fs::copy_file(done.path / "mail" / "Old", killed.path / "mail" / "Old.follow-source.tmp");
    fs::copy_file(done.path / "manifests" / "Old.jsonl", killed.path / "manifests" / "Old.jsonl.follow-source.tmp");
  }
  SUBCASE("killed while writing the new folder file: it is made again") {
    std::ofstream(killed.path / "mail" / "Old.follow-source.tmp") << "partial";
  }
  FollowResult r = follow_mbox(killed.path, {1, 3});
  CHECK(r.messages_moved == 1);
  for (const fs::path& f : {fs::path("mail") / "Old", fs::path("manifests") / "Old.jsonl", held / "Old", held / "manifest.jsonl"})
    CHECK(read_file(killed.path / f) == read_file(done.path / f));
  CHECK_FALSE(fs::exists(killed.path / "mail" / "Old.follow-source.tmp"));
  CHECK_FALSE(fs::exists(killed.path / "manifests" / "Old.jsonl.follow-source.tmp"));
  CHECK_FALSE(fs::exists(journal_dir(killed.path) / "follow-source.pending"));
  std::string error;
  CHECK(read_folder_done(killed.path, "Old", error)->manifest_lines == 2);
}
