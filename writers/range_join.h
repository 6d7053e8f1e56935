#pragma once
// The join of a folder's range parts (converter/convert/range_parts.h): the parts of UID ranges 0..k-1,
// written by the shards that held them, concatenated in range order into the folder's uidlist,
// manifest and mbox file and committed as a single convert's finish commits them. Writers never
// parse Cyrus files; this reads only our own part files.
#include <cstddef>
#include <filesystem>
#include <string>

#include "writers/output_file.h"

namespace cyrconv {

struct RangeJoin {
  std::filesystem::path parts_dir;  // holds <r>.uidlist / <r>.manifest / <r>.mbox
  std::size_t ranges = 0;
  bool mbox = false;
  bool gzip = false;          // mbox: compress into <mbox_file>.gz
  bool sync = false;          // --sync folder or message
  bool mbox_replace = false;  // OnExisting::replace (incremental) instead of keep_identical
  // X-IMAPbase the folder's first written message lacks (part 0 wrote none); "" when not needed.
  // It goes right before that message's "X-UID: " (ours: the encoder renamed the message's own).
  std::string imapbase;
  std::filesystem::path maildir;     // Maildir folder: uidlist beside cur/
  std::filesystem::path mbox_file;   // mbox folder file (without .gz)
  std::filesystem::path uidlist_path, manifest_path;
};

// `inserted`: the bytes the join added besides the parts' (the X-IMAPbase line, when it went in).
WriteStatus join_range_parts(const RangeJoin& j, std::uint64_t& inserted);

}  // namespace cyrconv
