#pragma once
// The I/O stage for latency-bound source storage (NFS, `--io-depth`): while a worker converts
// one message file, I/O threads already open and read the start of the next ones of the same
// folder, so many files are in flight even when one big folder is converted by one worker.
//
// Bounded memory: each Prefetcher has `depth` fixed slots (one read buffer each), allocated
// once and reused. Each file is still read exactly once: an I/O thread opens it and reads its
// first chunk (the same read() a direct stream_source_file would do first), and the consumer
// reads the rest from the same descriptor. The consumer sees the same chunks in the same
// order as stream_source_file, so output bytes do not depend on the depth.
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>
#include <thread>
#include <vector>

#include "converter/source/source_io.h"

namespace cyrconv {

class Prefetcher;

// The run's I/O threads, shared by all prefetchers. They mostly wait on the storage, so there
// are more of them than cores (depth x workers).
class IoThreads {
 public:
  explicit IoThreads(std::size_t threads);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

 private:
  friend class Prefetcher;
  struct Request {
    Prefetcher* owner;
    std::size_t slot;
  };
  void submit(Request r);
  void loop();
  std::mutex lock_;
  std::condition_variable wake_;
  std::deque<Request> queue_;
  bool quit_ = false;
  std::vector<std::thread> threads_;
};

// Reads ahead the files of one list (a folder's message files in the order they will be
// asked for). Owned by one worker; start() and stream() are called from that worker only.
class Prefetcher {
 public:
  Prefetcher() = default;
  ~Prefetcher() { stop(); }
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;

  // Begins reading ahead up to `depth` files of `paths`, `chunk` bytes each (the size of the
  // consumer's read buffer). Nothing happens when `io` is null or depth < 2.
  void start(IoThreads* io, std::size_t depth, std::size_t chunk, std::vector<std::filesystem::path> paths);
  // stream_source_file(path, buffer, sink), taking the prefetched start of `path` when it is
  // among the next files read ahead (files before it that were never asked for are dropped
  // unread by the consumer); a file not read ahead is read directly.
  SourceStream stream(const std::filesystem::path& path, std::span<char> buffer,
                      const std::function<void(std::string_view)>& sink);
  // The same, the reads after the prefetched start going into the room `next` gives
  // (stream_source_file's ReadSpace form).
  SourceStream stream(const std::filesystem::path& path, const ReadSpace& next,
                      const std::function<void(std::string_view)>& sink);
  // Waits for the reads in flight and closes what was not taken. Idempotent.
  void stop();

 private:
  friend class IoThreads;
  enum class State { idle, queued, done };
  struct Slot {
    State state = State::idle;
    std::size_t index = 0;  // into paths_
    int fd = -1;            // open when the file is longer than the first chunk
    std::size_t got = 0;    // bytes of the first chunk in `data`
    SourceStream result;
    std::vector<char> data;
  };
  void fill(std::size_t slot);  // on an I/O thread
  void queue(std::size_t index);
  void drop(Slot& s);

  IoThreads* io_ = nullptr;
  std::vector<std::filesystem::path> paths_;
  std::vector<Slot> slots_;
  std::size_t next_ = 0;  // first index not yet taken or dropped
  bool cancelled_ = false;
  std::mutex lock_;
  std::condition_variable ready_;
};

// Stops a prefetcher when a scope ends (a folder's conversion returns early on failure).
struct PrefetchScope {
  Prefetcher& prefetcher;
  ~PrefetchScope() { prefetcher.stop(); }
};

}  // namespace cyrconv
