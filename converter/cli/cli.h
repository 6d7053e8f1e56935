#pragma once
// Command line: parses arguments and runs one subcommand. Returns the process exit status
// (README "Exit statuses").
namespace cyrconv {

inline constexpr int exit_ok = 0;
inline constexpr int exit_problems_found = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_input_unusable = 3;
// convert stopped early (disk full) or refused for lack of space: free space, run it again to resume.
inline constexpr int exit_stopped_resumable = 4;

int run_cli(int argc, char** argv);

}  // namespace cyrconv
