#pragma once
// Flag manifests: one JSON line per source message of a folder, enough to re-apply flags on
// any target (IMAP STORE, zmmailbox). Schema in README "Flag manifests".
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

// What became of a source message; the strings are the manifests' words.
enum class MessageDisposition : std::uint8_t { written, repaired, quarantined, missing, skipped_deleted, not_converted };
const char* to_string(MessageDisposition d);
std::optional<MessageDisposition> parse_message_disposition(std::string_view s);
inline bool in_output(MessageDisposition d) {  // a message the output holds
  return d == MessageDisposition::written || d == MessageDisposition::repaired;
}

struct ManifestEntry {
  std::uint32_t uid = 0;                 // the UID in the target folder
  std::uint32_t source_uid = 0;          // the UID in Cyrus, when it differs (0: same as uid)
  std::string source_file;
  std::string output_file;               // relative to the user's output root; "" when not written
  std::uint64_t mbox_offset = 0;         // mbox: byte offset of the From_ line
  std::vector<std::string> flags;        // IMAP system flags: \Seen \Answered \Flagged \Deleted \Draft
  std::vector<std::string> keywords;     // every keyword, also those beyond Maildir's 26 letters
  std::int64_t internaldate = 0;
  // Set only for a message rebuilt without an index: where INTERNALDATE came from
  // ("received", "date" or "mtime").
  std::string internaldate_source;
  std::uint64_t size = 0;                // source size (RFC822.SIZE Cyrus served)
  std::array<std::uint8_t, 20> sha1{};   // of the source file's bytes
  bool sha1_known = false;               // false: the file was not read (missing, duplicate record)
  MessageDisposition disposition = MessageDisposition::not_converted;
  std::vector<std::string> changes;      // repaired: each change made
  std::string reason;                    // quarantined: why
};

// One JSON object + '\n', written directly (no JSON object per message); bytes as nlohmann's
// dump() with invalid UTF-8 replaced by U+FFFD, which earlier versions used and readers expect.
std::string manifest_line(const ManifestEntry& e, bool mbox);
void append_manifest_line(std::string& out, const ManifestEntry& e, bool mbox);  // into a reused buffer
// The same line with its "mbox_offset" raised by `delta` (unchanged when it has none): lines of a
// folder's later UID range are written against the range's own mbox segment, then moved to where
// the segment lands in the folder's file.
std::string manifest_line_shifted(std::string_view line, std::uint64_t delta);
// The mbox offset a manifest line carries, if any (a message written to an mbox).
std::optional<std::uint64_t> manifest_line_mbox_offset(std::string_view line);

}  // namespace cyrconv
