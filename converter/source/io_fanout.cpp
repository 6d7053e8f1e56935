#include "converter/source/io_fanout.h"

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace cyrconv {

std::size_t io_width(int io_depth) {
  const std::size_t workers =
      std::min(static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()),
               tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism));
  return static_cast<std::size_t>(std::max(io_depth, 1)) * std::max<std::size_t>(workers, 1);
}

void for_each_io(int io_depth, std::size_t n, const std::function<void(std::size_t)>& fn) {
  if (io_depth <= 1) {
    tbb::parallel_for(std::size_t{0}, n, [&](std::size_t i) { fn(i); });
    return;
  }
  // Each thread takes the next index: a slow directory does not hold up a fixed share.
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr error;
  std::mutex error_lock;
  auto loop = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const std::size_t i = next.fetch_add(1);
      if (i >= n) return;
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> g(error_lock);
        if (!error) error = std::current_exception();
        failed = true;
      }
    }
  };
  const std::size_t width = std::min(io_width(io_depth), n);
  std::vector<std::thread> threads;
  if (width > 1) threads.reserve(width - 1);
  try {
    for (std::size_t t = 1; t < width; ++t) threads.emplace_back(loop);
  } catch (const std::system_error&) {
    // No more threads to be had: the ones started (and this one) do all the work.
  }
  loop();  // the calling thread is one of them
  for (auto& t : threads) t.join();
  if (error) std::rethrow_exception(error);
}

}  // namespace cyrconv
