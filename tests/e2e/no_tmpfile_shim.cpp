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
    using open_fn = int (*)(const char*, int, ...);
    static auto real_open = reinterpret_cast<open_fn>(dlsym(RTLD_NEXT, "open"));
    const int fd = real_open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
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

mode_t mode_of(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? static_cast<mode_t>(va_arg(ap, int)) : 0;
}

}  // namespace

extern "C" {

int open(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (refuse(path, flags)) return -1;
  using fn = int (*)(const char*, int, ...);
  static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "open"));
  return real(path, flags, mode);
}

int open64(const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (refuse(path, flags)) return -1;
  using fn = int (*)(const char*, int, ...);
  static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "open64"));
  return real(path, flags, mode);
}

int openat(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (refuse(path, flags)) return -1;
  using fn = int (*)(int, const char*, int, ...);
  static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "openat"));
  return real(dirfd, path, flags, mode);
}

int openat64(int dirfd, const char* path, int flags, ...) {
  va_list ap;
  va_start(ap, flags);
  const mode_t mode = mode_of(flags, ap);
  va_end(ap);
  if (refuse(path, flags)) return -1;
  using fn = int (*)(int, const char*, int, ...);
  static auto real = reinterpret_cast<fn>(dlsym(RTLD_NEXT, "openat64"));
  return real(dirfd, path, flags, mode);
}

}  // extern "C"
