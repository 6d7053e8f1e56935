#pragma once
// Test hook for the resume tests: with CYRCONV_TEST_KILL_AFTER_COMMITS=N in the environment the
// process SIGKILLs itself right after its Nth committed output file, so a test can stop a run
// at an exact point and check that a re-run finishes it as if nothing had happened.
// Without the variable this is one relaxed atomic load per commit.
namespace cyrconv {

void crash_test_point();

}  // namespace cyrconv
