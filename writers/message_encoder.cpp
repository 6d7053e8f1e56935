#include "writers/message_encoder.h"

#include <algorithm>
#include <cstring>

namespace cyrconv {

namespace {
constexpr std::string_view from_ = "From ";
}

void MessageEncoder::reset() { *this = MessageEncoder(enc_); }

void MessageEncoder::emit(char c, std::string& out) {
  out.push_back(c);
  ++out_size_;
  crlf_size_ += (c == '\n' && last_out_ != '\r') ? 2 : 1;
  last_out_ = c;
}

void MessageEncoder::emit_quoted_stage(char c, std::string& out) {
  if (!enc_.crlf_to_lf) {
    if (enc_.fix_line_ends) {
      // CRLF output: a lone CR or LF becomes CRLF.
      if (held_cr_) {
        held_cr_ = false;
        emit('\r', out);
        emit('\n', out);
        if (c == '\n') return;
      }
      if (c == '\r') {
        held_cr_ = true;
        return;
      }
      if (c == '\n') emit('\r', out);
    }
    emit(c, out);
    return;
  }
  if (held_cr_) {
    held_cr_ = false;
    if (c == '\n') {
      emit('\n', out);
      return;
    }
    // A bare CR stays unless repairing: only CRLF pairs become LF.
    emit(enc_.fix_line_ends ? '\n' : '\r', out);
  }
  if (c == '\r') {
    held_cr_ = true;
    return;
  }
  emit(c, out);
}

void MessageEncoder::flush_prefix(std::string& out) {
  for (std::uint64_t i = 0; i < pending_gt_; ++i) emit_quoted_stage('>', out);
  for (int i = 0; i < from_matched_; ++i) emit_quoted_stage(from_[static_cast<std::size_t>(i)], out);
  pending_gt_ = 0;
  from_matched_ = 0;
  matching_ = false;
}

namespace {

// Header names the mbox readers treat as their own, lower case, with the colon.
constexpr std::string_view mbox_owned_headers[] = {"status:", "x-status:", "x-keywords:", "x-uid:",
                                                    "x-imap:", "x-imapbase:", "content-length:"};
constexpr std::string_view rename_prefix = "X-Cyrconv-Orig-";

bool is_mbox_owned(std::string_view name_with_colon) {
  for (auto h : mbox_owned_headers) {
    if (h.size() != name_with_colon.size()) continue;
    bool eq = true;
    for (std::size_t i = 0; i < h.size() && eq; ++i)
      eq = static_cast<char>(name_with_colon[i] | (name_with_colon[i] >= 'A' && name_with_colon[i] <= 'Z' ? 0x20 : 0)) == h[i];
    if (eq) return true;
  }
  return false;
}

}  // namespace

void MessageEncoder::emit_trailer(std::string& out) {
  if (trailer_done_ || enc_.header_trailer.empty()) return;
  trailer_done_ = true;
  for (char c : enc_.header_trailer) emit(c, out);
}

void MessageEncoder::flush_header_name(std::string& out, bool rename) {
  if (rename) {
    ++renamed_;
    for (char r : rename_prefix) quote_stage(r, out);
  }
  for (std::size_t i = 0; i < header_len_; ++i) quote_stage(header_name_[i], out);
  header_len_ = 0;
  header_deciding_ = false;
}

void MessageEncoder::quote_stage(char c, std::string& out) {
  if (enc_.mboxrd_quote && matching_) {
    if (c == '>' && from_matched_ == 0) {
      ++pending_gt_;
      return;
    }
    if (c == from_[static_cast<std::size_t>(from_matched_)]) {
      if (++from_matched_ == static_cast<int>(from_.size())) {
        emit_quoted_stage('>', out);
        ++quoted_;
        flush_prefix(out);
      }
      return;
    }
    flush_prefix(out);
  }
  emit_quoted_stage(c, out);
  if (c == '\n') {
    matching_ = true;
    pending_gt_ = 0;
    from_matched_ = 0;
  }
}

namespace {

// Length of the run at the start of `s` that holds no byte needing attention (line ends, and
// NULs when they are dropped).
std::size_t plain_run(std::string_view s, bool nul_special) {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (nul_special) {
    while (i < n && s[i] != '\n' && s[i] != '\r' && s[i] != '\0') ++i;
  } else {
    while (i < n && s[i] != '\n' && s[i] != '\r') ++i;
  }
  return i;
}

}  // namespace

// One input byte through the full state machine: the reference behaviour, used for repairs and
// wherever a decision needs bytes the chunk does not hold yet.
void MessageEncoder::step(char c, std::string& out) {
  const std::uint64_t pos = in_pos_++;
  if (enc_.drop_nul && c == '\0') return;
  if (enc_.blank_line_before >= 0 && pos == static_cast<std::uint64_t>(enc_.blank_line_before)) {
    // The header ended without its blank line: give it one, in the output's line end.
    emit_trailer(out);
    if (!enc_.crlf_to_lf) emit('\r', out);
    emit('\n', out);
    in_header_ = false;
  }
  if ((enc_.rename_mbox_headers || !enc_.header_trailer.empty()) && in_header_) {
    if (header_line_start_) {
      header_line_start_ = false;
      if (c == '\r' || c == '\n') {
        // An empty line: the header is over (a lone CR waits for its LF).
        emit_trailer(out);
        if (c == '\n') in_header_ = false;
        header_line_start_ = c == '\r';
        quote_stage(c, out);
        return;
      }
      header_deciding_ = c != ' ' && c != '\t';
    }
    if (header_deciding_) {
      header_name_[header_len_++] = c;
      const bool ends_name = c == ':' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
      if (ends_name || header_len_ == sizeof header_name_) {
        flush_header_name(out, enc_.rename_mbox_headers && c == ':' && is_mbox_owned({header_name_, header_len_}));
        if (c == '\n') header_line_start_ = true;
      }
      return;
    }
    if (c == '\n') header_line_start_ = true;
  }
  quote_stage(c, out);
}

// Repairs: runs between line ends are copied whole, everything else goes through step().
void MessageEncoder::encode_repairing(std::string_view in, std::string& out) {
  const bool header_work = enc_.rename_mbox_headers || !enc_.header_trailer.empty();
  for (std::size_t i = 0; i < in.size();) {
    if (!held_cr_ && !(enc_.mboxrd_quote && matching_) &&
        !(header_work && in_header_ && (header_line_start_ || header_deciding_))) {
      std::size_t run = plain_run(in.substr(i), enc_.drop_nul);
      if (enc_.blank_line_before >= 0 && static_cast<std::uint64_t>(enc_.blank_line_before) >= in_pos_)
        run = std::min<std::uint64_t>(run, static_cast<std::uint64_t>(enc_.blank_line_before) - in_pos_);
      if (run > 0) {
        put(in.data() + i, run, out);
        in_pos_ += run;
        i += run;
        continue;
      }
    }
    step(in[i++], out);
  }
}

// Bytes that hold no LF, passed through unchanged.
void MessageEncoder::put(const char* p, std::size_t n, std::string& out) {
  if (n == 0) return;
  out.append(p, n);
  out_size_ += n;
  crlf_size_ += n;
  last_out_ = p[n - 1];
}

// At the start of a header line with nothing pending: decide from the bytes at hand whether the
// field name is one to rename, as step() would byte by byte. False when the chunk ends first.
bool MessageEncoder::header_line_start(const char* p, const char* end, std::string& out) {
  const char c = *p;
  if (c == '\r' || c == '\n') return false;  // the blank line: rare, step() handles the trailer
  header_line_start_ = false;
  if (c == ' ' || c == '\t') return true;      // a continuation line
  const std::size_t avail = static_cast<std::size_t>(end - p);
  const std::size_t look = std::min(avail, sizeof header_name_);
  std::size_t j = 0;
  while (j < look && p[j] != ':' && p[j] != ' ' && p[j] != '\t' && p[j] != '\r' && p[j] != '\n') ++j;
  if (j == look && avail < sizeof header_name_) {
    header_line_start_ = true;  // undecided: the name goes on in the next chunk
    return false;
  }
  if (enc_.rename_mbox_headers && j < look && p[j] == ':' && is_mbox_owned({p, j + 1})) {
    ++renamed_;
    matching_ = false;  // the prefix's 'X' ends any ^>*From  match, as quote_stage would find
    put(rename_prefix.data(), rename_prefix.size(), out);
  }
  return true;  // the name itself is copied with the rest of the line
}

// At a line start with nothing pending: the ^>*From  decision from the bytes at hand. False when
// the chunk ends inside a possible match.
bool MessageEncoder::from_prefix(const char* p, const char* end, std::string& out) {
  const char* q = p;
  while (q < end && *q == '>') ++q;
  const std::size_t avail = static_cast<std::size_t>(end - q);
  if (avail < from_.size()) {
    if (from_.compare(0, avail, std::string_view(q, avail)) == 0) return false;
  } else if (from_.compare(std::string_view(q, from_.size())) == 0) {
    ++quoted_;
    put(">", 1, out);
  }
  matching_ = false;
  return true;
}

const char* MessageEncoder::find_lf(const char* p, const char* end) {
  if (!lf_base_) return static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
  while (next_lf_ < lf_.size() && lf_base_ + lf_[next_lf_] < p) ++next_lf_;
  return next_lf_ < lf_.size() ? lf_base_ + lf_[next_lf_] : nullptr;
}

void MessageEncoder::encode(std::string_view in, std::string& out, const LineEnds& ends) {
  if (in.empty()) return;  // nothing to do, and an empty view's data() may be null (memchr)
  const bool known = ends.describe(in);
  lf_base_ = known ? in.data() : nullptr;
  lf_ = known ? ends.lf : std::span<const std::uint32_t>();
  next_lf_ = 0;
  struct Forget {  // the positions belong to this chunk only
    MessageEncoder& e;
    ~Forget() { e.lf_base_ = nullptr; e.lf_ = {}; }
  } forget{*this};
  out.reserve(out.size() + in.size() + 16);
  if (enc_.drop_nul || enc_.fix_line_ends || enc_.blank_line_before >= 0) {
    encode_repairing(in, out);
    return;
  }
  const bool header_work = enc_.rename_mbox_headers || !enc_.header_trailer.empty();
  const char* p = in.data();
  const char* const end = p + in.size();
  if (!enc_.crlf_to_lf && !enc_.mboxrd_quote && !header_work) {
    // Bytes pass unchanged: one copy, then count the LFs without a CR before them for crlf_size.
    char prev = last_out_;
    put(p, in.size(), out);
    in_pos_ += in.size();
    for (const char* q = p; (q = find_lf(q, end)); ++q) {
      if ((q == p ? prev : q[-1]) != '\r') ++crlf_size_;
    }
    return;
  }
  while (p < end) {
    // Held state (a CR, a partial prefix or field name from the last chunk) goes byte by byte.
    if (held_cr_ || header_deciding_ || pending_gt_ || from_matched_) {
      step(*p++, out);
      continue;
    }
    if (header_work && in_header_ && header_line_start_ && !header_line_start(p, end, out)) {
      step(*p++, out);
      continue;
    }
    if (enc_.mboxrd_quote && matching_ && !from_prefix(p, end, out)) {
      step(*p++, out);
      continue;
    }
    // The rest of the line: copied in one go, its CRLF made LF for Unix targets.
    const char* lf = find_lf(p, end);
    if (!lf) {
      std::size_t n = static_cast<std::size_t>(end - p);
      in_pos_ += n;
      if (enc_.crlf_to_lf && end[-1] == '\r') {
        held_cr_ = true;  // its LF may open the next chunk
        --n;
      }
      put(p, n, out);
      break;
    }
    // One append per line, LF included; a CRLF's CR is then dropped in place.
    std::size_t n = static_cast<std::size_t>(lf - p);
    in_pos_ += n + 1;
    out.append(p, n + 1);
    if (enc_.crlf_to_lf && n > 0 && lf[-1] == '\r') {
      out[out.size() - 2] = '\n';
      out.pop_back();
      --n;
    }
    // n content bytes, then the LF, which counts twice (as CRLF) unless a CR is before it.
    const char before = n > 0 ? p[n - 1] : last_out_;
    out_size_ += n + 1;
    crlf_size_ += n + (before == '\r' ? 1 : 2);
    last_out_ = '\n';
    if (enc_.mboxrd_quote) matching_ = true;
    if (header_work && in_header_) header_line_start_ = true;
    p = lf + 1;
  }
}

void MessageEncoder::finish(std::string& out) {
  if (header_deciding_) flush_header_name(out, false);
  if (enc_.mboxrd_quote && matching_) flush_prefix(out);
  if (!trailer_done_ && !enc_.header_trailer.empty()) {
    // A message that is all header: the fields go after its last line.
    if (held_cr_) {
      held_cr_ = false;
      emit(enc_.crlf_to_lf && !enc_.fix_line_ends ? '\r' : '\n', out);
    }
    if (last_out_ != 0 && last_out_ != '\n') {
      emit('\n', out);
      added_line_end_ = true;
    }
    emit_trailer(out);
  }
  if (held_cr_) {
    held_cr_ = false;
    if (enc_.fix_line_ends && !enc_.crlf_to_lf) {
      emit('\r', out);
      emit('\n', out);
    } else {
      emit(enc_.fix_line_ends ? '\n' : '\r', out);
    }
  }
}

}  // namespace cyrconv
