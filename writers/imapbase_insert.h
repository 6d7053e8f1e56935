#pragma once
// The X-IMAPbase line an mbox folder's first message carries, added to an mbox segment written
// without it: when a folder is converted (or joined) in UID ranges and the first range wrote no
// message, the first message of a later range must get it. It goes right before that message's
// "X-UID: " field: cyrconv's metadata fields follow X-IMAPbase in that order, and the encoder
// renamed any X-UID of the message's own header, so the first "\nX-UID: " in a segment is ours.
// Streams: chunks in, chunks out, a few bytes carried over chunk ends.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "writers/output_file.h"

namespace cyrconv {

class ImapbaseInserter {
 public:
  using Sink = std::function<WriteStatus(std::string_view)>;
  // `line` ("X-IMAPbase: ...\n") goes into what is written to `out`.
  ImapbaseInserter(std::string_view line, Sink out) : line_(line), out_(std::move(out)) {}
  WriteStatus feed(std::string_view chunk);
  WriteStatus finish();  // writes what is still carried; call once after the last chunk

  bool inserted() const { return inserted_; }
  // Offset in the segment (as read) where the line went: a manifest line whose mbox offset is at
  // or past it moves by line().size().
  std::uint64_t inserted_at() const { return inserted_at_; }
  std::size_t size() const { return line_.size(); }

 private:
  std::string line_;
  Sink out_;
  std::string carry_;
  std::uint64_t consumed_ = 0;  // bytes of the segment already passed on
  bool inserted_ = false;
  std::uint64_t inserted_at_ = 0;
};

}  // namespace cyrconv
