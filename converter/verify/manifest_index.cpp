#include "converter/verify/manifest_index.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cyrconv::verify {

ManifestIndex::~ManifestIndex() {
  if (fd_ >= 0) ::close(fd_);
}

void ManifestIndex::index(const std::function<std::string(const std::function<void(std::string_view)>&)>& stream,
                          const std::function<void(std::size_t, const std::string&)>& bad_line) {
  std::string pending;
  std::uint64_t pos = 0;         // of the next byte streamed in
  std::uint64_t line_start = 0;  // of the line being gathered
  std::size_t line_no = 0;
  bool sorted = true;
  auto take_line = [&](std::string_view line) {
    ++line_no;
    if (line.empty()) return;
    std::string why;
    auto rec = parse_manifest_line(line, why);
    if (!rec) {
      bad_line(line_no, why);
      return;
    }
    // Keyed by the Cyrus UID: an incremental run may have numbered a message on in the target.
    if (!lines_.empty() && rec->source_uid < lines_.back().source_uid) sorted = false;
    lines_.push_back(Line{line_start, static_cast<std::uint32_t>(line.size()), rec->source_uid});
  };
  stream([&](std::string_view chunk) {
    std::size_t at = 0;
    while (at < chunk.size()) {
      const std::size_t eol = chunk.find('\n', at);
      if (eol == std::string_view::npos) {
        pending.append(chunk.substr(at));
        break;
      }
      if (pending.empty()) {
        take_line(chunk.substr(at, eol - at));
      } else {
        pending.append(chunk.substr(at, eol - at));
        take_line(pending);
        pending.clear();
      }
      at = eol + 1;
      line_start = pos + at;
    }
    pos += chunk.size();
  });
  if (!pending.empty()) take_line(pending);
  // Convert writes a folder's lines in UID order; any other order is sorted here.
  if (!sorted)
    std::stable_sort(lines_.begin(), lines_.end(), [](const Line& a, const Line& b) { return a.source_uid < b.source_uid; });
  lines_.shrink_to_fit();
}

std::string ManifestIndex::open(const std::filesystem::path& path) {
  path_ = path;
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  return fd_ >= 0 ? std::string() : path.string() + ": cannot open: " + std::strerror(errno);
}

ManifestRecord ManifestIndex::record(const Line& line) const {
  buffer_.resize(line.length);
  std::size_t done = 0;
  while (done < line.length) {
    const ssize_t n = fd_ < 0 ? -1 : ::pread(fd_, buffer_.data() + done, line.length - done,
                                             static_cast<off_t>(line.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(path_.string() + ": offset " + std::to_string(line.offset) +
                               ": the manifest line cannot be read again (changed during the run?)");
    done += static_cast<std::size_t>(n);
  }
  std::string why;
  auto rec = parse_manifest_line(buffer_, why);
  if (!rec)
    throw std::runtime_error(path_.string() + ": offset " + std::to_string(line.offset) +
                             ": the manifest line no longer parses (changed during the run?): " + why);
  return std::move(*rec);
}

}  // namespace cyrconv::verify
