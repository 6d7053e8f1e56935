#pragma once
// Where a range of a folder writes its mbox bytes: a plain file (OutputFile), or with --gzip the
// folder's compressed stream (GzipOutputFile), compressed as it is written and never read back.
// A gzip stream cannot be rewound, so there a message's bytes stay pending (in memory up to
// 256 KiB, else in an unlinked scratch file) until it is settled (committed) or rewound
// (quarantined, repaired, failed); a plain file is written and rewound directly.
#include <cstdint>
#include <string_view>
#include <vector>

#include "writers/gzip_stream.h"
#include "writers/output_file.h"
#include "writers/scratch_file.h"

namespace cyrconv {

class MboxWriter {
 public:
  MboxWriter() = default;
  explicit MboxWriter(OutputFile* plain) : plain_(plain) {}
  // --gzip: `pending` holds the message being written until settle().
  MboxWriter(GzipOutputFile* gz, ScratchFile* pending) : gz_(gz), pending_(pending) {}

  OutputFile* plain() const { return plain_; }
  // Bytes written so far, uncompressed, the pending message's included: mbox offsets.
  std::uint64_t bytes_written() const;
  // Bytes that are settled at once: a joined range, a copied earlier mbox.
  WriteStatus write(std::string_view bytes);
  // A message's bytes: pending until settle() or rewind_to().
  WriteStatus write_message(std::string_view bytes);
  WriteStatus settle();
  // Drops what was written after `mark` (the start of the pending message, with --gzip).
  WriteStatus rewind_to(std::uint64_t mark);

 private:
  OutputFile* plain_ = nullptr;
  GzipOutputFile* gz_ = nullptr;
  ScratchFile* pending_ = nullptr;
  std::uint64_t settled_ = 0;
  std::vector<char> buffer_;  // reading back a pending message beyond the scratch's memory
};

}  // namespace cyrconv
