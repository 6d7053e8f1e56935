#include "converter/cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace cyrconv {

namespace {

std::function<void(const std::string&)>& progress_log() {
  static std::function<void(const std::string&)> sink;
  return sink;
}

std::string mib(std::uint64_t b) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", static_cast<double>(b) / (1024.0 * 1024.0));
  return s;
}

std::string duration(double seconds) {
  if (seconds < 0) return "?";
  const auto s = static_cast<long long>(seconds + 0.5);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

}  // namespace

void set_progress_log(std::function<void(const std::string&)> sink) { progress_log() = std::move(sink); }

Progress::Progress(std::string label, std::uint64_t total_bytes, std::uint64_t total_messages, bool quiet)
    : label_(std::move(label)),
      total_bytes_(total_bytes),
      total_messages_(total_messages),
      start_(std::chrono::steady_clock::now()),
      enabled_(!quiet || progress_log()),
      tty_(isatty(STDERR_FILENO) == 1),
      to_stderr_(!quiet) {
  if (enabled_) thread_ = std::thread([this] { run(); });
}

Progress::Progress(std::string label, ByFolders folders, bool quiet) : Progress(std::move(label), 0, 0, true) {
  total_folders_ = folders.total_folders;
  enabled_ = !quiet || progress_log();
  to_stderr_ = !quiet;
  if (enabled_) thread_ = std::thread([this] { run(); });
}

Progress::~Progress() {
  if (!enabled_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  const std::string last = line(true);
  if (to_stderr_) std::fprintf(stderr, "%s%s\n", tty_ ? "\r\033[K" : "", last.c_str());
  if (progress_log()) progress_log()(last);
}

std::string Progress::line(bool final) const {
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const std::uint64_t b = bytes_.load(std::memory_order_relaxed);
  const std::uint64_t m = messages_.load(std::memory_order_relaxed);
  const double rate = secs > 0 ? static_cast<double>(b) / secs : 0;
  if (total_folders_) {
    const std::uint64_t f = folders_.load(std::memory_order_relaxed);
    std::string s = label_ + ": " + std::to_string(f) + " of " + std::to_string(total_folders_) + " folders, " +
                    std::to_string(m) + " messages, " + mib(b) + ", " + mib(static_cast<std::uint64_t>(rate)) + "/s";
    if (final) return s + ", " + duration(secs) + " elapsed";
    return s + ", ETA " + duration(f ? secs * static_cast<double>(total_folders_ - std::min(f, total_folders_)) /
                                           static_cast<double>(f)
                                     : -1);
  }
  std::string s = label_ + ": " + mib(b) + " of " + mib(total_bytes_) + ", " + std::to_string(m) + " of " +
                  std::to_string(total_messages_) + " messages, " + mib(static_cast<std::uint64_t>(rate)) + "/s";
  if (final)
    s += ", " + duration(secs) + " elapsed";
  else
    s += ", ETA " + duration(rate > 0 && total_bytes_ >= b ? static_cast<double>(total_bytes_ - b) / rate : -1);
  return s;
}

void Progress::run() {
  // A terminal gets a line rewritten every second; a log gets a line every 30 s at most, so a
  // long run cannot fill a disk with progress.
  const bool live = tty_ && to_stderr_;
  const auto interval = live ? std::chrono::seconds(1) : std::chrono::seconds(30);
  int ticks = 0;  // a live terminal ticks every second; the log wants a line every 30
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
    const std::string now = line(false);
    if (to_stderr_) {
      std::fprintf(stderr, live ? "\r\033[K%s" : "%s\n", now.c_str());
      std::fflush(stderr);
    }
    if (progress_log() && (!live || ++ticks % 30 == 0)) progress_log()(now);
  }
}

}  // namespace cyrconv
