#pragma once
// The metadata passes (discover's walk, inventory, per-user databases) with `--io-depth`: on
// NFS each of their opens, stats and directory reads is a round trip, so with depth N they run
// N per worker at a time instead of one. Results land by index, so the order of mailboxes and
// findings never depends on timing.
#include <cstddef>
#include <functional>

namespace cyrconv {

// How many metadata reads are in flight: io_depth per worker thread of the run (the same
// count as the message-file I/O threads of converter/source/prefetch.h).
std::size_t io_width(int io_depth);

// Calls fn(i) once for each i in [0, n). io_depth <= 1: on the run's TBB workers, as the
// CPU-bound passes do. io_depth > 1: on io_width(io_depth) plain threads that mostly wait on
// the storage (a TBB arena cannot be wider than the --threads limit). The first exception
// thrown by fn is rethrown here after every thread has stopped.
void for_each_io(int io_depth, std::size_t n, const std::function<void(std::size_t)>& fn);

}  // namespace cyrconv
