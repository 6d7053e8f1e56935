#pragma once
// Runs the built cyrconv binary through the shell, as an administrator would.
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/test_support.h"

namespace cyrconv::test {

struct Run {
  int status = -1;
  std::string out;  // stdout and stderr together
};

inline Run run_cyrconv(const std::string& args) {
  const std::string cmd = cyrconv_binary().string() + " " + args + " 2>&1";
  Run r;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// --spool and --config of the bundled cyrus36-default store, as the README walk-through gives them.
inline std::string default_fixture_inputs() {
  const std::filesystem::path f = fixtures_dir() / "cyrus36-default";
  return "--spool " + (f / "spool").string() + " --config " + (f / "config").string();
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

}  // namespace cyrconv::test
