// floors: what the machine can do at best with a spool's message files, for the floors of
// issue 21's targets (docs/performance.md). Not part of cyrconv; tools/bench --floors builds it
// with the system compiler (c++ -O2 tools/floors.cpp -lcrypto -pthread) and times it.
//
//   floors MODE SPOOL [OUT] [--threads N] [--sync]
//
// Walks SPOOL for message files ("<digits>." names), groups them by directory in UID order
// (as cyrconv reads them), then with N threads (default 2), files handed out 16 at a time:
//   read         open, read through a 256 KiB buffer, close (the page-cache copy)
//   sha1         read + SHA-1 of every byte (OpenSSL EVP, SHA-NI where the CPU has it)
//   sha1-map     sha1, files over 256 KiB mapped (mmap MAP_POPULATE) instead of read: no copy
//   create       an empty new file per message under OUT/<folder>/ (open O_CREAT|O_EXCL, close)
//   copy         read + write each message into its new file (what a Maildir writer must do)
//   copy-sha1    copy + SHA-1
//   cfr          copy_file_range each message into its new file (no user-space copy); where the
//                kernel refuses it across file systems (EXDEV), sendfile
//   append-sha1  read + SHA-1 + pwrite into one file per folder at the message's offset (mbox)
// --sync ends with syncfs(OUT), as cyrconv's --sync folder ends with its last folder's sync.
// Prints one line: mode, files, bytes, walk seconds, work seconds.
#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Msg {
  std::string path;
  unsigned long uid;
  unsigned folder;
  off_t size, at;  // at: offset in the folder's appended file
};

std::vector<std::string> folders;
std::vector<Msg> msgs;

bool is_message(const char* n) {
  std::size_t i = 0;
  while (n[i] >= '0' && n[i] <= '9') ++i;
  return i > 0 && n[i] == '.' && n[i + 1] == '\0';
}

void walk(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (!d) return;
  std::vector<std::string> subdirs;
  std::vector<Msg> here;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.' && (e->d_name[1] == '\0' || (e->d_name[1] == '.' && e->d_name[2] == '\0'))) continue;
    std::string p = dir + "/" + e->d_name;
    struct stat st {};
    if (lstat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) subdirs.push_back(p);
    else if (S_ISREG(st.st_mode) && is_message(e->d_name))
      here.push_back(Msg{p, std::strtoul(e->d_name, nullptr, 10), 0, st.st_size, 0});
  }
  closedir(d);
  if (!here.empty()) {
    std::sort(here.begin(), here.end(), [](const Msg& a, const Msg& b) { return a.uid < b.uid; });
    const auto f = static_cast<unsigned>(folders.size());
    folders.push_back(dir);
    off_t at = 0;
    for (auto& m : here) {
      m.folder = f;
      m.at = at;
      at += m.size;
      msgs.push_back(std::move(m));
    }
  }
  std::sort(subdirs.begin(), subdirs.end());
  for (const auto& s : subdirs) walk(s);
}

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "floors: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(1);
}

struct Worker {
  std::string mode, out;
  std::vector<int> folder_fds;  // append: one output file per folder, shared by the threads
  std::atomic<std::size_t>* next;
  std::atomic<unsigned long long>* bytes;
  std::atomic<unsigned long long>* fallbacks;

  void run() {
    std::vector<char> buf(256 * 1024);
    const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    const bool sha = mode == "sha1" || mode == "sha1-map" || mode == "copy-sha1" || mode == "append-sha1";
    unsigned long long total = 0;
    for (;;) {
      const std::size_t first = next->fetch_add(16);
      if (first >= msgs.size()) break;
      for (std::size_t i = first; i < std::min(first + 16, msgs.size()); ++i) total += one(msgs[i], buf, sha ? ctx : nullptr, md);
    }
    EVP_MD_CTX_free(ctx);
    *bytes += total;
  }

  int create(const Msg& m) const {
    const std::string p = out + "/" + std::to_string(m.folder) + "/" + std::to_string(m.uid);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) die(p);
    return fd;
  }

  unsigned long long one(const Msg& m, std::vector<char>& buf, EVP_MD_CTX* ctx, const EVP_MD* md) {
    if (mode == "create") {
      ::close(create(m));
      return 0;
    }
    const int in = ::open(m.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOATIME);
    if (in < 0) die(m.path);
    unsigned long long got = 0;
    if (mode == "cfr") {
      const int o = create(m);
      // Across file systems (a staging copy to the destination) Linux >= 5.19 refuses
      // copy_file_range (EXDEV): then sendfile, the same in-kernel copy through a pipe.
      ssize_t n;
      while ((n = copy_file_range(in, nullptr, o, nullptr, 1 << 30, 0)) > 0) got += static_cast<unsigned long long>(n);
      if (n < 0 && (errno == EXDEV || errno == EOPNOTSUPP || errno == EINVAL || errno == ENOSYS)) {
        ++*fallbacks;
        while ((n = sendfile(o, in, nullptr, 1 << 30)) > 0) got += static_cast<unsigned long long>(n);
      }
      if (n < 0) die("copy " + m.path);
      ::close(o);
      ::close(in);
      return got;
    }
    if (mode == "sha1-map" && m.size > 256 * 1024) {
      void* p = mmap(nullptr, static_cast<std::size_t>(m.size), PROT_READ, MAP_PRIVATE | MAP_POPULATE, in, 0);
      if (p == MAP_FAILED) die("mmap");
      unsigned char d[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      EVP_DigestInit_ex(ctx, md, nullptr);
      EVP_DigestUpdate(ctx, p, static_cast<std::size_t>(m.size));
      EVP_DigestFinal_ex(ctx, d, &len);
      munmap(p, static_cast<std::size_t>(m.size));
      ::close(in);
      return static_cast<unsigned long long>(m.size);
    }
    const int o = mode == "copy" || mode == "copy-sha1" ? create(m) : -1;
    if (ctx) EVP_DigestInit_ex(ctx, md, nullptr);
    for (ssize_t n; (n = ::read(in, buf.data(), buf.size())) > 0;) {
      if (ctx) EVP_DigestUpdate(ctx, buf.data(), static_cast<std::size_t>(n));
      if (o >= 0 && ::write(o, buf.data(), static_cast<std::size_t>(n)) != n) die("write");
      if (mode == "append-sha1" &&
          ::pwrite(folder_fds[m.folder], buf.data(), static_cast<std::size_t>(n), m.at + static_cast<off_t>(got)) != n)
        die("pwrite");
      got += static_cast<unsigned long long>(n);
    }
    if (ctx) {
      unsigned char d[EVP_MAX_MD_SIZE];
      unsigned len = 0;
      EVP_DigestFinal_ex(ctx, d, &len);
    }
    if (o >= 0) ::close(o);
    ::close(in);
    return got;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> pos;
  int threads = 2;
  bool sync = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--sync") sync = true;
    else pos.push_back(a);
  }
  static const char* modes[] = {"read", "sha1", "sha1-map", "create", "copy", "copy-sha1", "cfr", "append-sha1"};
  if (pos.size() < 2 || std::none_of(std::begin(modes), std::end(modes), [&](const char* m) { return pos[0] == m; })) {
    std::fprintf(stderr, "usage: floors read|sha1|sha1-map|create|copy|copy-sha1|cfr|append-sha1 SPOOL [OUT] [--threads N] [--sync]\n");
    return 2;
  }
  const bool writes = pos[0].rfind("read", 0) != 0 && pos[0].rfind("sha1", 0) != 0;
  if (writes && pos.size() < 3) {
    std::fprintf(stderr, "floors: %s needs OUT\n", pos[0].c_str());
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  walk(pos[1]);
  Worker w;
  w.mode = pos[0];
  if (writes) {
    w.out = pos[2];
    ::mkdir(w.out.c_str(), 0700);
    for (std::size_t f = 0; f < folders.size(); ++f) {
      const std::string d = w.out + "/" + std::to_string(f);
      if (w.mode == "append-sha1") {
        const int fd = ::open(d.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) die(d);
        w.folder_fds.push_back(fd);
      } else if (::mkdir(d.c_str(), 0700) != 0) {
        die(d);
      }
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  std::atomic<std::size_t> next{0};
  std::atomic<unsigned long long> bytes{0};
  w.next = &next;
  w.bytes = &bytes;
  std::atomic<unsigned long long> fallbacks{0};
  w.fallbacks = &fallbacks;
  std::vector<std::thread> ts;
  for (int i = 0; i < threads; ++i) ts.emplace_back([&w] { Worker c = w; c.run(); });
  for (auto& t : ts) t.join();
  for (int fd : w.folder_fds) ::close(fd);
  if (sync && writes) {
    const int fd = ::open(w.out.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0 || syncfs(fd) != 0) die("syncfs");
    ::close(fd);
  }
  const auto t2 = std::chrono::steady_clock::now();
  std::printf("%s: %zu files, %llu bytes, %zu folders, %llu by sendfile, walk %.3f s, work %.3f s\n", w.mode.c_str(),
              msgs.size(), bytes.load(), folders.size(), fallbacks.load(), std::chrono::duration<double>(t1 - t0).count(),
              std::chrono::duration<double>(t2 - t1).count());
  return 0;
}
