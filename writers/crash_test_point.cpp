#include "writers/crash_test_point.h"

#include <csignal>
#include <cstdlib>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

namespace cyrconv {

namespace {

std::int64_t commits_from_env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  return end && (*end == '\0' || *end == ':') && n > 0 ? n : -1;
}

struct InterruptHook {
  std::int64_t after = -1;
  int sig = SIGINT;
  bool pause = false;
};

InterruptHook interrupt_hook() {
  InterruptHook h;
  h.after = commits_from_env("CYRCONV_TEST_INTERRUPT_AFTER_COMMITS");
  if (h.after < 0) return h;
  const std::string_view v = std::getenv("CYRCONV_TEST_INTERRUPT_AFTER_COMMITS");
  h.sig = v.find(":TERM") != std::string_view::npos ? SIGTERM : SIGINT;
  h.pause = v.find(":PAUSE") != std::string_view::npos;
  return h;
}

}  // namespace

void crash_test_point() {
  static const std::int64_t kill_limit = commits_from_env("CYRCONV_TEST_KILL_AFTER_COMMITS");
  static const InterruptHook hook = interrupt_hook();
  static std::atomic<std::int64_t> commits{0};
  if (kill_limit < 0 && hook.after < 0) return;
  const std::int64_t n = commits.fetch_add(1, std::memory_order_relaxed) + 1;
  if (kill_limit >= 0 && n >= kill_limit) std::raise(SIGKILL);
  if (n == hook.after) {
    std::raise(hook.sig);
    if (hook.pause) std::this_thread::sleep_for(std::chrono::seconds(10));
  }
}

}  // namespace cyrconv
