// Pieces of re-runs (converter/convert/prior_output.h, converter/convert/journal.h, OutputFile's commit modes)
// and convert's behaviour on an output that already holds an earlier run's work.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <fstream>

#include "converter/convert/convert.h"
#include "converter/convert/journal.h"
#include "converter/convert/prior_output.h"
#include "tests/test_support.h"
#include "writers/maildir.h"
#include "writers/output_file.h"

using namespace cyrconv;
namespace fs = std::filesystem;

TEST_CASE("is_our_maildir_name: only names cyrconv gives, for this UIDVALIDITY") {
  CHECK(is_our_maildir_name("1334005685.V1795869437U3.cyrconv,S=157,W=167:2,R", 1795869437));
  CHECK(is_our_maildir_name("0.V7U1.cyrconv,S=0,W=0", 7));
  CHECK_FALSE(is_our_maildir_name("1334005685.V1795869437U3.cyrconv,S=157,W=167:2,R", 1795869438));
  CHECK_FALSE(is_our_maildir_name("1700000000.M1P1.host:2,S", 7));
  CHECK_FALSE(is_our_maildir_name("1700000000.V7U1.cyrconvX,S=1", 7));
  CHECK_FALSE(is_our_maildir_name("x.V7U1.cyrconv,S=1", 7));
  CHECK_FALSE(is_our_maildir_name("1.V7U.cyrconv,S=1", 7));
}

TEST_CASE("uidlist_with_uidnext keeps every other field and line, Dovecot's included") {
  std::string error;
  auto u = uidlist_with_uidnext("3 V42 N5 G0123abcd\n1 :a\n4 W9 :b\n", 9, error);
  REQUIRE(u);
  CHECK(*u == "3 V42 N9 G0123abcd\n1 :a\n4 W9 :b\n");
  u = uidlist_with_uidnext("3 V42\n", 2, error);
  REQUIRE(u);
  CHECK(*u == "3 V42 N2\n");
  CHECK_FALSE(uidlist_with_uidnext("1 42 5\n1 a\n", 9, error));
  CHECK(error.find("version 3") != std::string::npos);
}

TEST_CASE("find_mbox_imapbase finds the fixed-width last-UID field of the first message only") {
  const std::string head = "From a Mon Jan  1 00:00:00 2024\nSubject: x\nX-IMAPbase: 123 0000000042 Todo\n\nbody\n"
                           "X-IMAPbase: 9 0000000001\n";
  auto b = find_mbox_imapbase("\n" + head);
  REQUIRE(b);
  CHECK(b->uidvalidity == 123);
  CHECK(b->last_uid == 42);
  CHECK(("\n" + head).substr(b->last_uid_offset, 10) == "0000000042");
  CHECK_FALSE(find_mbox_imapbase("\nFrom a\nX-IMAPbase: 123 42\n\n"));  // not fixed width: not patched
  CHECK_FALSE(find_mbox_imapbase("\nFrom a\nSubject: y\n\nX-IMAPbase: 1 0000000001\n"));
}

TEST_CASE("merge_flag_change: the source's changes are applied, the target's own kept") {
  const FlagState was{imapflag::seen, {"$Label1", "Todo"}};
  const FlagState now{imapflag::seen | imapflag::flagged, {"Todo", "Urgent"}};
  // The target's user answered the message and added a keyword of their own meanwhile.
  const FlagState there{imapflag::seen | imapflag::answered, {"$Label1", "Mine", "Todo"}};
  const FlagState m = merge_flag_change(there, was, now);
  CHECK(m.system == (imapflag::seen | imapflag::answered | imapflag::flagged));
  CHECK(m.keywords == std::vector<std::string>{"Mine", "Todo", "Urgent"});
  // Unchanged in the source: the target stays as it is, even where it differs.
  const FlagState same = merge_flag_change(there, was, was);
  CHECK(same.system == there.system);
  CHECK(same.keywords == there.keywords);
  // \Seen cleared in the source clears it in the target.
  CHECK(merge_flag_change(there, was, FlagState{0, was.keywords}).system == imapflag::answered);
}

TEST_CASE("journal files round-trip, an options change is described") {
  test::TempDir tmp;
  const JournalOptions o{"maildir", "lf", "dovecot", "repair", false, false};
  REQUIRE(write_journal_options(tmp.path, o, false));
  std::string error;
  auto back = read_journal_options(tmp.path, error);
  REQUIRE(back);
  CHECK(*back == o);
  JournalOptions other = o;
  other.eol = "crlf";
  CHECK(describe_options_change(o, other) == "--eol crlf (this output was made with lf)");
  FolderDone d{"user.fred.Sent", "Sent", 7, 12, 14, 11, "Maildir/.Sent", "abc"};
  REQUIRE(write_folder_done(tmp.path, "Sent", d, false));
  auto dd = read_folder_done(tmp.path, "Sent", error);
  REQUIRE(dd);
  CHECK(dd->target_uidnext == 14);
  CHECK(dd->manifest_lines == 11);
  CHECK(dd->output == "Maildir/.Sent");
  CHECK(dd->uniqueid == "abc");
  CHECK_FALSE(read_folder_done(tmp.path, "Trash", error));
  CHECK(error.empty());  // absent is not an error
  { std::ofstream(journal_dir(tmp.path) / "Torn.done") << "{\"version\": 1, \"fol"; }
  CHECK_FALSE(read_folder_done(tmp.path, "Torn", error));
  CHECK_FALSE(error.empty());
}

TEST_CASE("OutputFile commit modes: refuse, replace, keep_identical") {
  test::TempDir tmp;
  auto write = [&](const std::string& text, OutputFile::OnExisting mode, bool* kept = nullptr) {
    OutputFile f;
    REQUIRE(f.open(tmp.path, "x"));
    REQUIRE(f.write(text));
    auto st = f.commit(tmp.path / "x", -1, false, mode);
    if (kept) *kept = f.kept_existing();
    return st;
  };
  REQUIRE(write("one", OutputFile::OnExisting::refuse));
  CHECK_FALSE(write("two", OutputFile::OnExisting::refuse));
  CHECK(test::read_file(tmp.path / "x") == "one");
  bool kept = false;
  CHECK(write("one", OutputFile::OnExisting::keep_identical, &kept));
  CHECK(kept);
  const auto st = write("uno", OutputFile::OnExisting::keep_identical);
  CHECK_FALSE(st);
  CHECK(st.message.find("other content") != std::string::npos);
  CHECK(test::read_file(tmp.path / "x") == "one");
  CHECK(write("two", OutputFile::OnExisting::replace));
  CHECK(test::read_file(tmp.path / "x") == "two");
  std::size_t temps = 0;
  for (const auto& e : fs::directory_iterator(tmp.path)) temps += e.path().filename().string() != "x";
  CHECK(temps == 0);
  OutputFile never_opened;
  CHECK_FALSE(never_opened.write("x"));  // an error, not a hang
}

TEST_CASE("convert refuses to add to an output made with other byte-changing options") {
  test::TempDir tmp;
  SourceInputs in;
  in.partitions.push_back({"default", test::fixtures_dir() / "cyrus36-default" / "spool"});
  in.config_dir = test::fixtures_dir() / "cyrus36-default" / "config";
  ConvertOptions opt;
  opt.out = tmp.path;
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  const ConvertReport first = run_convert(in, opt);
  CHECK(first.totals.written > 0);
  opt.crlf = true;
  const ConvertReport second = run_convert(in, opt);
  CHECK(second.totals.written == 0);
  CHECK(second.totals.not_converted == first.totals.messages);
  bool refused = false;
  for (const auto& u : second.users)
    for (const auto& f : u.findings) refused = refused || (f.kind == "options_changed" && f.detail.find("--eol crlf") != std::string::npos);
  CHECK(refused);
}

TEST_CASE("convert refuses before writing when the output file system lacks the space") {
  // A tmpfs of 64 KiB is smaller than any fixture's messages; only root can mount one.
  test::TempDir tmp;
  const fs::path mnt = tmp.path / "small";
  fs::create_directories(mnt);
  const std::string cmd = "mount -t tmpfs -o size=64k tmpfs '" + mnt.string() + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    MESSAGE("cannot mount a small tmpfs here (not root?): skipped");
    return;
  }
  SourceInputs in;
  in.partitions.push_back({"default", test::fixtures_dir() / "cyrus36-legacy" / "spool"});
  ConvertOptions opt;
  opt.out = mnt / "out";
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  const ConvertReport r = run_convert(in, opt);
  CHECK(r.fatal);
  bool space = false;
  for (const auto& f : r.findings) space = space || f.kind == "disk_space";
  CHECK(space);
  CHECK_FALSE(fs::exists(opt.out / "carl"));
  (void)std::system(("umount '" + mnt.string() + "'").c_str());
}
