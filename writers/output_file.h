#pragma once
// One output file written crash-safely: bytes go to a temporary name in the destination
// directory through a fixed buffer, and appear under the final name only on commit (fsync per
// policy, mtime set, rename). Nothing ever truncates or replaces a file the caller did not
// create in this run unless it asks to (commit_replacing).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

enum class SyncPolicy { none, folder, message };  // README: "Crash guarantees"

struct WriteStatus {
  bool ok = true;
  std::string message;  // "PATH: what failed"
  explicit operator bool() const { return ok; }
};
WriteStatus write_error(const std::filesystem::path& path, std::string_view what);  // appends strerror(errno)

class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // an uncommitted file is removed

  // Opens "<dir>/.<hint>.cyrconv-tmp" exclusively (mode 0600).
  WriteStatus open(const std::filesystem::path& dir, std::string_view hint);
  WriteStatus write(std::string_view bytes);
  std::uint64_t bytes_written() const { return written_; }
  // Drops everything written after `mark` (a value bytes_written() returned): a message
  // appended to an mbox and then quarantined leaves no trace.
  WriteStatus rewind_to(std::uint64_t mark);
  // Flushes, fsyncs when `sync`, sets mtime (when mtime_seconds >= 0), renames to `final_path`.
  // Refuses to replace an existing file unless `replace` (link + unlink of the temp name).
  WriteStatus commit(const std::filesystem::path& final_path, std::int64_t mtime_seconds, bool sync, bool replace);
  void abort();

 private:
  WriteStatus flush();
  int fd_ = -1;
  std::filesystem::path tmp_path_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
};

// Writes a small file whole (uidlist, keywords, manifests) via OutputFile, replacing any older
// version atomically.
WriteStatus write_small_file(const std::filesystem::path& path, std::string_view content, bool sync);

// mkdir -p with mode 0700 for the directories it creates.
WriteStatus make_directories(const std::filesystem::path& dir);

// fsync of a directory, so renames inside it survive a crash.
WriteStatus sync_directory(const std::filesystem::path& dir);

}  // namespace cyrconv
