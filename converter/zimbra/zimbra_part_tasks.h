#pragma once
// Parallel parts of one big archive (docs/zimbra.md "Parallel parts"): the user's thread stages
// a part's tar bytes (writers/zimbra_archive.h) and hands its compression to a task of the run's
// arena, then goes on with the next part. At most `threads` parts of the whole run are handed out
// at once; a part beyond that is compressed by the user's own thread, so staging on disk stays
// bounded and no thread waits for a free one. The caller runs each user inside
// tbb::this_task_arena::isolate: waiting for its parts, a thread then takes only its own user's
// tasks, never another user's whole archive.
#include <tbb/task_group.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "converter/zimbra/zimbra_user_run.h"
#include "writers/zimbra_archive.h"

namespace cyrconv {

// One per run, shared by the users in progress.
class ZimbraPartPool {
 public:
  ZimbraPartPool();  // the run's threads: --threads, or one per core
  unsigned threads() const { return threads_; }
  bool take();  // whether one more part may be handed out now; give_back() when it is done
  void give_back() { handed_.fetch_sub(1, std::memory_order_acq_rel); }

 private:
  unsigned threads_;
  std::atomic<unsigned> handed_{0};
};

// One user's handed-out parts. Outlives the user's archive (declared before it).
class ZimbraPartTasks final : public PartCompressor {
 public:
  explicit ZimbraPartTasks(ZimbraPartPool* pool) : pool_(pool) {}
  ~ZimbraPartTasks() noexcept override;  // waits; nothing is left for the group to throw about
  ZimbraPartTasks(const ZimbraPartTasks&) = delete;
  ZimbraPartTasks& operator=(const ZimbraPartTasks&) = delete;

  void submit(std::function<void()> work) override;
  void wait() override;

 private:
  ZimbraPartPool* pool_;
  // Isolated: a failure elsewhere in the run cancels no compression of an archive in progress
  // (its user finishes, as before parts were parallel).
  tbb::task_group_context context_{tbb::task_group_context::isolated};
  tbb::task_group group_{context_};
};

// Tar bytes an archive of `jobs` would take at most, about: every message with a header block
// and a block of padding and long name.
std::uint64_t zimbra_tar_estimate(const ZimbraUser& user, const std::vector<ZimbraJob>& jobs,
                                  const std::vector<MailboxInventory>& inv);

// Which parts of a user's archive are staged: none with one thread (nobody else to compress
// them), else parts 2, ... and part 1 too when the estimate fills more than one part. An archive
// of one part (most users) is streamed into deflate as before: staging it would only write its
// tar bytes to disk once more, while the other users keep the threads busy.
PartStaging zimbra_part_staging(ZimbraPartTasks& tasks, const ZimbraPartPool* pool, std::uint64_t tar_estimate,
                                std::uint64_t part_size);

}  // namespace cyrconv
