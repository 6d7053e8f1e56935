#include "converter/source/source_io.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cyrconv {

MappedFile::MappedFile(MappedFile&& o) noexcept : data_(o.data_), size_(o.size_), mapped_(o.mapped_) {
  o.data_ = nullptr;
  o.size_ = 0;
  o.mapped_ = false;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    this->~MappedFile();
    data_ = o.data_;
    size_ = o.size_;
    mapped_ = o.mapped_;
    o.data_ = nullptr;
    o.size_ = 0;
    o.mapped_ = false;
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (mapped_) munmap(const_cast<char*>(data_), size_);
}

namespace {

int open_source(const std::filesystem::path& path) {
  const int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
  // O_NOATIME is refused (EPERM) on files the caller does not own; fall back without it.
  int fd = ::open(path.c_str(), flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(path.c_str(), flags);
  return fd;
}

}  // namespace

SourceOpen SourceOpen::map(const std::filesystem::path& path) {
  SourceOpen r;
  const int fd = open_source(path);
  if (fd < 0) {
    const int err = errno;
    r.status = err == ENOENT ? Status::missing : (err == ELOOP ? Status::not_regular : Status::error);
    r.message = path.string() + ": " + (err == ELOOP ? "is a symbolic link (not followed)" : std::strerror(err));
    return r;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    r.status = Status::not_regular;
    r.message = path.string() + ": not a regular file";
    ::close(fd);
    return r;
  }
  r.status = Status::ok;
  if (st.st_size > 0) {
    void* p = mmap(nullptr, static_cast<std::size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      r.status = Status::error;
      r.message = path.string() + ": mmap: " + std::strerror(errno);
    } else {
      r.file.data_ = static_cast<const char*>(p);
      r.file.size_ = static_cast<std::size_t>(st.st_size);
      r.file.mapped_ = true;
    }
  }
  ::close(fd);
  return r;
}

int open_source_stream(const std::filesystem::path& path, SourceStream& r) {
  const int fd = open_source(path);
  if (fd < 0) {
    const int err = errno;
    r.status = err == ENOENT ? SourceOpen::Status::missing
                             : (err == ELOOP ? SourceOpen::Status::not_regular : SourceOpen::Status::error);
    r.message = path.string() + ": " + (err == ELOOP ? "is a symbolic link (not followed)" : std::strerror(err));
    return -1;
  }
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    r.status = SourceOpen::Status::not_regular;
    r.message = path.string() + ": not a regular file";
    ::close(fd);
    return -1;
  }
  // Read-ahead hints matter only past the kernel's own first window; a small file would pay a
  // system call for nothing (most message files are a few KB).
  if (st.st_size > 256 * 1024) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  r.status = SourceOpen::Status::ok;
  r.expected = static_cast<std::uint64_t>(st.st_size);
  return fd;
}

void read_source_rest(int fd, const std::filesystem::path& path, const ReadSpace& next,
                      const std::function<void(std::string_view)>& sink, SourceStream& r) {
  for (;;) {
    const std::span<char> buffer = next();
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      r.status = SourceOpen::Status::error;
      r.message = path.string() + ": read error at offset " + std::to_string(r.bytes) + ": " + std::strerror(errno);
      break;
    }
    if (n == 0) break;
    sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    r.bytes += static_cast<std::uint64_t>(n);
    // A short read that brings the file to its size is its end: the read() that would return 0
    // is skipped (one system call a message file). A file grown since is still read to its end.
    if (static_cast<std::size_t>(n) < buffer.size() && r.bytes >= r.expected) break;
  }
  ::close(fd);
}

void read_source_rest(int fd, const std::filesystem::path& path, std::span<char> buffer,
                      const std::function<void(std::string_view)>& sink, SourceStream& r) {
  read_source_rest(fd, path, ReadSpace([buffer] { return buffer; }), sink, r);
}

SourceStream stream_source_file(const std::filesystem::path& path, const ReadSpace& next,
                                const std::function<void(std::string_view)>& sink) {
  SourceStream r;
  const int fd = open_source_stream(path, r);
  if (fd >= 0) read_source_rest(fd, path, next, sink, r);
  return r;
}

SourceStream stream_source_file(const std::filesystem::path& path, std::span<char> buffer,
                                const std::function<void(std::string_view)>& sink) {
  return stream_source_file(path, ReadSpace([buffer] { return buffer; }), sink);
}

SourceHead read_source_head(const std::filesystem::path& path, std::size_t max) {
  SourceHead h;
  SourceStream r;
  const int fd = open_source_stream(path, r);
  h.status = r.status;
  h.message = r.message;
  if (fd < 0) return h;
  struct stat st {};
  if (fstat(fd, &st) == 0) {
    h.size = static_cast<std::uint64_t>(st.st_size);
    h.mtime = st.st_mtime;
  }
  h.head.resize(static_cast<std::size_t>(std::min<std::uint64_t>(max, h.size)));
  std::size_t got = 0;
  while (got < h.head.size()) {
    const ssize_t n = ::read(fd, h.head.data() + got, h.head.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      h.status = SourceOpen::Status::error;
      h.message = path.string() + ": read error: " + std::strerror(errno);
      break;
    }
    if (n == 0) break;  // shorter than its stat said: read what is there
    got += static_cast<std::size_t>(n);
  }
  h.head.resize(got);
  ::close(fd);
  return h;
}

std::string for_each_directory_entry(const std::filesystem::path& dir,
                                    const std::function<void(std::string_view, DirEntry::Type)>& fn) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!d) {
    std::string error = dir.string() + ": cannot list directory: " + std::strerror(errno);
    if (fd >= 0) ::close(fd);
    return error;
  }
  while (dirent* e = readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat st {};
      if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
        t = S_ISREG(st.st_mode) ? DT_REG : S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK : DT_FIFO;
    }
    fn(name, t == DT_REG   ? DirEntry::Type::file
             : t == DT_DIR ? DirEntry::Type::directory
             : t == DT_LNK ? DirEntry::Type::symlink
                           : DirEntry::Type::other);
  }
  closedir(d);
  return {};
}

DirListing list_directory(const std::filesystem::path& dir) {
  DirListing out;
  out.error = for_each_directory_entry(dir, [&out](std::string_view name, DirEntry::Type type) {
    out.entries.push_back(DirEntry{std::string(name), type});
  });
  if (!out.error.empty()) return out;
  std::sort(out.entries.begin(), out.entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return out;
}

bool is_directory_no_follow(const std::filesystem::path& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

}  // namespace cyrconv
