#include "writers/crash_test_point.h"

#include <csignal>
#include <cstdlib>

#include <atomic>
#include <cstdint>

namespace cyrconv {

namespace {

std::int64_t kill_after() {
  const char* v = std::getenv("CYRCONV_TEST_KILL_AFTER_COMMITS");
  if (!v || !*v) return -1;
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  return end && *end == '\0' && n > 0 ? n : -1;
}

}  // namespace

void crash_test_point() {
  static const std::int64_t limit = kill_after();
  static std::atomic<std::int64_t> commits{0};
  if (limit < 0) return;
  if (commits.fetch_add(1, std::memory_order_relaxed) + 1 >= limit) std::raise(SIGKILL);
}

}  // namespace cyrconv
