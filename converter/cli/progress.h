#pragma once
// Progress of a long pass, on stderr: one updating line on a terminal, a plain line every
// `interval_plain` otherwise, nothing with --quiet. The ETA is computed from bytes, not
// messages or folders, so a run whose biggest mailboxes are still ahead does not lie.
// A --log (converter/cli/run_log.h) gets a plain line every 30 s and the final one, --quiet or not.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace cyrconv {

// Where every Progress also writes its plain lines (the run's --log); empty: nowhere.
void set_progress_log(std::function<void(const std::string&)> sink);

class Progress {
 public:
  // `total_bytes` and `total_messages` are what the pass will read.
  Progress(std::string label, std::uint64_t total_bytes, std::uint64_t total_messages, bool quiet);
  ~Progress();  // stops the reporter and prints a final line
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // A pass that learns its byte total only as it goes (scan, audit: folders are inventoried in
  // batches) counts folders instead: the ETA then follows the share of folders done.
  struct ByFolders {
    std::uint64_t total_folders;
  };
  Progress(std::string label, ByFolders folders, bool quiet);

  void add(std::uint64_t bytes, std::uint64_t messages) {
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    messages_.fetch_add(messages, std::memory_order_relaxed);
  }
  void add_folders(std::uint64_t n) { folders_.fetch_add(n, std::memory_order_relaxed); }

 private:
  void run();
  std::string line(bool final) const;

  std::string label_;
  std::uint64_t total_bytes_, total_messages_, total_folders_ = 0;
  std::atomic<std::uint64_t> bytes_{0}, messages_{0}, folders_{0};
  std::chrono::steady_clock::time_point start_;
  bool enabled_, tty_;
  bool to_stderr_;  // not --quiet
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace cyrconv
