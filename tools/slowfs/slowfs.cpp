// slowfs: a read-only FUSE passthrough that waits a fixed time in every metadata operation
// and every read, to stand in for NFS (where each lookup, getattr, open and read is a network
// round trip) in tools/bench --slowfs and the io-depth test.
//
//   slowfs [--delay 1ms] [--read-delay 1ms] SOURCE MOUNTPOINT [-f] [fuse options]
//   fusermount3 -u MOUNTPOINT
//
// The waits are sleeps on the FUSE worker threads, so requests in flight at the same time wait
// at the same time, as round trips to a server do. The mount is read-only (-o ro) and writes
// are refused with EROFS. Standard libfuse3 high-level API; the kernel caches entries and
// attributes for 1 s (as an NFS client caches attributes).
#define FUSE_USE_VERSION 31
#include <fuse.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

int base_fd = -1;
long meta_delay_ns = 1'000'000;
long read_delay_ns = 1'000'000;

void wait_ns(long ns) {
  if (ns <= 0) return;
  timespec t{ns / 1'000'000'000, ns % 1'000'000'000};
  while (nanosleep(&t, &t) != 0 && errno == EINTR) {
  }
}

// "1ms", "250us", "2s", "0": nanoseconds, or -1 when malformed.
long parse_duration(const char* s) {
  char* end = nullptr;
  const double v = std::strtod(s, &end);
  if (end == s || v < 0) return -1;
  const std::string unit = end;
  double scale = 0;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  else if (unit.empty() && v == 0) scale = 1;
  else return -1;
  return static_cast<long>(v * scale);
}

const char* rel(const char* path) { return path[1] ? path + 1 : "."; }

void* sf_init(fuse_conn_info* conn, fuse_config* cfg) {
  cfg->use_ino = 1;
  cfg->entry_timeout = 1.0;
  cfg->attr_timeout = 1.0;
  cfg->negative_timeout = 1.0;
  // Many reads in flight at once, like an NFS client's slots.
  conn->max_background = 128;
  conn->congestion_threshold = 96;
  return nullptr;
}

int sf_getattr(const char* path, struct stat* st, fuse_file_info* fi) {
  wait_ns(meta_delay_ns);
  const int r = fi ? fstat(static_cast<int>(fi->fh), st) : fstatat(base_fd, rel(path), st, AT_SYMLINK_NOFOLLOW);
  return r == 0 ? 0 : -errno;
}

int sf_readlink(const char* path, char* buf, size_t size) {
  wait_ns(meta_delay_ns);
  const ssize_t n = readlinkat(base_fd, rel(path), buf, size - 1);
  if (n < 0) return -errno;
  buf[n] = '\0';
  return 0;
}

int sf_open(const char* path, fuse_file_info* fi) {
  wait_ns(meta_delay_ns);
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return -EROFS;
  const int fd = openat(base_fd, rel(path), (fi->flags & ~(O_CREAT | O_TRUNC | O_APPEND)) | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  fi->fh = static_cast<uint64_t>(fd);
  return 0;
}

int sf_read(const char*, char* buf, size_t size, off_t off, fuse_file_info* fi) {
  wait_ns(read_delay_ns);
  const ssize_t n = pread(static_cast<int>(fi->fh), buf, size, off);
  return n < 0 ? -errno : static_cast<int>(n);
}

int sf_release(const char*, fuse_file_info* fi) {
  close(static_cast<int>(fi->fh));
  return 0;
}

int sf_opendir(const char* path, fuse_file_info* fi) {
  wait_ns(meta_delay_ns);
  const int fd = openat(base_fd, rel(path), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -errno;
  DIR* d = fdopendir(fd);
  if (!d) {
    const int e = errno;
    close(fd);
    return -e;
  }
  fi->fh = reinterpret_cast<uint64_t>(d);
  return 0;
}

int sf_readdir(const char*, void* buf, fuse_fill_dir_t fill, off_t, fuse_file_info* fi, fuse_readdir_flags) {
  wait_ns(meta_delay_ns);
  DIR* d = reinterpret_cast<DIR*>(fi->fh);
  rewinddir(d);
  while (dirent* e = readdir(d)) {
    struct stat st {};
    st.st_ino = e->d_ino;
    st.st_mode = static_cast<mode_t>(DTTOIF(e->d_type));
    if (fill(buf, e->d_name, &st, 0, static_cast<fuse_fill_dir_flags>(0))) break;
  }
  return 0;
}

int sf_releasedir(const char*, fuse_file_info* fi) {
  closedir(reinterpret_cast<DIR*>(fi->fh));
  return 0;
}

int sf_statfs(const char* path, struct statvfs* st) {
  wait_ns(meta_delay_ns);
  const int fd = openat(base_fd, rel(path), O_RDONLY | O_PATH | O_CLOEXEC);
  if (fd < 0) return -errno;
  const int r = fstatvfs(fd, st);
  const int e = errno;
  close(fd);
  return r == 0 ? 0 : -e;
}

int sf_access(const char* path, int mask) {
  wait_ns(meta_delay_ns);
  if (mask & W_OK) return -EROFS;
  return faccessat(base_fd, rel(path), mask, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

int usage() {
  std::fprintf(stderr,
               "usage: slowfs [--delay DURATION] [--read-delay DURATION] SOURCE MOUNTPOINT [-f] [fuse options]\n"
               "  --delay        wait per metadata operation (lookup/getattr, open, opendir, readdir, ...); default 1ms\n"
               "  --read-delay   wait per read request; default 1ms\n"
               "  DURATION: 0, 500us, 1ms, 0.5s, ...  Unmount with: fusermount3 -u MOUNTPOINT\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args{argv[0]};
  std::string source;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string a = argv[i];
    if ((a == "--delay" || a == "--read-delay") && i + 1 < argc) {
      const long ns = parse_duration(argv[++i]);
      if (ns < 0) return usage();
      (a == "--delay" ? meta_delay_ns : read_delay_ns) = ns;
    } else if (a == "-h" || a == "--help") {
      return usage();
    } else if (source.empty() && a[0] != '-') {
      source = a;
    } else {
      args.push_back(argv[i]);
    }
  }
  if (source.empty()) return usage();
  base_fd = open(source.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (base_fd < 0) {
    std::fprintf(stderr, "slowfs: %s: %s\n", source.c_str(), std::strerror(errno));
    return 1;
  }
  // Read-only; enough worker threads that 100+ requests can wait at once.
  static char ro[] = "-oro,default_permissions,fsname=slowfs,max_threads=256,max_idle_threads=64";
  args.push_back(ro);
  fuse_operations ops{};
  ops.init = sf_init;
  ops.getattr = sf_getattr;
  ops.readlink = sf_readlink;
  ops.open = sf_open;
  ops.read = sf_read;
  ops.release = sf_release;
  ops.opendir = sf_opendir;
  ops.readdir = sf_readdir;
  ops.releasedir = sf_releasedir;
  ops.statfs = sf_statfs;
  ops.access = sf_access;
  return fuse_main(static_cast<int>(args.size()), args.data(), &ops, nullptr);
}
