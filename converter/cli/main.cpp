#include <exception>
#include <iostream>

#include "converter/cli/cli.h"

// The last resort: an exception nothing below caught is a bug, but it must end the run with one
// clear line and exit status 3, never std::terminate's abort. Output already written is in the
// state the journal says (every folder is journaled only when complete), so a re-run resumes.
int main(int argc, char** argv) {
  try {
    return cyrconv::run_cli(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "cyrconv: internal error: " << e.what()
              << " (output written so far is journaled; a re-run resumes)\n";
  } catch (...) {
    std::cerr << "cyrconv: internal error: unknown exception (output written so far is journaled; a re-run resumes)\n";
  }
  return cyrconv::exit_input_unusable;
}
