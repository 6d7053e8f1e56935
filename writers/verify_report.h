#pragma once
// What `cyrconv verify` found, per user and folder, and its rendering (text summary and JSON;
// schema in README "cyrconv verify").
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "writers/report_model.h"

namespace cyrconv {

// Every source message ends in exactly one of verified, quarantined, listed_missing,
// skipped_deleted, not_converted, mismatched or lost.
struct VerifyCounts {
  std::uint64_t messages = 0;         // source messages (live records; orphans in recovery folders)
  std::uint64_t verified = 0;         // in the output, every check passed
  std::uint64_t quarantined = 0;      // manifest says quarantined and the quarantine file is there
  std::uint64_t listed_missing = 0;   // manifest says missing (no source file to convert)
  std::uint64_t skipped_deleted = 0;  // manifest says skipped_deleted
  std::uint64_t not_converted = 0;    // manifest says not_converted
  std::uint64_t mismatched = 0;       // in the output or the manifest, but some check failed
  std::uint64_t lost = 0;             // neither in the output nor listed in the manifest
  std::uint64_t extra = 0;            // output messages the source does not have (info)
  bool balanced() const {
    return messages == verified + quarantined + listed_missing + skipped_deleted + not_converted + mismatched + lost;
  }
};

struct VerifyFolder {
  std::string name;        // as the owner saw it in Cyrus
  std::string name_raw;    // Cyrus internal name (recovery folders: of the folder whose orphans they hold)
  std::string target;      // target path
  std::string output;      // Maildir folder directory or mbox file, relative to --out
  std::string manifest;    // relative to --out
  bool recovery = false;   // holds the orphan files of name_raw
  std::uint32_t uidvalidity = 0, uidnext = 0;  // what the source says
  VerifyCounts count;
  std::uint64_t bytes_read = 0;
  std::vector<Finding> findings;  // every mismatch (error), extra messages (info)
};

struct VerifyUser {
  std::string user;
  std::string output;
  std::vector<VerifyFolder> folders;
  std::vector<Finding> findings;
};

// verify's own walk of the source (converter/source/census.h): every regular "<UID>." file, however
// its mailbox's index and header look, and what became of it. files = converted + mismatched +
// expunged + left_out + not_verified + lost.
struct VerifyCensus {
  bool taken = false;
  std::uint64_t files = 0;
  std::uint64_t converted = 0;     // found in the output by content (written, repaired with the original kept,
                                   // quarantined, recovered), or listed as skipped_deleted / not_converted
  std::uint64_t mismatched = 0;    // in the output or listed, but a check failed (an error of its folder)
  std::uint64_t expunged = 0;      // an expunged record of a readable index (or cyrus.expunge) lists it
  std::uint64_t left_out = 0;      // in a folder the run was told to leave out (--users, deleted folders)
  std::uint64_t not_verified = 0;  // in a calendar or addressbook folder (exported, not compared)
  std::uint64_t lost = 0;          // none of these: each one is a lost_message_file error
  bool balanced() const { return files == converted + mismatched + expunged + left_out + not_verified + lost; }
};

struct VerifyReport {
  std::string tool_version;
  std::vector<std::string> inputs;
  std::string out, format, profile, eol;
  std::vector<Finding> findings;  // store-level
  std::vector<VerifyUser> users;
  VerifyCounts totals;
  VerifyCensus census;
  std::uint64_t folders = 0, errors = 0, warnings = 0, infos = 0, bytes_read = 0;
  double seconds = 0;
  bool fatal = false;  // nothing could be verified (no output found, names could not be planned)
  bool clean() const {
    return !fatal && errors == 0 && totals.mismatched == 0 && totals.lost == 0 && census.lost == 0 &&
           census.mismatched == 0 && census.balanced();
  }
};

// `verbose`: every folder; otherwise folders that are not simply verified, the rest summarised per user.
void write_verify_text(const VerifyReport& r, std::ostream& out, bool verbose = false);
std::string verify_report_json(const VerifyReport& r);

}  // namespace cyrconv
