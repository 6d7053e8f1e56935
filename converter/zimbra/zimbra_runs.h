#pragma once
// Incremental Zimbra archives (docs/zimbra.md "Re-runs"): a run on a newer snapshot of a user
// whose archive exists writes `zimbra-000N.tgz` holding only the messages no earlier archive
// holds, found in the folder manifests, and records every archive in `zimbra-archives.tsv`.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "converter/convert/earlier_manifest.h"
#include "converter/verify/output_reader.h"
#include "parsers/cyrus_index.h"

namespace cyrconv {

struct ZimbraRun {
  unsigned number = 1;
  std::string archive, flags;  // file names in the user's directory
  std::uint64_t entries = 0;   // messages the archive holds
  std::string fingerprint;     // of the snapshot it completes (journal/zimbra.done's value)
  unsigned parts = 1;          // its archive's parts (docs/zimbra.md "Archives in parts")
};

std::string zimbra_archive_name(unsigned run);  // 1: zimbra.tgz, N: zimbra-000N.tgz
// Part 1 is the run's archive name; part K >= 2 of run N: zimbra-000N-part00K.tgz (run 1 too:
// zimbra-0001-part002.tgz).
std::string zimbra_part_name(unsigned run, unsigned part);
// Every part of a run's archive, in import order.
std::vector<std::string> zimbra_run_archives(const ZimbraRun& run);
std::string zimbra_flags_name(unsigned run);    // 1: zimbra-flags.zmm, N: zimbra-flags-000N.zmm
// The read-back rows of the flags file: 1: zimbra-flags-check.tsv, N: zimbra-flags-check-000N.tsv
std::string zimbra_flag_check_name(unsigned run);
inline constexpr const char* zimbra_runs_file = "zimbra-archives.tsv";

// The archives recorded in `root`, oldest first. A directory written before the record existed
// (journal/zimbra.done and zimbra.tgz only) counts as run 1. `error` when the record is unreadable.
std::vector<ZimbraRun> read_zimbra_runs(const std::filesystem::path& root, std::string& error);
std::string zimbra_runs_text(const std::vector<ZimbraRun>& runs);

// A folder's messages earlier runs dealt with, by target UID: where their manifest lines are
// (8 bytes a message; the line and its record are read again from the open manifest on
// access, converter/convert/earlier_manifest.h). Lines that name an archive no run records (a
// run killed before its archive was recorded) are not earlier: their messages are written again.
struct EarlierZimbraFolder {
  struct Held {
    std::uint32_t uid = 0;
    std::uint32_t line = 0;  // in `manifest`
  };
  std::vector<Held> held;  // by UID, one per UID (the manifest's last line for it)
  EarlierManifest manifest;
  std::uint64_t in_archives = 0;  // of them, written or repaired into a recorded archive
  std::string error;
  // The index into `held` of `uid`, or held.size().
  std::size_t find(std::uint32_t uid) const;
  std::string line(std::size_t k) const { return manifest.lines[held[k].line]; }
  ManifestRecord record(std::size_t k) const { return manifest.records[held[k].line]; }
};
EarlierZimbraFolder read_earlier_zimbra_folder(const std::filesystem::path& manifest, const std::vector<ZimbraRun>& runs);

// Whether the message an earlier run recorded is this one: the index's GUID (SHA-1 of the file)
// against the recorded SHA-1 when both exist, else size and INTERNALDATE; for an orphan file
// (no record), its path. A UID Cyrus gave to another message (UIDVALIDITY changed) is not.
bool same_zimbra_message(const ManifestRecord& earlier, const IndexRecord* record, const std::string& source_file);

}  // namespace cyrconv
