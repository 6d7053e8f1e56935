#include "writers/tar_writer.h"

#include <array>
#include <cstring>

namespace cyrconv {

namespace {

constexpr std::size_t name_field = 100;

// `digits` octal digits, zero padded, then NUL: the form GNU tar writes and every reader takes.
void put_octal(char* field, std::size_t digits, std::uint64_t value) {
  for (std::size_t i = digits; i-- > 0;) {
    field[i] = static_cast<char>('0' + (value & 7));
    value >>= 3;
  }
  field[digits] = '\0';
}

// Longest prefix of `s` of at most `max` bytes that does not end inside a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view s, std::size_t max) {
  if (s.size() <= max) return s;
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

const std::array<char, TarWriter::block> zero_block{};

}  // namespace

WriteStatus TarWriter::emit(std::string_view bytes) {
  if (bytes.empty()) return {};
  WriteStatus st = sink_(bytes);
  if (st) written_ += bytes.size();
  return st;
}

WriteStatus TarWriter::header(std::string_view name, std::uint64_t size, std::int64_t mtime, std::uint32_t mode,
                              char type) {
  std::array<char, block> h{};
  std::memcpy(h.data(), name.data(), std::min(name.size(), name_field));
  put_octal(&h[100], 7, mode & 07777);
  put_octal(&h[108], 7, 0);  // uid
  put_octal(&h[116], 7, 0);  // gid
  put_octal(&h[124], 11, size);
  put_octal(&h[136], 11, mtime < 0 ? 0 : static_cast<std::uint64_t>(mtime));
  h[156] = type;
  std::memcpy(&h[257], "ustar  ", 8);  // GNU magic and version, NUL included
  // uname, gname empty; devmajor/devminor left zero as GNU tar does for regular files.
  std::memset(&h[148], ' ', 8);
  unsigned sum = 0;
  for (char c : h) sum += static_cast<unsigned char>(c);
  put_octal(&h[148], 6, sum);
  h[155] = ' ';
  return emit(std::string_view(h.data(), h.size()));
}

WriteStatus TarWriter::begin(const TarEntry& e) {
  if (in_entry_) return WriteStatus{false, "tar: " + name_ + ": next entry begun before this one ended"};
  if (e.name.empty() || e.name.find('\0') != std::string::npos)
    return WriteStatus{false, "tar: entry name empty or holding a NUL byte"};
  if (e.size > max_size)
    return WriteStatus{false, "tar: " + e.name + ": " + std::to_string(e.size) + " bytes, over the 8 GiB a tar entry can hold"};
  if (e.name.size() >= name_field) {
    // GNU long name: an `L` entry whose data is the name and its NUL, then the real header.
    if (auto st = header("././@LongLink", e.name.size() + 1, 0, 0, 'L'); !st) return st;
    if (auto st = emit(std::string_view(e.name.data(), e.name.size() + 1)); !st) return st;
    const std::size_t pad = (block - (e.name.size() + 1) % block) % block;
    if (auto st = emit(std::string_view(zero_block.data(), pad)); !st) return st;
  }
  if (auto st = header(utf8_prefix(e.name, name_field - 1), e.size, e.mtime, e.mode, '0'); !st) return st;
  in_entry_ = true;
  name_ = e.name;
  remaining_ = entry_size_ = e.size;
  return {};
}

WriteStatus TarWriter::write(std::string_view data) {
  if (!in_entry_) return WriteStatus{false, "tar: data written outside an entry"};
  if (data.size() > remaining_)
    return WriteStatus{false, "tar: " + name_ + ": more bytes than the " + std::to_string(entry_size_) + " announced"};
  remaining_ -= data.size();
  return emit(data);
}

WriteStatus TarWriter::end() {
  if (!in_entry_) return WriteStatus{false, "tar: end() outside an entry"};
  in_entry_ = false;
  if (remaining_ != 0)
    return WriteStatus{false, "tar: " + name_ + ": " + std::to_string(entry_size_ - remaining_) + " bytes written, " +
                                  std::to_string(entry_size_) + " announced"};
  const std::size_t pad = (block - entry_size_ % block) % block;
  return emit(std::string_view(zero_block.data(), pad));
}

WriteStatus TarWriter::finish() {
  if (in_entry_) return WriteStatus{false, "tar: " + name_ + ": archive finished inside an entry"};
  if (auto st = emit(std::string_view(zero_block.data(), block)); !st) return st;
  if (auto st = emit(std::string_view(zero_block.data(), block)); !st) return st;
  while (written_ % record) {
    const std::size_t n = std::min<std::uint64_t>(block, record - written_ % record);
    if (auto st = emit(std::string_view(zero_block.data(), n)); !st) return st;
  }
  return {};
}

}  // namespace cyrconv
