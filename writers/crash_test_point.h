#pragma once
// Test hooks for the resume and interrupt tests, read from the environment once:
//   CYRCONV_TEST_KILL_AFTER_COMMITS=N       SIGKILL itself right after its Nth committed output file,
//                                          so a test can stop a run at an exact point and check that
//                                          a re-run finishes it as if nothing had happened;
//   CYRCONV_TEST_INTERRUPT_AFTER_COMMITS=N[:TERM][:PAUSE]
//                                          send itself SIGINT (SIGTERM) there instead, as Ctrl-C
//                                          would, and with PAUSE keep that thread waiting 10 s, so
//                                          the test can send a second signal while the run winds down.
// Without the variables this is one relaxed atomic load per commit.
namespace cyrconv {

void crash_test_point();

}  // namespace cyrconv
