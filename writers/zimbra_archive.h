#pragma once
// A user's Zimbra archive in parts of bounded size (docs/zimbra.md "Archives in parts"): tar
// entries go into the current part until the next would take it over the limit, then the part
// is ended (a whole tar.gz of its own) and the next begins. Each part is a valid archive by
// itself: an entry names its folder path, which Zimbra's import creates, so a folder may span
// parts. No part gets its final name before commit(): a failed or killed run leaves none.
// Knows nothing of Cyrus or of what the entries mean.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "writers/gzip_stream.h"
#include "writers/tar_writer.h"

namespace cyrconv {

class ZimbraArchive {
 public:
  using Namer = std::function<std::string(unsigned part)>;  // part 1, 2, ... -> file name

  // The most tar bytes a part of `limit` bytes holds: deflate may grow incompressible data by a
  // little (zlib's deflateBound: under 0.04%), so the tar stream keeps 0.1% and 1 KiB in hand and
  // the .tgz stays within `limit` whatever the data. 0: no limit.
  static std::uint64_t tar_budget(std::uint64_t limit);
  // Tar bytes an entry takes: header, GNU long-name entry when needed, data padded to a block.
  static std::uint64_t entry_bytes(const TarEntry& e);

  // Opens part 1 in `dir`.
  WriteStatus open(const std::filesystem::path& dir, Namer name, std::uint64_t limit);
  // Begins an entry, first moving on to a new part when this one holds entries and the entry
  // would take it over the limit (an entry larger than a part gets a part of its own).
  WriteStatus begin(const TarEntry& e);
  WriteStatus write(std::string_view data);
  WriteStatus end();
  // Ends the last part, then puts every part under its name in order (an identical file a
  // resumed run meets is kept).
  WriteStatus commit(bool sync);
  void abort();

  unsigned parts() const { return static_cast<unsigned>(parts_.size()); }
  // The file the last entry begun went into.
  const std::string& current_name() const { return parts_.back().name; }
  std::uint64_t entries() const { return entries_; }

 private:
  struct Part {
    std::unique_ptr<GzipOutputFile> gz;
    std::string name;
  };
  WriteStatus start_part();
  WriteStatus end_part();

  std::filesystem::path dir_;
  Namer name_;
  std::uint64_t budget_ = 0;
  std::vector<Part> parts_;
  std::unique_ptr<TarWriter> tar_;
  std::uint64_t entries_ = 0, part_entries_ = 0;
};

}  // namespace cyrconv
