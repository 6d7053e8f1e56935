#include "writers/output_file.h"

#include "writers/crash_test_point.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace cyrconv {

namespace fs = std::filesystem;

namespace {
constexpr std::size_t buffer_size = 256 * 1024;
std::atomic<bool> use_tmpfile{true};
// Whether linkat(fd, "", AT_EMPTY_PATH) links our unnamed files: Linux 6.10 and later allow it
// to the process that opened the file; before, only with CAP_DAC_READ_SEARCH. 0: not known yet,
// 1: it does, 2: it does not (the /proc/self/fd path, which costs a path walk per file).
std::atomic<int> empty_path_link{0};

// Whether the file behind `fa` (read from offset 0 with pread) holds the same bytes as `fb`.
bool same_content(int fa, int fb) {
  struct stat sa {}, sb {};
  if (::fstat(fa, &sa) != 0 || ::fstat(fb, &sb) != 0 || !S_ISREG(sb.st_mode) || sa.st_size != sb.st_size) return false;
  std::vector<char> x(64 * 1024), y(64 * 1024);
  off_t off = 0;
  for (;;) {
    const ssize_t n = ::pread(fa, x.data(), x.size(), off);
    if (n <= 0) return n == 0;
    std::size_t got = 0;
    while (got < static_cast<std::size_t>(n)) {
      const ssize_t m = ::pread(fb, y.data() + got, static_cast<std::size_t>(n) - got, off + static_cast<off_t>(got));
      if (m <= 0) return false;
      got += static_cast<std::size_t>(m);
    }
    if (std::memcmp(x.data(), y.data(), got) != 0) return false;
    off += n;
  }
}
}  // namespace

void set_output_file_tmpfile_for_test(bool enabled) { use_tmpfile.store(enabled, std::memory_order_relaxed); }

WriteStatus write_error(const fs::path& path, std::string_view what) {
  const int e = errno;
  return WriteStatus{false, path.string() + ": " + std::string(what) + ": " + std::strerror(e), e};
}

OutputFile::~OutputFile() { abort(); }

WriteStatus OutputFile::open(const fs::path& dir, std::string_view hint) {
  abort();
  if (use_tmpfile.load(std::memory_order_relaxed)) {
    // O_RDWR, not O_WRONLY: keep_identical compares through this descriptor.
    fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      unnamed_ = true;
      where_ = dir / std::string(hint);
    } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
      return write_error(dir, "cannot create a file in");
    }
    // Otherwise the file system (or an old kernel) has no O_TMPFILE: a named temporary file.
  }
  if (fd_ < 0) {
    tmp_path_ = dir / ("." + std::string(hint) + ".cyrconv-tmp");
    where_ = tmp_path_;
    const int flags = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
    fd_ = ::open(tmp_path_.c_str(), flags, 0600);
    if (fd_ < 0 && errno == EEXIST) {
      // A leftover from a killed run is ours to replace: temporary names are never final names.
      ::unlink(tmp_path_.c_str());
      fd_ = ::open(tmp_path_.c_str(), flags, 0600);
    }
    if (fd_ < 0) {
      const WriteStatus st = write_error(tmp_path_, "cannot create");
      tmp_path_.clear();
      return st;
    }
  }
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
      return write_error(where_, "write");
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
  if (buffer_.size() != buffer_size) buffer_.resize(buffer_size);  // parked
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

WriteStatus OutputFile::park() {
  if (fd_ < 0) return {};
  if (auto st = flush(); !st) return st;
  std::vector<char>().swap(buffer_);
  return {};
}

WriteStatus OutputFile::read_back(std::span<char> buffer, const std::function<WriteStatus(std::string_view)>& sink) {
  if (fd_ < 0) return written_ ? WriteStatus{false, where_.string() + ": read back a file that is not open"} : WriteStatus{};
  if (auto st = flush(); !st) return st;
  std::uint64_t offset = 0;
  while (offset < written_) {
    const ssize_t n = ::pread(fd_, buffer.data(), std::min<std::uint64_t>(buffer.size(), written_ - offset),
                              static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return write_error(where_, "read back");
    }
    if (n == 0) return WriteStatus{false, where_.string() + ": shorter than written"};
    if (auto st = sink(std::string_view(buffer.data(), static_cast<std::size_t>(n))); !st) return st;
    offset += static_cast<std::uint64_t>(n);
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
      return write_error(where_, "truncate");
  }
  written_ = mark;
  return {};
}

// Gives the unnamed file the name `to`; fails with EEXIST when `to` exists (never replaces).
WriteStatus OutputFile::link_unnamed(const fs::path& to) {
  const int how = empty_path_link.load(std::memory_order_relaxed);
  if (how != 2) {
    if (::linkat(fd_, "", AT_FDCWD, to.c_str(), AT_EMPTY_PATH) == 0) {
      if (how == 0) empty_path_link.store(1, std::memory_order_relaxed);
      return {};
    }
    // EEXIST and the like are the answer; a refusal of the descriptor form (ENOENT, EPERM) is
    // not known to be one until the /proc form has been tried.
    if (how == 1 || (errno != ENOENT && errno != EPERM)) return write_error(to, "link");
  }
  const std::string proc = "/proc/self/fd/" + std::to_string(fd_);
  if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, to.c_str(), AT_SYMLINK_FOLLOW) == 0) {
    if (how == 0) empty_path_link.store(2, std::memory_order_relaxed);
    return {};
  }
  return write_error(to, "link");
}

WriteStatus OutputFile::commit(const fs::path& final_path, std::int64_t mtime_seconds, bool sync,
                               OnExisting existing) {
  kept_existing_ = false;
  if (auto st = flush(); !st) return st;
  if (sync && ::fsync(fd_) != 0) return write_error(where_, "fsync");
  if (mtime_seconds >= 0) {
    const timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
    if (::futimens(fd_, times) != 0) return write_error(where_, "set mtime");
  }
  if (unnamed_ && existing == OnExisting::replace) {
    // linkat cannot replace: name the file first, then rename over the old one (atomic).
    tmp_path_ = final_path.parent_path() / ("." + final_path.filename().string() + ".cyrconv-tmp");
    WriteStatus st = link_unnamed(tmp_path_);
    if (!st && st.error == EEXIST) {
      ::unlink(tmp_path_.c_str());  // a leftover temporary name: ours
      st = link_unnamed(tmp_path_);
    }
    if (!st) {
      tmp_path_.clear();
      return st;
    }
    unnamed_ = false;
  }
  if (unnamed_) {
    // linkat() fails with EEXIST instead of replacing: a file already there is never clobbered.
    if (auto st = link_unnamed(final_path); !st) {
      if (st.error != EEXIST || existing != OnExisting::keep_identical) return st;
      const int there = ::open(final_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      const bool same = there >= 0 && same_content(fd_, there);
      if (there >= 0) ::close(there);
      if (!same) {
        errno = EEXIST;
        return write_error(final_path, "already there with other content (not ours to replace)");
      }
      kept_existing_ = true;
    }
    const bool closed = ::close(fd_) == 0;
    fd_ = -1;
    unnamed_ = false;
    if (!closed) return write_error(final_path, "close");
    crash_test_point();
    return {};
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
  struct stat sa {};
  const bool same = fa >= 0 && fb >= 0 && ::fstat(fa, &sa) == 0 && S_ISREG(sa.st_mode) && same_content(fa, fb);
  if (fa >= 0) ::close(fa);
  if (fb >= 0) ::close(fb);
  return same;
}

void OutputFile::abort() {
  if (fd_ >= 0) ::close(fd_);  // an unnamed file is gone with its last descriptor
  fd_ = -1;
  unnamed_ = false;
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
