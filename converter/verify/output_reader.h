#pragma once
// Reading back what convert wrote, for verify: dovecot-uidlist, dovecot-keywords, Maildir file
// names, manifest lines, and a streaming SHA-1 that can count every LF as CRLF. Pure parsing of
// bytes handed in; the caller reads the files (read-only) and reports what failed to parse.

#include <array>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/sha1.h"

namespace cyrconv {

struct ParsedUidlist {
  std::uint32_t version = 0, uidvalidity = 0, uidnext = 0;
  std::map<std::uint32_t, std::string> base_of_uid;  // uid -> file name up to ':'
  std::vector<std::string> errors;                   // "line 3: ..." (duplicates, bad lines)
};
ParsedUidlist parse_dovecot_uidlist(std::string_view text);
// One entry line, "<uid> [extension fields] :<base>"; nullopt when it is not one.
struct UidlistLine {
  std::uint32_t uid = 0;
  std::string_view base;
};
std::optional<UidlistLine> parse_uidlist_entry(std::string_view line);

// "<index> <keyword>" lines -> keyword of each letter (index 0 = 'a').
std::map<char, std::string> parse_dovecot_keywords(std::string_view text, std::vector<std::string>& errors);

// base,S=<size>,W=<vsize>:2,<flags>
struct MaildirName {
  std::string base;  // up to ':' (S= and W= included: what the uidlist holds)
  std::optional<std::uint64_t> size, vsize;
  bool has_info = false;
  std::string flags;  // after ":2,"
};
MaildirName parse_maildir_name(std::string_view file_name);

// A manifest line's "disposition" (strings stay at this parsing edge).
enum class Disposition : std::uint8_t { written, repaired, quarantined, missing, skipped_deleted, not_converted, unknown };
Disposition disposition_of(std::string_view text);

// One manifest line (README "Flag manifests").
struct ManifestRecord {
  std::uint32_t uid = 0;
  std::uint32_t source_uid = 0;  // the Cyrus UID: "source_uid" when given, else uid
  std::string source_file, output_file;
  std::optional<std::uint64_t> mbox_offset;
  std::vector<std::string> flags, keywords, changes;
  std::int64_t internaldate = 0;
  std::uint64_t size = 0;
  std::string sha1;  // hex
  std::string disposition, reason;
  Disposition kind = Disposition::unknown;  // of `disposition`
};
// nullopt with `error` set when the line is not a manifest object.
std::optional<ManifestRecord> parse_manifest_line(std::string_view line, std::string& error);

// SHA-1 over a stream, optionally with every LF turned into CRLF (what Cyrus stored, for
// output written with LF line ends). Also counts the bytes seen and Dovecot's W= (a LF not
// preceded by CR counts twice).
class Sha1Stream {
 public:
  Sha1Stream() = default;
  Sha1Stream(const Sha1Stream&) = delete;
  Sha1Stream& operator=(const Sha1Stream&) = delete;
  void reset(bool lf_to_crlf);
  void feed(std::string_view bytes);
  std::array<std::uint8_t, 20> finish();
  std::uint64_t size() const { return size_; }
  std::uint64_t vsize() const { return vsize_; }

 private:
  Sha1 sha_;
  bool lf_to_crlf_ = false;
  char last_ = 0;
  std::uint64_t size_ = 0, vsize_ = 0;
};

// Reads a gzip file (mbox --gzip output; concatenated members allowed) once, read-only, and hands
// the decompressed bytes to `sink` chunk by chunk. "" or "PATH: what went wrong".
std::string stream_gzip_file(const std::filesystem::path& path, std::span<char> buffer, std::uint64_t& bytes_read,
                             const std::function<void(std::string_view)>& sink);

}  // namespace cyrconv
