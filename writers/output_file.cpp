#include "writers/output_file.h"

#include "writers/crash_test_point.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cyrconv {

namespace fs = std::filesystem;

namespace {
constexpr std::size_t buffer_size = 256 * 1024;
}

WriteStatus write_error(const fs::path& path, std::string_view what) {
  const int e = errno;
  return WriteStatus{false, path.string() + ": " + std::string(what) + ": " + std::strerror(e), e};
}

OutputFile::~OutputFile() { abort(); }

WriteStatus OutputFile::open(const fs::path& dir, std::string_view hint) {
  abort();
  tmp_path_ = dir / ("." + std::string(hint) + ".cyrconv-tmp");
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
  fd_ = ::open(tmp_path_.c_str(), flags, 0600);
  if (fd_ < 0 && errno == EEXIST) {
    // A leftover from a killed run is ours to replace: temporary names are never final names.
    ::unlink(tmp_path_.c_str());
    fd_ = ::open(tmp_path_.c_str(), flags, 0600);
  }
  if (fd_ < 0) return write_error(tmp_path_, "cannot create");
  if (buffer_.size() != buffer_size) buffer_.resize(buffer_size);
  used_ = 0;
  written_ = 0;
  return {};
}

WriteStatus OutputFile::flush() {
  std::size_t off = 0;
  while (off < used_) {
    const ssize_t n = ::write(fd_, buffer_.data() + off, used_ - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(tmp_path_, "write");
    }
    off += static_cast<std::size_t>(n);
  }
  used_ = 0;
  return {};
}

WriteStatus OutputFile::write(std::string_view bytes) {
  // Never opened, or its open failed: an error, not a loop over a buffer of size 0.
  if (fd_ < 0) {
    errno = EBADF;
    return write_error(tmp_path_.empty() ? fs::path("(output file)") : tmp_path_, "write to a file that is not open");
  }
  written_ += bytes.size();
  while (!bytes.empty()) {
    const std::size_t n = std::min(bytes.size(), buffer_.size() - used_);
    std::memcpy(buffer_.data() + used_, bytes.data(), n);
    used_ += n;
    bytes.remove_prefix(n);
    if (used_ == buffer_.size())
      if (auto st = flush(); !st) return st;
  }
  return {};
}

WriteStatus OutputFile::rewind_to(std::uint64_t mark) {
  if (mark >= written_) return {};
  const std::uint64_t on_disk = written_ - used_;
  if (mark >= on_disk) {
    used_ = static_cast<std::size_t>(mark - on_disk);
  } else {
    used_ = 0;
    if (::ftruncate(fd_, static_cast<off_t>(mark)) != 0 || ::lseek(fd_, static_cast<off_t>(mark), SEEK_SET) < 0)
      return write_error(tmp_path_, "truncate");
  }
  written_ = mark;
  return {};
}

WriteStatus OutputFile::commit(const fs::path& final_path, std::int64_t mtime_seconds, bool sync,
                               OnExisting existing) {
  kept_existing_ = false;
  if (auto st = flush(); !st) return st;
  if (sync && ::fsync(fd_) != 0) return write_error(tmp_path_, "fsync");
  if (mtime_seconds >= 0) {
    const timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
    if (::futimens(fd_, times) != 0) return write_error(tmp_path_, "set mtime");
  }
  if (::close(fd_) != 0) {
    fd_ = -1;
    return write_error(tmp_path_, "close");
  }
  fd_ = -1;
  if (existing == OnExisting::replace) {
    if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) return write_error(final_path, "rename");
  } else if (::link(tmp_path_.c_str(), final_path.c_str()) != 0) {
    // link() fails with EEXIST instead of replacing: a file already there is never clobbered.
    if (errno != EEXIST || existing != OnExisting::keep_identical) return write_error(final_path, "link");
    if (!same_file_content(tmp_path_, final_path)) {
      errno = EEXIST;
      return write_error(final_path, "already there with other content (not ours to replace)");
    }
    kept_existing_ = true;
    ::unlink(tmp_path_.c_str());
  } else {
    ::unlink(tmp_path_.c_str());
  }
  tmp_path_.clear();
  crash_test_point();
  return {};
}

bool same_file_content(const fs::path& a, const fs::path& b) {
  const int fa = ::open(a.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  const int fb = ::open(b.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  bool same = fa >= 0 && fb >= 0;
  struct stat sa {}, sb {};
  if (same) same = ::fstat(fa, &sa) == 0 && ::fstat(fb, &sb) == 0 && S_ISREG(sb.st_mode) && sa.st_size == sb.st_size;
  std::vector<char> x(64 * 1024), y(64 * 1024);
  while (same) {
    const ssize_t n = ::read(fa, x.data(), x.size());
    if (n <= 0) {
      same = n == 0;
      break;
    }
    std::size_t got = 0;
    while (got < static_cast<std::size_t>(n)) {
      const ssize_t m = ::read(fb, y.data() + got, static_cast<std::size_t>(n) - got);
      if (m <= 0) break;
      got += static_cast<std::size_t>(m);
    }
    same = got == static_cast<std::size_t>(n) && std::memcmp(x.data(), y.data(), got) == 0;
  }
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

void OutputFile::abort() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (!tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  tmp_path_.clear();
}

WriteStatus write_small_file(const fs::path& path, std::string_view content, bool sync) {
  // A re-run that has nothing new to say leaves the file (and its mtime) as it is.
  if (const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW); fd >= 0) {
    std::string existing(content.size() + 1, '\0');
    std::size_t got = 0;
    for (ssize_t n; got < existing.size() && (n = ::read(fd, existing.data() + got, existing.size() - got)) > 0;)
      got += static_cast<std::size_t>(n);
    ::close(fd);
    if (got == content.size() && std::memcmp(existing.data(), content.data(), got) == 0) return {};
  }
  OutputFile f;
  if (auto st = f.open(path.parent_path(), path.filename().string()); !st) return st;
  if (auto st = f.write(content); !st) return st;
  return f.commit(path, -1, sync, OutputFile::OnExisting::replace);
}

WriteStatus make_directories(const fs::path& dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::lstat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return {};
    errno = ENOTDIR;
    return write_error(dir, "not a directory");
  }
  if (auto parent = make_directories(dir.parent_path()); !parent) return parent;
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return write_error(dir, "mkdir");
  return {};
}

WriteStatus sync_directory(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return write_error(dir, "open directory");
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return write_error(dir, "fsync directory");
  return {};
}

}  // namespace cyrconv
