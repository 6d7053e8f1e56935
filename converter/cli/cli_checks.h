#pragma once
// Command-line helpers that make CLI11's errors an administrator's: a whole-number check that
// names the expected type and range, and "did you mean" for a misspelled option or subcommand.
#include <CLI/CLI.hpp>

#include <string>

namespace cyrconv {

// "--threads: expects a whole number from 0 to 1024, got 'abc'".
CLI::Validator whole_number(long long lo, long long hi);

// A size with an optional unit (256M, 1G, 0) turned into bytes by CLI::AsSizeValue; anything
// else is "--split-bytes: expects a size in bytes such as 256M, 1G or 0, got 'abc'".
CLI::Validator size_value();

// For an ExtrasError: the first unknown option or subcommand in argv and the closest known one
// ("unknown option --user for convert: did you mean --users?"); "" when nothing is close.
std::string suggest_for_unknown(const CLI::App& app, int argc, char** argv);

}  // namespace cyrconv
