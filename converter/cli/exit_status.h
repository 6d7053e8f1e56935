#pragma once
// README "Exit statuses": the one table every subcommand follows, and convert's reading of it.
#include "writers/convert_report.h"

namespace cyrconv {

// Shown at the end of `cyrconv --help`; docs/cyrconv.1 lists the same statuses (e2e_docs_match_help).
extern const char* const exit_status_table;

// 0: every source message is in the output (written, or repaired with the original kept);
// 1: something quarantined (now, or by an earlier run into this output: a no-op re-run exits with
// the status of the state it confirms), missing, not converted, or an error; 3: refused or
// nothing found; 4: out of space; 128 + signal: interrupted.
int convert_exit_status(const ConvertReport& report);

}  // namespace cyrconv
