#pragma once
// For main's last-resort handler: an exception escaping the work on one mailbox (a bug: every
// expected failure is a finding) is rethrown naming that mailbox, so the run ends with one line
// that says where, not with std::terminate.
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#include "converter/source/discover.h"
#include "parsers/utf8.h"

namespace cyrconv {

// Call inside a catch block.
[[noreturn]] inline void rethrow_naming_mailbox(const MailboxRef* mb) {
  const std::string where = mb ? "mailbox " + escape_invalid_utf8(mb->name.internal()) + " (" +
                                     escape_invalid_utf8(mb->dir.string()) + ")"
                               : std::string("a recovery folder");
  try {
    throw;
  } catch (const std::exception& e) {
    throw std::runtime_error(where + ": " + escape_invalid_utf8(e.what()));
  }
}

// Test hook for the last-resort handler: with CYRCONV_TEST_THROW_IN_FOLDER=<internal name> in the
// environment, convert throws an unexpected exception when it starts that folder.
inline void throw_test_point(const MailboxRef* mb) {
  static const char* const name = std::getenv("CYRCONV_TEST_THROW_IN_FOLDER");
  if (name && mb && mb->name.internal() == name) throw std::logic_error("test exception (CYRCONV_TEST_THROW_IN_FOLDER)");
}

}  // namespace cyrconv
