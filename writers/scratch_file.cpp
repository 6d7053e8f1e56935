#include "writers/scratch_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace cyrconv {

namespace {
constexpr std::size_t buffer_size = 256 * 1024;
}

ScratchFile::~ScratchFile() {
  if (fd_ >= 0) ::close(fd_);
}

WriteStatus ScratchFile::open(const std::filesystem::path& dir) {
  dir_ = dir;
  buffer_.resize(buffer_size);
#ifdef O_TMPFILE
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd_ < 0) {
    // File systems without O_TMPFILE: a named file, unlinked at once.
    for (int i = 0; i < 1000 && fd_ < 0; ++i) {
      const std::filesystem::path p = dir / (".scratch-" + std::to_string(::getpid()) + "-" + std::to_string(i) + ".cyrconv-tmp");
      fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd_ >= 0) ::unlink(p.c_str());
      else if (errno != EEXIST) break;
    }
  }
  if (fd_ < 0) return write_error(dir, "create a scratch file in");
  return {};
}

WriteStatus ScratchFile::flush() {
  std::size_t done = 0;
  while (done < used_) {
    const ssize_t n = ::write(fd_, buffer_.data() + done, used_ - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(dir_, "write a scratch file in");
    }
    done += static_cast<std::size_t>(n);
  }
  on_disk_ += used_;
  used_ = 0;
  return {};
}

WriteStatus ScratchFile::clear() {
  used_ = 0;
  size_ = 0;
  if (on_disk_ == 0) return {};
  on_disk_ = 0;
  if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) return write_error(dir_, "truncate a scratch file in");
  return {};
}

WriteStatus ScratchFile::park() {
  if (auto st = flush(); !st) return st;
  std::vector<char>().swap(buffer_);
  return {};
}

std::span<char> ScratchFile::space(WriteStatus& st) {
  if (buffer_.empty()) buffer_.resize(buffer_size);  // parked
  if (used_ == buffer_.size()) st = flush();
  if (!st) return {};
  return std::span<char>(buffer_.data() + used_, buffer_.size() - used_);
}

WriteStatus ScratchFile::write(std::string_view bytes) {
  if (in_place(bytes) && bytes.size() <= buffer_.size() - used_) {
    added(bytes.size());
    return {};
  }
  if (buffer_.empty()) buffer_.resize(buffer_size);  // parked
  size_ += bytes.size();
  while (!bytes.empty()) {
    if (used_ == buffer_.size())
      if (auto st = flush(); !st) return st;
    const std::size_t n = std::min(bytes.size(), buffer_.size() - used_);
    std::memcpy(buffer_.data() + used_, bytes.data(), n);
    used_ += n;
    bytes.remove_prefix(n);
  }
  return {};
}

WriteStatus ScratchFile::read_all(std::span<char> buffer, const std::function<WriteStatus(std::string_view)>& sink) {
  // A message that fits the buffer never touched the disk: hand the buffer over directly.
  if (on_disk_ == 0) return used_ ? sink(std::string_view(buffer_.data(), used_)) : WriteStatus{};
  if (auto st = flush(); !st) return st;
  std::uint64_t offset = 0;
  while (offset < size_) {
    const ssize_t n = ::pread(fd_, buffer.data(), std::min<std::uint64_t>(buffer.size(), size_ - offset),
                              static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(dir_, "read back a scratch file in");
    }
    if (n == 0) return WriteStatus{false, dir_.string() + ": scratch file shorter than written"};
    if (auto st = sink(std::string_view(buffer.data(), static_cast<std::size_t>(n))); !st) return st;
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace cyrconv
