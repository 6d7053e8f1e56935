#pragma once
// A streaming tar writer: entries go to a byte sink one after another, each header before its
// data, so an archive of any size needs no more memory than one 512-byte block. Knows nothing
// of Cyrus or of what the entries mean.
//
// Format: ustar headers with GNU's magic ("ustar  \0"), and GNU's `L` long-name entry
// ("././@LongLink") for a name that does not fit the 100-byte name field. That is the one
// long-name form Zimbra's importer reads: com.zimbra.common.util.tar.TarInputStream (a patched
// Apache Ant tar) handles `L` entries, ignores the ustar prefix field and has no pax support, so
// a pax header would arrive as a file of its own. GNU tar, bsdtar and Python's tarfile read it.
// Numbers are octal (sizes up to 8 GiB - 1, which is also all Zimbra's parser takes); uid, gid,
// user and group names are left empty, so the bytes do not depend on the machine.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "writers/output_file.h"

namespace cyrconv {

using TarSink = std::function<WriteStatus(std::string_view)>;

struct TarEntry {
  std::string name;          // UTF-8, '/' separated, relative
  std::uint64_t size = 0;    // exact number of data bytes that will follow
  std::int64_t mtime = 0;    // seconds since the epoch (negative is written as 0)
  std::uint32_t mode = 0600;
};

class TarWriter {
 public:
  static constexpr std::uint64_t max_size = 077777777777ull;  // 11 octal digits
  static constexpr std::size_t block = 512;
  static constexpr std::size_t record = 20 * block;  // archives end on a 10 KiB record, as GNU tar's do

  explicit TarWriter(TarSink sink) : sink_(std::move(sink)) {}

  // Writes the header (and a long-name entry first when needed). Refuses a size over max_size,
  // an empty name, or a name holding a NUL.
  WriteStatus begin(const TarEntry& entry);
  // Data of the current entry; refuses bytes beyond the size given to begin().
  WriteStatus write(std::string_view data);
  // Pads the entry to a whole block; refuses when fewer bytes came than the size promised.
  WriteStatus end();
  // The end-of-archive marker (two zero blocks) and padding to a whole record.
  WriteStatus finish();

  std::uint64_t bytes_written() const { return written_; }

 private:
  WriteStatus emit(std::string_view bytes);
  WriteStatus header(std::string_view name, std::uint64_t size, std::int64_t mtime, std::uint32_t mode, char type);

  TarSink sink_;
  std::uint64_t written_ = 0;
  std::uint64_t remaining_ = 0;
  std::uint64_t entry_size_ = 0;
  bool in_entry_ = false;
  std::string name_;  // current entry, for error messages
};

}  // namespace cyrconv
