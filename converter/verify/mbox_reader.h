#pragma once
// Streaming reader of an mboxrd folder file as convert writes it (README "mbox details"), for
// verify: splits at From_ lines, takes out the metadata fields convert added (X-IMAPbase, X-UID,
// Status, X-Status, X-Keywords), and undoes every other documented change while hashing: the
// X-Cyrconv-Orig- renames, the mboxrd quoting and LF line ends (back to CRLF). The caller learns
// from the manifest whether a final line end was added, so both digests are kept. Memory is
// bounded: a line prefix and the metadata lines are held, never a message.
#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/sha1.h"

namespace cyrconv {

struct MboxMessage {
  std::uint64_t offset = 0;  // of the From_ line in the file
  std::string from_line;     // without its LF
  std::optional<std::uint32_t> uid;  // X-UID
  std::optional<std::string> status, x_status, keywords, imapbase;  // field values
  std::uint64_t quoted_lines = 0;     // lines that had one '>' taken off
  std::uint64_t renamed_headers = 0;  // X-Cyrconv-Orig- prefixes taken off
  // SHA-1 and size of the message with CRLF line ends, as the source had it; the second pair
  // also drops the line end convert adds to a last line that lacked one.
  std::array<std::uint8_t, 20> sha1{}, sha1_without_added_eol{};
  std::uint64_t size = 0, size_without_added_eol = 0;
  bool separator_missing = false;     // not followed by the empty line mbox needs
  std::vector<std::string> problems;  // duplicate metadata field, over-long metadata line
};

class MboxReader {
 public:
  explicit MboxReader(std::function<void(MboxMessage&&)> sink);
  MboxReader(const MboxReader&) = delete;
  MboxReader& operator=(const MboxReader&) = delete;

  void feed(std::string_view chunk);
  void finish();
  const std::vector<std::string>& errors() const { return errors_; }  // file-level problems

 private:
  enum class LineKind { undecided, pass, from_line, metadata, skip };
  void on_byte(char c);
  void decide(bool complete_line);
  void end_line();
  void emit(std::string_view s);
  void flush_eols();
  void start_message();
  void finish_message();
  void take_metadata();

  std::function<void(MboxMessage&&)> sink_;
  Sha1 sha_;
  std::vector<std::string> errors_;
  std::uint64_t pos_ = 0, line_start_ = 0;
  LineKind kind_ = LineKind::undecided;
  std::uint64_t gt_ = 0;     // leading '>' of the current line, while undecided
  std::string prefix_;       // the next bytes, while undecided
  std::string held_;         // a From_ or metadata line
  bool in_message_ = false, in_header_ = false, stray_reported_ = false;
  std::uint64_t pending_eols_ = 0;
  std::uint64_t size_ = 0;
  MboxMessage msg_;
};

}  // namespace cyrconv
