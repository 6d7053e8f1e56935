#pragma once
// A folder's flag manifest for verify, without holding its records: one pass over the file
// checks every line and notes where each one is and which Cyrus UID it describes; the lines are
// parsed again when their message is checked. Memory: 16 bytes a line (issue 25), in Cyrus UID
// order, lines of one UID in file order.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "converter/verify/output_reader.h"

namespace cyrconv::verify {

class ManifestIndex {
 public:
  struct Line {
    std::uint64_t offset = 0;
    std::uint32_t length = 0;
    std::uint32_t source_uid = 0;
  };
  ManifestIndex() = default;
  ~ManifestIndex();
  ManifestIndex(const ManifestIndex&) = delete;
  ManifestIndex& operator=(const ManifestIndex&) = delete;

  // Indexes the lines streamed in by `stream` (the caller reads the file: its errors are its
  // own). `bad_line(line_no, why)` for each line that is not a manifest object, in file order.
  void index(const std::function<std::string(const std::function<void(std::string_view)>&)>& stream,
             const std::function<void(std::size_t, const std::string&)>& bad_line);
  // Opens `path` to read lines back (after index()). "" or what failed.
  std::string open(const std::filesystem::path& path);

  const std::vector<Line>& lines() const { return lines_; }  // by source UID, then file order
  // The line parsed again; throws std::runtime_error when it cannot be read or no longer parses.
  ManifestRecord record(const Line& line) const;

 private:
  std::vector<Line> lines_;
  std::filesystem::path path_;
  int fd_ = -1;
  mutable std::string buffer_;
};

}  // namespace cyrconv::verify
