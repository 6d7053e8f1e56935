#pragma once
// Bytes verify keeps per message of a folder but reads back only once or twice (Maildir file
// names, what the mbox reader found per message): appended to an unnamed scratch file in the
// temporary directory, made once 64 KiB wait (small folders never have one), so memory does not
// grow with the folder (issue 25). Where no scratch file can be made, or a write fails, the rest
// stays in memory: nothing is lost, it only costs memory. Read back by offset. Nothing is
// written under the source or the output tree.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace cyrconv {

class ScratchStore {
 public:
  ScratchStore();
  ~ScratchStore();
  ScratchStore(const ScratchStore&) = delete;
  ScratchStore& operator=(const ScratchStore&) = delete;

  // Where `bytes` start; read(at, bytes.size()) gives them back.
  std::uint64_t append(std::string_view bytes);
  // Throws std::runtime_error when the scratch file cannot be read back.
  void read(std::uint64_t at, std::size_t size, std::string& out) const;
  std::uint64_t size() const { return on_file_ + memory_.size(); }

 private:
  void flush();
  int fd_ = -1;
  bool full_ = false;           // a write failed: the rest stays in memory
  std::uint64_t on_file_ = 0;  // bytes [0, on_file_) are in the file, the rest in memory_
  std::string memory_;
};

// Fixed-size records (plain structs) in a ScratchStore, by index.
template <typename T>
class SpilledRecords {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  std::size_t push_back(const T& r) {
    store_.append(std::string_view(reinterpret_cast<const char*>(&r), sizeof(T)));
    return count_++;
  }
  T operator[](std::size_t i) const {
    store_.read(static_cast<std::uint64_t>(i) * sizeof(T), sizeof(T), buffer_);
    T r;
    std::memcpy(&r, buffer_.data(), sizeof(T));
    return r;
  }
  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

 private:
  ScratchStore store_;
  std::size_t count_ = 0;
  mutable std::string buffer_;
};

}  // namespace cyrconv
