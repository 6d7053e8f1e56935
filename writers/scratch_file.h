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
  std::uint64_t size() const { return size_; }
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
