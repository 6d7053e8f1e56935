#pragma once
// Where a report keeps its per-message entries (every message with a finding, every message
// not written unchanged). A store's findings grow with the store: kept in memory they took
// `audit --report` on a 100,000-message spool to 177 MB (58 MB without them). The engine moves each finished folder's (or
// range's) entries into this log, an unnamed scratch file, and the report writers read them back
// in order while they stream the report out. Memory holds one span handle per folder or range.
//
// Entries are stored exactly (length-prefixed bytes, not JSON): a detail that quotes a header
// keeps its bytes for the text report.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "writers/report_model.h"

namespace cyrconv {

class MessageLog {
 public:
  MessageLog() = default;
  ~MessageLog();
  MessageLog(const MessageLog&) = delete;
  MessageLog& operator=(const MessageLog&) = delete;

  // An unnamed file in `dir` (O_TMPFILE; a named file unlinked at once elsewhere). Returns "" or
  // what failed; a log that did not open keeps nothing (spill() then leaves entries in memory).
  std::string open(const std::filesystem::path& dir);
  bool is_open() const { return fd_ >= 0; }

  // Appends `pending` (then cleared) as one span at the end of `spans`. Safe from any thread.
  // When the log is not open or the write fails, `pending` stays as it is, so nothing is lost:
  // the report then holds those entries in memory. Returns false in that case.
  bool spill(std::vector<AuditMessage>& pending, std::vector<MessageLogSpan>& spans);

  // Calls `fn` for each entry of `span`, in order. Returns "" or what failed (a read error of
  // the scratch file: the report says so instead of silently missing entries).
  std::string read(const MessageLogSpan& span, const std::function<void(const AuditMessage&)>& fn) const;

 private:
  int fd_ = -1;
  std::filesystem::path dir_;
  std::mutex append_lock_;
  std::uint64_t end_ = 0;
};

// Every entry of a folder in order: the spilled spans first, then what is still in memory.
// A read failure of the log is returned ("" when none).
std::string for_each_message(const MessageLog* log, const std::vector<MessageLogSpan>& spans,
                             const std::vector<AuditMessage>& pending,
                             const std::function<void(const AuditMessage&)>& fn);

// The encoding, exposed for tests.
void encode_message(const AuditMessage& m, std::string& out);
bool decode_message(std::string_view bytes, AuditMessage& m);  // false: malformed

}  // namespace cyrconv
