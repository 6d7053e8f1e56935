#include "converter/verify/scratch_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace cyrconv {

namespace {

constexpr std::size_t flush_at = 64 * 1024;

int open_scratch_file() {
  std::error_code ec;
  const std::filesystem::path dir = std::filesystem::temp_directory_path(ec);
  if (ec) return -1;
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  for (int i = 0; i < 1000 && fd < 0; ++i) {  // no O_TMPFILE (NFS, old kernels): a named file, unlinked at once
    const auto p = dir / (".verify-" + std::to_string(::getpid()) + "-" + std::to_string(i) + ".cyrconv-tmp");
    fd = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0)
      ::unlink(p.c_str());
    else if (errno != EEXIST)
      break;
  }
  return fd;
}

}  // namespace

ScratchStore::ScratchStore() = default;

ScratchStore::~ScratchStore() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t ScratchStore::append(std::string_view bytes) {
  const std::uint64_t at = size();
  memory_.append(bytes);
  if (!full_ && memory_.size() >= flush_at) {
    // The file is made when it is needed: a small folder never has one.
    if (fd_ < 0) fd_ = open_scratch_file();
    if (fd_ < 0)
      full_ = true;  // none can be made: everything stays in memory
    else
      flush();
  }
  return at;
}

void ScratchStore::flush() {
  std::size_t done = 0;
  while (done < memory_.size()) {
    const ssize_t n = ::pwrite(fd_, memory_.data() + done, memory_.size() - done, static_cast<off_t>(on_file_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // A full temporary directory: what was written stays readable, the rest stays in memory.
      full_ = true;
      return;
    }
    done += static_cast<std::size_t>(n);
  }
  on_file_ += memory_.size();
  memory_.clear();
}

void ScratchStore::read(std::uint64_t at, std::size_t size, std::string& out) const {
  out.resize(size);
  if (at >= on_file_) {
    std::memcpy(out.data(), memory_.data() + (at - on_file_), size);
    return;
  }
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::pread(fd_, out.data() + done, size - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error(std::string("verify's scratch file cannot be read back: ") +
                               (n < 0 ? std::strerror(errno) : "ends early"));
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace cyrconv
