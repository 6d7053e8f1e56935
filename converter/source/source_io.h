#pragma once
// Read-only access to the source trees. Every open is O_RDONLY with O_NOFOLLOW (a symlink in
// the spool is reported, never followed) and O_NOATIME where the kernel allows it, so a scan
// leaves even access times alone. Nothing here can write, lock or rename.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

// A whole file mapped read-only (or empty). Metadata files (cyrus.index, databases) only;
// message files are streamed by the convert pass.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept;
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view bytes() const { return {data_, size_}; }

 private:
  friend struct SourceOpen;
  const char* data_ = nullptr;
  std::size_t size_ = 0;
  bool mapped_ = false;
};

struct SourceOpen {
  enum class Status { ok, missing, not_regular, error };
  Status status = Status::error;
  std::string message;  // "PATH: what went wrong" when status != ok
  MappedFile file;

  static SourceOpen map(const std::filesystem::path& path);
};

// Reads one file start to end through `buffer` (the caller's, reused across files: no heap
// work per file) and hands each chunk to `sink`. Same read-only open as SourceOpen::map; the
// file is read exactly once. `bytes` is how much was read; on a read error part of the file
// may already have been handed over.
struct SourceStream {
  SourceOpen::Status status = SourceOpen::Status::error;
  std::string message;  // "PATH: what went wrong" when status != ok
  std::uint64_t bytes = 0;
  std::uint64_t expected = 0;  // the size fstat gave at the open
};
SourceStream stream_source_file(const std::filesystem::path& path, std::span<char> buffer,
                                const std::function<void(std::string_view)>& sink);
// The same, each read() going into the room `next` gives (the message pass reads straight into
// its kept copy, so keeping the bytes costs no copy). A chunk is valid until `next` is called
// again; `next` returns a non-empty span.
using ReadSpace = std::function<std::span<char>()>;
SourceStream stream_source_file(const std::filesystem::path& path, const ReadSpace& next,
                                const std::function<void(std::string_view)>& sink);

// The two halves of stream_source_file, for the prefetch stage (converter/source/prefetch.h), which
// opens and reads the start of a file on an I/O thread and hands the rest to the consumer.
// open_source_stream: the read-only open and regular-file check; -1 with `r` saying why.
int open_source_stream(const std::filesystem::path& path, SourceStream& r);
// Reads `fd` from its current offset to the end into `sink`, adding to r.bytes; closes `fd`.
void read_source_rest(int fd, const std::filesystem::path& path, std::span<char> buffer,
                      const std::function<void(std::string_view)>& sink, SourceStream& r);
void read_source_rest(int fd, const std::filesystem::path& path, const ReadSpace& next,
                      const std::function<void(std::string_view)>& sink, SourceStream& r);

// The first `max` bytes of a message file and its stat, for rebuilding a mailbox without an
// index (converter/source/recover.h): the same non-blocking, no-follow open; only regular files read.
struct SourceHead {
  SourceOpen::Status status = SourceOpen::Status::error;
  std::string message;  // "PATH: what went wrong" when status != ok
  std::string head;
  std::uint64_t size = 0;
  std::int64_t mtime = 0;
};
SourceHead read_source_head(const std::filesystem::path& path, std::size_t max);

struct DirEntry {
  enum class Type { file, directory, symlink, other };
  std::string name;
  Type type = Type::other;
};

// Entries of one directory, sorted by name, without "." and "..". Types come from d_type
// (an lstat only where the filesystem does not fill it in). Empty with an error message when
// the directory cannot be read.
struct DirListing {
  std::vector<DirEntry> entries;
  std::string error;
};
DirListing list_directory(const std::filesystem::path& dir);
// The same walk without keeping anything: `fn` sees each entry in directory order. "" or the error.
std::string for_each_directory_entry(const std::filesystem::path& dir,
                                     const std::function<void(std::string_view, DirEntry::Type)>& fn);

bool is_directory_no_follow(const std::filesystem::path& path);

}  // namespace cyrconv
