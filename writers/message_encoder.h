#pragma once
// Streaming re-encoding of one message's bytes for an output format: CRLF -> LF for Unix
// targets, mboxrd quoting (a line matching ^>*From  gains one '>'), and the size a target
// reports with every line ending counted as CRLF (Dovecot's W=, IMAP's RFC822.SIZE).
// Memory is fixed: state survives chunk boundaries, nothing is held but a pending CR and a
// count of '>' at a line start.
#include <cstdint>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "parsers/line_ends.h"

namespace cyrconv {

struct OutputEncoding {
  bool crlf_to_lf = true;     // Unix targets; false keeps CRLF (and, repairing, makes bare LF CRLF)
  bool mboxrd_quote = false;
  // mbox: header fields the mbox readers take as their own metadata (Status, X-Status,
  // X-Keywords, X-UID, X-IMAP, X-IMAPbase, Content-Length) are renamed X-Cyrconv-Orig-<name>
  // in the message's own header, so they cannot override the flags and boundaries written.
  bool rename_mbox_headers = false;
  // Bytes added at the end of the message's header, before the blank line that ends it (mbox
  // metadata fields; LF line ends). Must outlive the encoder.
  std::string_view header_trailer;
  // Repairs (audit's "repair" action), off for messages written unchanged:
  bool drop_nul = false;                      // remove NUL bytes
  bool fix_line_ends = false;                 // bare CR, and in CRLF output bare LF, become the output's line end
  std::int64_t blank_line_before = -1;        // input offset of a body that lacks the blank line before it
};

class MessageEncoder {
 public:
  explicit MessageEncoder(OutputEncoding enc = {}) : enc_(enc) {}
  void reset();
  // Appends the encoded form of `in` to `out`.
  void encode(std::string_view in, std::string& out) { encode(in, out, LineEnds{}); }
  // The same, with the LF positions the checker found in `in` (MessageChecker::line_ends()),
  // so that the line ends are searched once per chunk, not once by each (used only when they
  // describe `in`; output is the same either way).
  void encode(std::string_view in, std::string& out, const LineEnds& ends);
  // Appends whatever is still held (a final CR, a partial "From " prefix).
  void finish(std::string& out);

  std::uint64_t output_size() const { return out_size_; }
  std::uint64_t crlf_size() const { return crlf_size_; }  // output with every LF counted as CRLF
  std::uint64_t quoted_lines() const { return quoted_; }
  std::uint64_t renamed_headers() const { return renamed_; }
  char last_output() const { return last_out_; }  // 0 before any output
  // True when finish() ended a last line that had no line end, before the header trailer.
  bool added_line_end() const { return added_line_end_; }

 private:
  void emit_quoted_stage(char c, std::string& out);  // after quoting, before EOL handling
  void emit(char c, std::string& out);              // final byte
  void flush_prefix(std::string& out);
  void quote_stage(char c, std::string& out);
  void flush_header_name(std::string& out, bool rename);
  void step(char c, std::string& out);  // one byte through every state: the reference path
  void encode_repairing(std::string_view in, std::string& out);
  void put(const char* p, std::size_t n, std::string& out);  // a run without LF, unchanged
  bool header_line_start(const char* p, const char* end, std::string& out);
  bool from_prefix(const char* p, const char* end, std::string& out);
  const char* find_lf(const char* p, const char* end);  // next LF at or after p, or nullptr

  OutputEncoding enc_;
  bool matching_ = true;       // still inside a possible ^>*From  prefix
  std::uint64_t pending_gt_ = 0;
  int from_matched_ = 0;
  bool held_cr_ = false;
  char last_out_ = 0;
  std::uint64_t out_size_ = 0;
  std::uint64_t crlf_size_ = 0;
  std::uint64_t quoted_ = 0;
  std::uint64_t in_pos_ = 0;       // input offset of the byte being encoded
  // Header renaming: the start of the current header line, until it is known.
  bool in_header_ = true;
  bool header_line_start_ = true;
  bool header_deciding_ = false;
  char header_name_[16] = {};
  std::size_t header_len_ = 0;
  std::uint64_t renamed_ = 0;
  bool trailer_done_ = false;
  // The LF positions of the chunk being encoded, when the caller gave them; next_lf_ is the
  // first not yet passed.
  const char* lf_base_ = nullptr;
  std::span<const std::uint32_t> lf_;
  std::size_t next_lf_ = 0;
  bool added_line_end_ = false;
  void emit_trailer(std::string& out);
};

}  // namespace cyrconv
