#include "converter/cli/interrupt.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace cyrconv {

namespace {

std::atomic<int> received{0};
std::atomic<int> mode{0};
std::atomic<const char*> exit_text{nullptr};
static_assert(std::atomic<int>::is_always_lock_free, "the handler may only touch lock-free atomics");

void say(const char* text) {
  // write(2) is async-signal-safe; a failed write has no one to tell.
  const ssize_t n = ::write(STDERR_FILENO, text, std::strlen(text));
  (void)n;
}

extern "C" void on_signal(int sig) {
  if (received.exchange(sig) != 0) {
    say("\ncyrconv: interrupted again: stopping now; run the same command again to resume\n");
    ::_exit(128 + sig);
  }
  if (mode.load() == static_cast<int>(InterruptMode::exit_now)) {
    say("\n");
    say(exit_text.load());
    say("\n");
    ::_exit(128 + sig);
  }
  say("\ncyrconv: interrupt received: finishing the messages in progress (interrupt again to stop at once)\n");
}

}  // namespace

void install_interrupt_handlers(InterruptMode m, const char* exit_line) {
  mode.store(static_cast<int>(m));
  exit_text.store(exit_line);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // reads and writes in flight go on; the run checks the flag
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
}

int interrupt_signal() { return received.load(std::memory_order_relaxed); }

}  // namespace cyrconv
