#pragma once
// One output file written crash-safely: bytes go to an unnamed file in the destination directory
// (O_TMPFILE; where the file system refuses it, a temporary name) through a fixed buffer, and
// appear under the final name only on commit (fsync per policy, mtime set, link or rename). An
// unnamed file that is never committed vanishes with the process, even on SIGKILL. Nothing ever truncates or replaces a file the caller did not
// create in this run unless it asks to (OnExisting::replace).
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

enum class SyncPolicy { none, folder, message };  // README: "Crash guarantees"

struct WriteStatus {
  bool ok = true;
  std::string message;  // "PATH: what failed"
  int error = 0;        // errno of the failure, when there was one (ENOSPC stops a run)
  explicit operator bool() const { return ok; }
  bool disk_full() const { return error == ENOSPC || error == EDQUOT; }
};
WriteStatus write_error(const std::filesystem::path& path, std::string_view what);  // appends strerror(errno)

class OutputFile {
 public:
  OutputFile() = default;
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  ~OutputFile();  // an uncommitted file is removed

  // Opens an unnamed file in `dir` (O_TMPFILE, mode 0600), or "<dir>/.<hint>.cyrconv-tmp"
  // exclusively where the file system does not support O_TMPFILE.
  WriteStatus open(const std::filesystem::path& dir, std::string_view hint);
  // Whether the open file is unnamed (O_TMPFILE) rather than a named temporary file.
  bool unnamed() const { return unnamed_; }
  WriteStatus write(std::string_view bytes);
  std::uint64_t bytes_written() const { return written_; }
  // Drops everything written after `mark` (a value bytes_written() returned): a message
  // appended to an mbox and then quarantined leaves no trace.
  WriteStatus rewind_to(std::uint64_t mark);
  // What commit does when `final_path` already exists.
  enum class OnExisting {
    refuse,          // fail (link() gives EEXIST): nothing is ever clobbered
    replace,         // rename over it: only for files cyrconv owns (uidlists, manifests, journal)
    keep_identical,  // keep it when its bytes equal ours (a resumed run met its own earlier
                     // output) and drop ours; fail when they differ
  };
  // Flushes, fsyncs when `sync`, sets mtime (when mtime_seconds >= 0), then puts the file under
  // `final_path` as `existing` says: linkat() of the unnamed file (or link() of the temporary
  // name) for refuse and keep_identical; for replace, a temporary name and rename(), since a link
  // cannot replace.
  WriteStatus commit(const std::filesystem::path& final_path, std::int64_t mtime_seconds, bool sync,
                     OnExisting existing);
  // Flushes and frees the write buffer of a file that waits, unwritten to, for its turn to be
  // read back (a UID range done before the ranges ahead of it); a later write allocates it again.
  WriteStatus park();
  // Hands the bytes written so far, in order, to `sink` in chunks of at most buffer.size():
  // how the files of a folder's later UID ranges are appended to the folder's own.
  WriteStatus read_back(std::span<char> buffer, const std::function<WriteStatus(std::string_view)>& sink);
  // Whether the last keep_identical commit found the file already there.
  bool kept_existing() const { return kept_existing_; }
  void abort();

 private:
  WriteStatus flush();
  WriteStatus link_unnamed(const std::filesystem::path& to);
  int fd_ = -1;
  bool unnamed_ = false;
  std::filesystem::path tmp_path_;  // the named temporary file, when there is one
  std::filesystem::path where_;     // for error messages: the temporary name, or "<dir>/<hint>"

  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t written_ = 0;
  bool kept_existing_ = false;
};

// Writes a small file whole (uidlist, keywords, journal) via OutputFile, replacing any older
// version atomically; a file that already holds exactly `content` is left untouched.
WriteStatus write_small_file(const std::filesystem::path& path, std::string_view content, bool sync);

// Test only: false makes OutputFile::open take the named-temporary-file path, as on a file
// system without O_TMPFILE (NFS). Process-wide; tests set it back.
void set_output_file_tmpfile_for_test(bool enabled);

// Whether two files hold the same bytes (false when either cannot be read).
bool same_file_content(const std::filesystem::path& a, const std::filesystem::path& b);

// mkdir -p with mode 0700 for the directories it creates.
WriteStatus make_directories(const std::filesystem::path& dir);

// fsync of a directory, so renames inside it survive a crash.
WriteStatus sync_directory(const std::filesystem::path& dir);

}  // namespace cyrconv
