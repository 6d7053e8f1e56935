// scan on a copy of a real fixture with its tree disturbed: mailboxes.db and the spool
// disagree, a message file is missing, an orphan file appears, links and FIFOs sit in the spool.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "converter/scan.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

const FolderSummary* folder(const ScanReport& r, const std::string& raw) {
  for (const auto& u : r.users)
    for (const auto& f : u.folders)
      if (f.name_raw == raw) return &f;
  return nullptr;
}

bool has_finding(const std::vector<Finding>& fs, const std::string& kind, const std::string& file_part) {
  for (const auto& f : fs)
    if (f.kind == kind && f.file.find(file_part) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("scan reports disagreements between mailboxes.db and the spool, and never follows links") {
  test::TempDir tmp;
  const fs::path src = test::fixtures_dir() / "cyrus36-legacy";
  fs::copy(src / "spool", tmp.path / "spool", fs::copy_options::recursive);
  fs::copy(src / "config", tmp.path / "config", fs::copy_options::recursive);
  const fs::path carl = tmp.path / "spool" / "C" / "user" / "carl";

  // carl's Archive/2001 vanishes; a copy of Sent appears under a name the db does not know.
  fs::remove_all(carl / "Archive" / "2001");
  fs::copy(carl / "Sent", carl / "Stray", fs::copy_options::recursive);
  // One message file of carl's INBOX goes missing, and an orphan appears.
  fs::path first_message;
  for (const auto& e : fs::directory_iterator(carl))
    if (e.is_regular_file() && e.path().filename().string().back() == '.' && first_message.empty())
      first_message = e.path();
  REQUIRE(!first_message.empty());
  fs::remove(first_message);
  { std::ofstream(carl / "9999.") << "From: nobody\r\n\r\nnot in the index\r\n"; }
  // A symlink pointing out of the spool, and a FIFO.
  fs::create_symlink("/etc", carl / "escape");
  REQUIRE(mkfifo((carl / "pipe").c_str(), 0600) == 0);

  SourceInputs in;
  in.partitions.emplace_back("default", tmp.path / "spool");
  in.config_dir = tmp.path / "config";
  ScanReport r = run_scan(in, ScanOptions{});

  CHECK(has_finding(r.findings, "mailbox_directory_missing", "mailboxes.db"));
  CHECK(has_finding(r.findings, "mailbox_not_in_db", "Stray"));
  CHECK(has_finding(r.findings, "symlink_in_spool", "escape"));
  CHECK(has_finding(r.findings, "special_file_in_spool", "pipe"));

  const FolderSummary* archive = folder(r, "user.carl.Archive.2001");
  REQUIRE(archive);
  CHECK(archive->in_mailboxes_db);
  CHECK_FALSE(archive->on_disk);
  const FolderSummary* stray = folder(r, "user.carl.Stray");
  REQUIRE(stray);
  CHECK_FALSE(stray->in_mailboxes_db);
  CHECK(stray->on_disk);
  CHECK(stray->messages == folder(r, "user.carl.Sent")->messages);

  const FolderSummary* inbox = folder(r, "user.carl");
  REQUIRE(inbox);
  CHECK(inbox->missing_files == 1);
  CHECK(inbox->orphan_files == 1);
  CHECK(has_finding(inbox->findings, "message_file_missing", first_message.filename().string()));
  CHECK(has_finding(inbox->findings, "orphan_message_file", "9999."));
  CHECK(r.totals.errors >= 2);
}
