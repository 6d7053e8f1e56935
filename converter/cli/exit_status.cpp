#include "converter/cli/exit_status.h"

#include "converter/cli/cli.h"

namespace cyrconv {

const char* const exit_status_table =
    "Exit status (every subcommand):\n"
    "  0    done; convert, verify: every source message is in the output (written, or repaired with the\n"
    "       original kept); warnings allowed. scan: no error found. audit: convert would write every\n"
    "       message unchanged\n"
    "  1    done, but some message is quarantined, missing, not converted or lost, or an error was\n"
    "       reported (see the report); audit: convert would change or drop something\n"
    "  2    usage error or pre-flight refusal (nothing was read or written)\n"
    "  3    input missing or unusable (or refused, e.g. a shard plan made for other inputs)\n"
    "  4    convert stopped on a full disk or refused for lack of space (free space, run it again)\n"
    "  130  interrupted (SIGINT; 143: SIGTERM): run the same command again to resume\n"
    "A re-run that has nothing to do exits with the status of the state it confirms.";

int convert_exit_status(const ConvertReport& report) {
  if (report.interrupted_by) return 128 + report.interrupted_by;
  for (const auto& f : report.findings)
    if (report.fatal && f.kind == "disk_space") return exit_stopped_resumable;
  if (report.fatal) return exit_input_unusable;
  if (report.stopped) return exit_stopped_resumable;
  if (report.folders == 0) return exit_input_unusable;
  // Repaired messages are in the mailbox (the original kept beside): not a reason for 1.
  const auto& t = report.totals;
  const bool incomplete = report.errors || t.quarantined || t.missing || t.not_converted || t.earlier_quarantined ||
                          t.orphans_quarantined;
  return incomplete ? exit_problems_found : exit_ok;
}

}  // namespace cyrconv
