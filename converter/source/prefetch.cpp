#include "converter/source/prefetch.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <algorithm>
#include <string>

namespace cyrconv {

IoThreads::IoThreads(std::size_t threads) {
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { loop(); });
}

IoThreads::~IoThreads() {
  {
    std::lock_guard<std::mutex> g(lock_);
    quit_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

void IoThreads::submit(Request r) {
  {
    std::lock_guard<std::mutex> g(lock_);
    queue_.push_back(r);
  }
  wake_.notify_one();
}

void IoThreads::loop() {
  for (;;) {
    Request r{};
    {
      std::unique_lock<std::mutex> g(lock_);
      wake_.wait(g, [&] { return quit_ || !queue_.empty(); });
      if (queue_.empty()) return;
      r = queue_.front();
      queue_.pop_front();
    }
    r.owner->fill(r.slot);
  }
}

void Prefetcher::start(IoThreads* io, std::size_t depth, std::size_t chunk, std::vector<std::filesystem::path> paths) {
  stop();
  if (!io || depth < 2) return;
  io_ = io;
  paths_ = std::move(paths);
  if (slots_.size() != depth) slots_ = std::vector<Slot>(depth);
  for (auto& s : slots_)
    if (s.data.size() != chunk) s.data.resize(chunk);
  next_ = 0;
  cancelled_ = false;
  for (std::size_t i = 0; i < depth && i < paths_.size(); ++i) queue(i);
}

// Called with lock_ held (or before any request is out).
void Prefetcher::queue(std::size_t index) {
  Slot& s = slots_[index % slots_.size()];
  s.state = State::queued;
  s.index = index;
  s.fd = -1;
  s.got = 0;
  s.result = SourceStream{};
  io_->submit(IoThreads::Request{this, index % slots_.size()});
}

void Prefetcher::fill(std::size_t slot) {
  Slot& s = slots_[slot];
  std::filesystem::path path;
  {
    std::lock_guard<std::mutex> g(lock_);
    if (!cancelled_) path = paths_[s.index];
  }
  if (!path.empty()) {
    // The open, and the first read() exactly as read_source_rest would do it.
    const int fd = open_source_stream(path, s.result);
    if (fd >= 0) {
      ssize_t n;
      do n = ::read(fd, s.data.data(), s.data.size());
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        s.result.status = SourceOpen::Status::error;
        s.result.message = path.string() + ": read error at offset 0: " + std::strerror(errno);
        ::close(fd);
      } else if (static_cast<std::size_t>(n) < s.data.size()) {
        // A short read of a regular file is its end: close here, off the worker's path
        // (on NFS or FUSE a close is another round trip).
        s.got = static_cast<std::size_t>(n);
        ::close(fd);
      } else {
        s.got = static_cast<std::size_t>(n);
        s.fd = fd;
      }
    }
  }
  // Notified under the lock: once stop() sees `done` the prefetcher may be gone.
  std::lock_guard<std::mutex> g(lock_);
  s.state = State::done;
  ready_.notify_all();
}

void Prefetcher::drop(Slot& s) {
  if (s.fd >= 0) ::close(s.fd);
  s.fd = -1;
  s.state = State::idle;
}

SourceStream Prefetcher::stream(const std::filesystem::path& path, std::span<char> buffer,
                                const std::function<void(std::string_view)>& sink) {
  return stream(path, ReadSpace([buffer] { return buffer; }), sink);
}

SourceStream Prefetcher::stream(const std::filesystem::path& path, const ReadSpace& buffer,
                                const std::function<void(std::string_view)>& sink) {
  if (!io_) return stream_source_file(path, buffer, sink);
  std::unique_lock<std::mutex> g(lock_);
  const std::size_t window_end = std::min(next_ + slots_.size(), paths_.size());
  std::size_t k = next_;
  while (k < window_end && paths_[k] != path) ++k;
  if (k == window_end) {
    g.unlock();
    return stream_source_file(path, buffer, sink);
  }
  // Files read ahead that the worker skipped (it had no reason to read them after all).
  for (; next_ <= k; ++next_) {
    Slot& s = slots_[next_ % slots_.size()];
    ready_.wait(g, [&] { return s.state == State::done; });
    if (next_ < k) {
      drop(s);
      if (next_ + slots_.size() < paths_.size()) queue(next_ + slots_.size());
    }
  }
  Slot& s = slots_[k % slots_.size()];
  g.unlock();
  SourceStream r = std::move(s.result);
  if (r.status == SourceOpen::Status::ok) {
    if (s.got) sink(std::string_view(s.data.data(), s.got));
    r.bytes = s.got;
    if (s.fd >= 0) read_source_rest(s.fd, path, buffer, sink, r);
    s.fd = -1;
  }
  g.lock();
  s.state = State::idle;
  if (k + slots_.size() < paths_.size()) queue(k + slots_.size());
  return r;
}

void Prefetcher::stop() {
  if (!io_) return;
  std::unique_lock<std::mutex> g(lock_);
  cancelled_ = true;
  for (auto& s : slots_) {
    ready_.wait(g, [&] { return s.state != State::queued; });
    drop(s);
  }
  io_ = nullptr;
  paths_.clear();
}

}  // namespace cyrconv
