#pragma once
// SIGINT and SIGTERM (README "Interrupts"). convert stops at the next message boundary: the
// folders in flight are left as an interrupted run leaves them (resumable), the journal is
// finished, the summary so far printed, and the exit status is 128 + the signal. The read-only
// subcommands have nothing to finish and exit at once. A second signal always exits at once
// (the journal stays as consistent as after SIGKILL).
namespace cyrconv {

enum class InterruptMode {
  stop_at_boundary,  // convert: interrupt_requested() turns true, the run winds down
  exit_now,          // scan, audit, verify, plan, report merge: one line on stderr, exit
};

// `exit_line`: what exit_now prints before it exits (a string literal: the handler keeps it).
void install_interrupt_handlers(InterruptMode mode, const char* exit_line = "cyrconv: interrupted: run the same command again");

// The signal received (SIGINT, SIGTERM), 0 when none.
int interrupt_signal();
inline bool interrupt_requested() { return interrupt_signal() != 0; }

// The line printed after an interrupted convert's summary.
inline constexpr const char* interrupted_line = "interrupted: run the same command again to resume";

}  // namespace cyrconv
