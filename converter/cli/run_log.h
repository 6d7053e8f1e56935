#pragma once
// --log FILE (README "Quiet output and logs"): the command line and start time, the pre-flight
// warnings as they are found, a progress line every 30 s (converter/cli/progress.h), then the full
// (verbose) text report and how the run ended; each line flushed as it is written, so an
// interrupted or crashed run leaves what it got to.
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

namespace cyrconv {

class RunLog {
 public:
  // "" when open (or `file` is empty: no log), else why it cannot be written.
  std::string open(const std::filesystem::path& file, const std::string& command_line);
  bool enabled() const { return out_.is_open(); }
  void line(std::string_view text);
  std::ostream& stream() { return out_; }  // for the text report; flush() after
  void flush() { out_.flush(); }

 private:
  std::ofstream out_;
};

}  // namespace cyrconv
