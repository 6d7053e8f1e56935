// scan on a copy of a real fixture with its tree disturbed: mailboxes.db and the spool
// disagree, a message file is missing, an orphan file appears, links and FIFOs sit in the spool.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include "converter/audit/audit.h"
#include "converter/audit/scan.h"
#include "parsers/bytes.h"
#include "parsers/cyrus_index.h"
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

namespace {

// Sets ARCHIVED on the first record of a v17 cyrus.index and re-seals its CRC, as Cyrus 3's
// archiving does (cyrus-on-disk.md 2.5, 2.8).
void mark_first_record_archived(const fs::path& index_path) {
  std::string bytes = test::read_file(index_path);
  REQUIRE(load_be32(bytes, 8) == 17);
  const std::size_t rec = load_be32(bytes, 12);
  auto put32 = [&](std::size_t off, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[off + i] = static_cast<char>(v >> (24 - 8 * i));
  };
  put32(rec + 32, load_be32(bytes, rec + 32) | sysflag::archived);
  put32(rec + 108, crc32_of(std::string_view(bytes).substr(rec, 108)));
  std::ofstream(index_path, std::ios::binary | std::ios::trunc) << bytes;
}

}  // namespace

TEST_CASE("scan finds ARCHIVED messages on the archive partition, and says so when it is not given") {
  test::TempDir tmp;
  const fs::path src = test::fixtures_dir() / "cyrus36-legacy";
  fs::copy(src / "spool", tmp.path / "spool", fs::copy_options::recursive);
  const fs::path carl = tmp.path / "spool" / "C" / "user" / "carl";
  const fs::path archive_carl = tmp.path / "archive" / "C" / "user" / "carl";
  mark_first_record_archived(carl / "cyrus.index");
  fs::create_directories(archive_carl);
  fs::rename(carl / "1.", archive_carl / "1.");

  SourceInputs in;
  in.partitions.emplace_back("default", tmp.path / "spool");
  ScanReport without = run_scan(in, ScanOptions{});
  const FolderSummary* inbox = folder(without, "user.carl");
  REQUIRE(inbox);
  CHECK(inbox->missing_files == 1);
  REQUIRE(!inbox->findings.empty());
  CHECK(inbox->findings[0].detail.find("--archive-partition") != std::string::npos);

  in.archive_partitions.emplace_back("default", tmp.path / "archive");
  ScanReport with = run_scan(in, ScanOptions{});
  inbox = folder(with, "user.carl");
  REQUIRE(inbox);
  CHECK(inbox->missing_files == 0);
  CHECK(inbox->orphan_files == 0);
  CHECK(with.totals.errors == 0);

  // audit reads the ARCHIVED message from the archive partition too.
  const AuditReport audit = run_audit(in, AuditOptions{});
  CHECK(audit.totals.missing == 0);
  CHECK(audit.totals.written + audit.totals.repaired == audit.totals.messages);
}
