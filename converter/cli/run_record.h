#pragma once
// OUT/convert-options.json: the options convert ran with that verify needs to read the output as
// it was written (format, --eol, --profile, --users, whether a --rename-map was given), so
// verify after `convert --eol crlf --users fred` needs no repeated options (README "verify").
// Each convert run merges into it: users add up; an option two runs gave differently is
// recorded as "" (verify then needs it on its command line).
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "writers/output_file.h"

namespace cyrconv {

struct RunRecord {
  std::string format, eol, profile;               // "" : runs disagreed
  std::optional<std::vector<std::string>> users;  // nullopt: every user
  bool rename_map = false;                        // some run was given --rename-map
};

inline constexpr const char* run_record_file = "convert-options.json";

// nullopt with `error` empty when absent; with `error` set when unreadable.
std::optional<RunRecord> read_run_record(const std::filesystem::path& out, std::string& error);
// Merges `now` into the record there (if any) and writes it atomically.
WriteStatus record_convert_run(const std::filesystem::path& out, const RunRecord& now, bool sync);

// verify's options as given on its command line ("" = not given); apply_run_record fills the
// ones not given from the record and returns a refusal ("" when none) for one that contradicts it.
struct RecordedOptions {
  std::string format, eol, profile;
  std::string users;       // comma separated
  std::string rename_map;  // a file
  std::string warning;     // the record is there but unreadable
};
std::string apply_run_record(const std::filesystem::path& out, RecordedOptions& given);

}  // namespace cyrconv
