#include "converter/zimbra/zimbra_part_tasks.h"

#include <tbb/global_control.h>
#include <tbb/task_arena.h>

#include <algorithm>

namespace cyrconv {

ZimbraPartPool::ZimbraPartPool()
    : threads_(static_cast<unsigned>(
          std::max<std::size_t>(1, std::min(static_cast<std::size_t>(tbb::this_task_arena::max_concurrency()),
                                            tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism))))) {}

bool ZimbraPartPool::take() {
  // As many as threads: while the other threads compress one part each, one more waits queued,
  // so a thread that finishes finds the next part at once.
  if (handed_.fetch_add(1, std::memory_order_acq_rel) < threads_) return true;
  give_back();
  return false;
}

ZimbraPartTasks::~ZimbraPartTasks() noexcept { wait(); }

void ZimbraPartTasks::submit(std::function<void()> work) {
  if (!pool_ || !pool_->take()) {
    work();  // every slot taken: this thread compresses the part itself
    return;
  }
  ZimbraPartPool* pool = pool_;
  group_.run([pool, work = std::move(work)] {
    work();
    pool->give_back();
  });
}

void ZimbraPartTasks::wait() { group_.wait(); }

std::uint64_t zimbra_tar_estimate(const ZimbraUser& user, const std::vector<ZimbraJob>& jobs,
                                  const std::vector<MailboxInventory>& inv) {
  std::uint64_t n = 0;
  for (std::size_t j : user.jobs)
    if (!jobs[j].orphans_of) n += inv[jobs[j].inventory].bytes + 2 * TarWriter::block * inv[jobs[j].inventory].live_count;
  return n;
}

PartStaging zimbra_part_staging(ZimbraPartTasks& tasks, const ZimbraPartPool* pool, std::uint64_t tar_estimate,
                                std::uint64_t part_size) {
  if (!pool || pool->threads() < 2 || part_size == 0) return {};
  return PartStaging{&tasks, tar_estimate > ZimbraArchive::tar_budget(part_size)};
}

}  // namespace cyrconv
