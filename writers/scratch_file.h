#pragma once
// A reusable scratch file for one message at a time: written through a fixed buffer, then read
// back in chunks. The file is unlinked as soon as it is created (O_TMPFILE where the file
// system has it), so nothing is left behind after a crash. Lets a writer learn a message's
// final size and check result before it commits to a format that needs the size first (tar).
// A message that fits the fixed buffer (256 KiB) never reaches the disk.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "writers/output_file.h"

namespace cyrconv {

class ScratchFile {
 public:
  ScratchFile() = default;
  ~ScratchFile();
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  WriteStatus open(const std::filesystem::path& dir);
  WriteStatus clear();  // empty again, for the next message
  WriteStatus write(std::string_view bytes);
  // Reading straight into the copy (no memcpy of bytes already in memory): `space` is the free
  // room of the memory buffer, a full buffer flushed to the file first (`st` false when that
  // failed; then nothing more can be kept). Bytes read into it are kept by `added`, or by
  // `write` with a view of them (it sees they are already in place).
  std::span<char> space(WriteStatus& st);
  void added(std::size_t n) {
    used_ += n;
    size_ += n;
  }
  bool in_place(std::string_view bytes) const { return !buffer_.empty() && bytes.data() == buffer_.data() + used_; }
  std::uint64_t size() const { return size_; }
  // Writes what the buffer holds to the file and frees the buffer: content that waits for its
  // turn to be read (a staged archive part) holds no memory; a later write allocates it again.
  WriteStatus park();
  // Hands the whole content to `sink` in chunks of at most buffer.size() bytes.
  WriteStatus read_all(std::span<char> buffer, const std::function<WriteStatus(std::string_view)>& sink);

 private:
  WriteStatus flush();
  int fd_ = -1;
  std::filesystem::path dir_;
  std::vector<char> buffer_;
  std::size_t used_ = 0;
  std::uint64_t size_ = 0;
  std::uint64_t on_disk_ = 0;  // bytes flushed to the file
};

}  // namespace cyrconv
