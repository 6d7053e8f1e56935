#pragma once
// Pre-flight checks every subcommand makes before it reads the first message (README "Pre-flight
// checks", status 2): an output inside an input tree (or an input inside an output), a --spool
// one level too high, an output location that cannot be created or written, a uuid-layout store
// without --config. Each refusal is one line naming the path and what to do. Creates nothing
// (a probe file is created and removed at once).
#include <filesystem>
#include <string>
#include <vector>

#include "converter/source/discover.h"

namespace cyrconv {

struct PreflightPath {
  std::string option;             // "--out", "--report", ...
  std::filesystem::path path;
  enum class Kind { directory, file } kind = Kind::file;
};

struct PreflightRequest {
  const SourceInputs* inputs = nullptr;  // null: no input trees (report merge)
  std::vector<PreflightPath> outputs;    // written by the run
};

struct PreflightResult {
  std::string refusal;                   // "" when the run may go on
  std::vector<std::string> warnings;     // one line each, printed before the work
};

PreflightResult preflight(const PreflightRequest& request);

// The real path of `p` as far as it exists, the rest appended lexically (an output not made yet).
std::filesystem::path resolved_path(const std::filesystem::path& p);

}  // namespace cyrconv
