#include "converter/convert/earlier_manifest.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace cyrconv {

struct EarlierManifest::Store {
  std::filesystem::path path;
  int fd = -1;
  std::vector<std::uint64_t> offset;  // of each non-empty line
  std::vector<std::uint32_t> length;  // without its line end
  std::vector<std::uint32_t> source_uid;
  ~Store() {
    if (fd >= 0) ::close(fd);
  }
};

std::size_t EarlierManifest::count(const Store* s) { return s ? s->offset.size() : 0; }

std::uint32_t EarlierManifest::source_uid(std::size_t k) const { return lines.store_->source_uid.at(k); }

std::string EarlierManifest::line_at(const Store& s, std::size_t k) {
  std::string line(s.length.at(k), '\0');
  std::size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::pread(s.fd, line.data() + done, line.size() - done, static_cast<off_t>(s.offset[k] + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(s.path.string() + ": read again at offset " + std::to_string(s.offset[k]) + ": " +
                               (n < 0 ? std::strerror(errno) : "the file is shorter than when it was first read"));
    done += static_cast<std::size_t>(n);
  }
  return line;
}

ManifestRecord EarlierManifest::record_at(const Store& s, std::size_t k) {
  std::string error;
  auto rec = parse_manifest_line(line_at(s, k), error);
  if (!rec)  // it parsed when first read, and the open file is the one read then
    throw std::runtime_error(s.path.string() + ": line read again at offset " + std::to_string(s.offset[k]) +
                             " no longer parses: " + error);
  return std::move(*rec);
}

EarlierManifest read_earlier_manifest(const std::filesystem::path& path) {
  EarlierManifest m;
  auto store = std::make_shared<EarlierManifest::Store>();
  store->path = path;
  store->fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (store->fd < 0) {
    m.error = errno == ENOENT ? path.string() + ": missing, but the journal says the folder was converted"
                              : path.string() + ": cannot open: " + std::strerror(errno);
    return m;
  }
  m.lines.store_ = store;
  m.records.store_ = store;
  // Read in chunks; each complete line checked as it comes, only its place kept.
  std::string line;
  std::uint64_t at = 0, line_start = 0;
  std::size_t line_no = 0;
  std::string error;
  auto finish_line = [&]() {
    ++line_no;
    if (line.empty()) return true;
    const auto rec = parse_manifest_line(line, error);
    if (!rec) {
      m.error = path.string() + ": line " + std::to_string(line_no) + ": " + error;
      return false;
    }
    if (line.size() > UINT32_MAX) {
      m.error = path.string() + ": line " + std::to_string(line_no) + ": longer than 4 GiB";
      return false;
    }
    store->offset.push_back(line_start);
    store->length.push_back(static_cast<std::uint32_t>(line.size()));
    store->source_uid.push_back(rec->source_uid);
    return true;
  };
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(store->fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      m.error = path.string() + ": read: " + std::strerror(errno);
      return m;
    }
    if (n == 0) break;
    for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i, ++at) {
      if (buf[i] != '\n') {
        line.push_back(buf[i]);
        continue;
      }
      if (!finish_line()) return m;
      line.clear();
      line_start = at + 1;
    }
  }
  if (!line.empty() && !finish_line()) return m;
  return m;
}

}  // namespace cyrconv
