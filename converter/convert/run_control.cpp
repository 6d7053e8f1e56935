#include "converter/convert/run_control.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "converter/cli/interrupt.h"

namespace cyrconv {

namespace fs = std::filesystem;

Finding make_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

void RunControl::note(const WriteStatus& st) {
  if (st || !st.disk_full()) return;
  std::lock_guard<std::mutex> g(lock);
  if (!stop.load()) {
    reason = st.message;
    stop.store(true);
  }
}

bool RunControl::stopped() {
  if (!stop.load(std::memory_order_relaxed) && interrupt_requested()) {
    std::lock_guard<std::mutex> g(lock);
    if (!stop.load()) {
      reason = "interrupted";
      interrupted = true;
      stop.store(true);
    }
  }
  return stop.load(std::memory_order_acquire);  // then `reason` (set before) is seen
}

void RunControl::start_syncer(const fs::path& out) {
  out_fd = ::open(out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  syncer = std::thread([this] {
    std::unique_lock<std::mutex> g(done_lock);
    while (!done_quit) {
      done_wake.wait_for(g, std::chrono::seconds(2), [this] { return done_quit || done_waiting.size() >= 256; });
      if (done_quit || done_waiting.empty()) continue;
      std::vector<DoneEntry> group;
      group.swap(done_waiting);
      g.unlock();
      write_done_group(group);
      g.lock();
    }
  });
}

void RunControl::journal_done(DoneEntry e) {
  std::lock_guard<std::mutex> g(done_lock);
  done_waiting.push_back(std::move(e));
  if (done_waiting.size() >= 256) done_wake.notify_one();
}

void RunControl::finish_syncer() {
  if (!syncer.joinable()) return;
  {
    std::lock_guard<std::mutex> g(done_lock);
    done_quit = true;
  }
  done_wake.notify_one();
  syncer.join();
  write_done_group(done_waiting);
  if (out_fd >= 0) {
    (void)::syncfs(out_fd);
    ::close(out_fd);
    out_fd = -1;
  }
}

void RunControl::write_done_group(std::vector<DoneEntry>& group) {
  if (group.empty()) return;
  std::string why;
  if (out_fd < 0 || ::syncfs(out_fd) != 0)
    why = std::string("syncfs of the output failed: ") + std::strerror(out_fd < 0 ? EBADF : errno);
  for (auto& e : group) {
    WriteStatus st = why.empty() ? write_folder_done(e.root, e.side, e.done, false) : WriteStatus{false, why};
    if (st) {
      remove_folder_pending(e.root, e.side);
      continue;
    }
    // Not journaled: the next run converts the folder again (its files are kept when equal).
    e.out->failed = true;
    e.out->fail_reason = st.message;
    e.out->findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  }
  group.clear();
}

}  // namespace cyrconv
