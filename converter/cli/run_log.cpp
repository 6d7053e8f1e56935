#include "converter/cli/run_log.h"

#include <chrono>
#include <ctime>

namespace cyrconv {

std::string RunLog::open(const std::filesystem::path& file, const std::string& command_line) {
  if (file.empty()) return {};
  // Pre-flight let it through: its directory exists, or is inside --out, which the run makes.
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  out_.open(file, std::ios::binary | std::ios::app);
  if (!out_) return "--log: cannot write " + file.string();
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  out_ << "\n== " << when << " " << command_line << '\n';
  out_.flush();
  return {};
}

void RunLog::line(std::string_view text) {
  if (!enabled()) return;
  out_ << text << '\n';
  out_.flush();
}

}  // namespace cyrconv
