#pragma once
// Where `report merge` keeps the shards' per-message entries while it works on the rest of their
// reports: an unnamed scratch file (as writers/message_log.h does for convert), or memory where
// none can be made. A store's entries grow with it; the rest of a report grows only with its
// users and folders. Each folder's entries are one span, read back in order one entry at a time.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

struct ReportEntrySpan {
  std::uint64_t offset = 0, bytes = 0, count = 0;
  bool sorted = true;  // UIDs never go down (a split folder's parts are then merged, not sorted whole)
  std::uint64_t last_uid = 0;
  std::uint64_t errors = 0, warnings = 0;  // of the entries' findings
  std::string malformed;  // an entry is not a convert report's (the first such, as nlohmann said)
};

class ReportEntrySpill {
 public:
  ReportEntrySpill() = default;
  ~ReportEntrySpill();
  ReportEntrySpill(const ReportEntrySpill&) = delete;
  ReportEntrySpill& operator=(const ReportEntrySpill&) = delete;

  // An unnamed file in `dir`; "" or what failed (the entries then stay in memory).
  std::string open(const std::filesystem::path& dir);

  std::size_t new_span();  // its number
  std::size_t span_count() const { return spans_.size(); }
  ReportEntrySpan& span(std::size_t i) { return spans_[i]; }
  const ReportEntrySpan& span(std::size_t i) const { return spans_[i]; }
  // One entry (its JSON text) at the end of span `i`, the last span made. "" or what failed.
  std::string append(std::size_t i, std::uint64_t uid, std::string_view json);
  // Everything appended is in the file (before reading). "" or what failed.
  std::string flush();

  // The entries of one span in order.
  class Reader {
   public:
    Reader(const ReportEntrySpill& spill, std::size_t span);
    // false at the end or on a read failure (then error() says what).
    bool next();
    std::uint64_t uid() const { return uid_; }
    std::string_view json() const { return json_; }
    const std::string& error() const { return error_; }

   private:
    bool fill(std::size_t need);
    const ReportEntrySpill& spill_;
    std::uint64_t at_, end_;
    std::string buf_;
    std::size_t pos_ = 0;
    std::uint64_t uid_ = 0;
    std::string json_;
    std::string error_;
  };

 private:
  std::string read_at(std::uint64_t offset, std::size_t n, char* to) const;
  int fd_ = -1;
  std::filesystem::path dir_;
  std::string pending_;         // appended, not yet in the file (all of it without a file)
  std::uint64_t flushed_ = 0;   // bytes in the file
  std::vector<ReportEntrySpan> spans_;
};

}  // namespace cyrconv
