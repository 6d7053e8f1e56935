// LD_PRELOAD shim for tests/e2e/no_tmpfile_check.py: open() and openat() refuse O_TMPFILE with
// EOPNOTSUPP, as NFS and older kernels do, so that cyrconv's named-temporary-file fallbacks run.
// Each refusal appends the directory to $CYRCONV_SHIM_LOG (when set): the test knows the
// fallbacks were taken, not skipped.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdlib>
#include <cstring>

namespace {

bool refuse(const char* path, int flags) {
  if ((flags & O_TMPFILE) != O_TMPFILE) return false;
  if (const char* log = std::getenv("CYRCONV_SHIM_LOG")) {
    static const auto next = reinterpret_cast<int (*)(const char*, int, ...)>(dlsym(RTLD_NEXT, "open"));
    const int fd = next(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // One write per line: lines of concurrent threads do not interleave.
      char line[4096];
      const std::size_t n = std::strlen(path) < sizeof line - 2 ? std::strlen(path) : sizeof line - 2;
      std::memcpy(line, path, n);
      line[n] = '\n';
      (void)!write(fd, line, n + 1);
      close(fd);
    }
  }
  errno = EOPNOTSUPP;
  return true;
}

// The mode argument an open call carries only with O_CREAT or O_TMPFILE.
#define CYRCONV_SHIM_MODE(flags)                                              \
  mode_t mode = 0;                                                           \
  if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {               \
    va_list ap;                                                              \
    va_start(ap, flags);                                                     \
    mode = static_cast<mode_t>(va_arg(ap, int));                             \
    va_end(ap);                                                              \
  }

template <typename Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}
using open_fn = int (*)(const char*, int, ...);
using openat_fn = int (*)(int, const char*, int, ...);

}  // namespace

// va_start needs the variadic function itself, hence the macro; the rest is shared.
extern "C" {

int open(const char* path, int flags, ...) {
  CYRCONV_SHIM_MODE(flags)
  static const auto next = real<open_fn>("open");
  return refuse(path, flags) ? -1 : next(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  CYRCONV_SHIM_MODE(flags)
  static const auto next = real<open_fn>("open64");
  return refuse(path, flags) ? -1 : next(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  CYRCONV_SHIM_MODE(flags)
  static const auto next = real<openat_fn>("openat");
  return refuse(path, flags) ? -1 : next(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  CYRCONV_SHIM_MODE(flags)
  static const auto next = real<openat_fn>("openat64");
  return refuse(path, flags) ? -1 : next(dirfd, path, flags, mode);
}

}  // extern "C"
