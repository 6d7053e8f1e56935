#pragma once
// An input stream buffer that passes valid UTF-8 through and replaces each byte that is not part
// of a well-formed sequence with U+FFFD. Reports are written as valid UTF-8, but a report edited
// by hand or written by another tool may not be, and the JSON reader stops at the first bad
// byte: a name that is not UTF-8 should show as U+FFFD on the page, not make it unreadable.
#include <cstddef>
#include <istream>
#include <streambuf>
#include <string>
#include <vector>

namespace cyrconv {

// Length of the well-formed UTF-8 sequence at p[0..n) (Unicode table 3-7: no overlong forms,
// no surrogates, nothing above U+10FFFF); 0 when it is not one. `incomplete` is set when the
// bytes so far could start a sequence that n cuts short.
std::size_t utf8_sequence_length(const unsigned char* p, std::size_t n, bool& incomplete);

class Utf8RepairBuf : public std::streambuf {
 public:
  explicit Utf8RepairBuf(std::istream& in) : in_(in) {}
  std::size_t replaced() const { return replaced_; }  // bytes replaced so far

 protected:
  int_type underflow() override;

 private:
  std::istream& in_;
  std::vector<char> raw_;  // read, not yet passed on: a sequence the last read cut short
  std::string out_;        // passed on, the get area
  std::size_t replaced_ = 0;
};

}  // namespace cyrconv
