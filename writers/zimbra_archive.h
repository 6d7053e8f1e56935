#pragma once
// A user's Zimbra archive in parts of bounded size (docs/zimbra.md "Archives in parts"): tar
// entries go into the current part until the next would take it over the limit, then the part
// is ended (a whole tar.gz of its own) and the next begins. Each part is a valid archive by
// itself: an entry names its folder path, which Zimbra's import creates, so a folder may span
// parts. No part gets its final name before commit(): a failed or killed run leaves none.
// Knows nothing of Cyrus or of what the entries mean.
//
// Parallel parts ("Parallel parts" there): a part may be staged instead of streamed into
// deflate, its tar bytes going to an unlinked scratch file; when it ends, compressing it is
// handed to a PartCompressor (the engine's threads; writers own none) and the next part begins
// at once. The same tar bytes through the same deflate settings give the same .tgz bytes, so
// the parts equal a streamed archive's whatever order they are compressed in.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "writers/gzip_stream.h"
#include "writers/scratch_file.h"
#include "writers/tar_writer.h"

namespace cyrconv {

// Where an ended part's compression runs: the engine implements it over its threads.
class PartCompressor {
 public:
  virtual ~PartCompressor() = default;
  // Runs `work` now on this thread or later on another; `work` does not throw.
  virtual void submit(std::function<void()> work) = 0;
  // Returns once every work submitted so far has run.
  virtual void wait() = 0;
};

// Which parts are staged and compressed through `compressor` (it must outlive the archive).
struct PartStaging {
  PartCompressor* compressor = nullptr;  // null: every part streams into deflate as it is written
  bool first = false;  // part 1 too (an archive expected to need several); parts 2, ... always
};

// Compresses a part's staged tar bytes into `gz`, opened here in `dir` with the name hint
// `name` and closed (the gzip trailer written), still unnamed.
WriteStatus compress_staged_part(ScratchFile& tar, GzipOutputFile& gz, const std::filesystem::path& dir,
                                 const std::string& name);

class ZimbraArchive {
 public:
  using Namer = std::function<std::string(unsigned part)>;  // part 1, 2, ... -> file name

  ZimbraArchive() = default;
  ~ZimbraArchive();  // waits for handed-out parts, then drops every uncommitted one
  ZimbraArchive(const ZimbraArchive&) = delete;
  ZimbraArchive& operator=(const ZimbraArchive&) = delete;

  // The most tar bytes a part of `limit` bytes holds: deflate may grow incompressible data by a
  // little (zlib's deflateBound: under 0.04%), so the tar stream keeps 0.1% and 1 KiB in hand and
  // the .tgz stays within `limit` whatever the data. 0: no limit.
  static std::uint64_t tar_budget(std::uint64_t limit);
  // Tar bytes an entry takes: header, GNU long-name entry when needed, data padded to a block.
  static std::uint64_t entry_bytes(const TarEntry& e);

  // Opens part 1 in `dir`.
  WriteStatus open(const std::filesystem::path& dir, Namer name, std::uint64_t limit, PartStaging staging = {});
  // Begins an entry, first moving on to a new part when this one holds entries and the entry
  // would take it over the limit (an entry larger than a part gets a part of its own).
  WriteStatus begin(const TarEntry& e);
  WriteStatus write(std::string_view data);
  WriteStatus end();
  // Ends the last part, waits for every part's compression, then puts every part under its name
  // in order (an identical file a resumed run meets is kept); none is named when one failed.
  WriteStatus commit(bool sync);
  void abort();

  unsigned parts() const { return static_cast<unsigned>(parts_.size()); }
  // The file the last entry begun went into.
  const std::string& current_name() const { return parts_.back()->name; }
  std::uint64_t entries() const { return entries_; }

 private:
  struct Part {
    std::unique_ptr<GzipOutputFile> gz;
    std::unique_ptr<ScratchFile> staged;  // its tar bytes, until compressed
    std::string name;
    WriteStatus status;  // of its compression (set before done, read after the wait)
    bool done = false;   // ended and compressed
  };
  WriteStatus start_part();
  WriteStatus end_part();
  void compress(Part& p);
  WriteStatus handed_failure();
  void wait_handed();

  std::filesystem::path dir_;
  Namer name_;
  std::uint64_t budget_ = 0;
  PartStaging staging_;
  std::vector<std::unique_ptr<Part>> parts_;  // stable addresses: compressions hold them
  std::unique_ptr<TarWriter> tar_;
  std::uint64_t entries_ = 0, part_entries_ = 0;
  bool handed_ = false;  // some part went to the compressor since the last wait
  // A handed-out compression that failed: the producer stops early (a full disk stops the run).
  std::atomic<bool> failed_{false};
  std::atomic<bool> cancelled_{false};  // abort(): parts not yet compressed are not
  std::mutex failure_mutex_;
  WriteStatus failure_;
};

}  // namespace cyrconv
