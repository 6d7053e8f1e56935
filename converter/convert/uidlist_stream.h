#pragma once
// An earlier run's dovecot-uidlist read line by line, none of it held (a folder of a million
// messages has a uidlist of some 60 MB): what the preparation of an incremental run needs of it,
// and its copy with a new UIDNEXT written in pieces (issue 25).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "writers/output_file.h"

namespace cyrconv {

// A file of ours read through a 64 KiB buffer; `line` sees each line without its '\n' (the last
// one also without one), as a split on '\n' gives them. A missing file: exists false, no error.
struct LineRead {
  bool exists = false;
  std::uint64_t bytes = 0;
  std::string error;  // "PATH: ..." when it cannot be opened or read
};
LineRead read_output_lines(const std::filesystem::path& path, const std::function<void(std::string_view)>& line);

// What parse_dovecot_uidlist (converter/verify/output_reader.h) gives of the same file, without
// its map: header fields, whether it found any error, the largest UID listed, and whether every
// base `ours` accepts (when given).
struct UidlistScan {
  LineRead read;
  std::uint32_t version = 0, uidvalidity = 0, uidnext = 0;
  bool clean = true;
  bool all_bases_ours = true;
  std::optional<std::uint32_t> max_uid;
};
UidlistScan scan_uidlist(const std::filesystem::path& path, const std::function<bool(std::string_view)>& ours = {});

// uidlist_with_uidnext (prior_output.h) of the file at `path`, written to `out` a piece at a time.
WriteStatus copy_uidlist_with_uidnext(const std::filesystem::path& path, std::uint32_t uidnext,
                                      const std::set<std::uint32_t>& rewritten, OutputFile& out);

}  // namespace cyrconv
