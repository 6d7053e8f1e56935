#include "parsers/message_check.h"

#include "parsers/block_scan.h"
#include "parsers/header_fields.h"
#include "parsers/sha1.h"

#include <algorithm>
#include <cstring>

namespace cyrconv {

namespace {

constexpr std::size_t line_cap = 1024;      // bytes of a line kept: enough for fields and boundaries
constexpr std::size_t value_cap = 2048;     // bytes of a Content-Type / -Transfer-Encoding value kept
constexpr std::size_t max_depth = 32;       // nested multiparts tracked
constexpr std::size_t max_boundary = 256;   // RFC 2046 allows 70; be generous
constexpr std::uint64_t max_line = 998;     // RFC 5322 2.1.1
constexpr std::size_t scan_block_size = 256 * 1024;  // bytes scanned at a time: LF offsets kept <= 1 MiB

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// "Name:" with a printable-ASCII name (obsolete "Name :" accepted). Returns the name or "".
std::string_view field_name(std::string_view line) {
  std::size_t i = 0;
  while (i < line.size() && line[i] != ':') {
    const auto c = static_cast<unsigned char>(line[i]);
    if (c < 33 || c > 126) break;
    ++i;
  }
  if (i == 0) return {};
  std::size_t j = i;
  while (j < line.size() && (line[j] == ' ' || line[j] == '\t')) ++j;
  if (j >= line.size() || line[j] != ':') return {};
  return line.substr(0, i);
}

constexpr bool is_base64_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Lower-cased "type/subtype" of a Content-Type value, and its boundary parameter.
void parse_content_type(std::string_view v, std::string& type, std::string& boundary, bool& has_boundary) {
  type.clear();
  boundary.clear();
  has_boundary = false;
  v = trim(v);
  std::size_t semi = v.find(';');
  for (char c : trim(v.substr(0, semi))) type += lower(c);
  while (semi != std::string_view::npos) {
    std::string_view rest = v.substr(semi + 1);
    std::size_t eq = rest.find('=');
    if (eq == std::string_view::npos) break;
    const std::string_view name = trim(rest.substr(0, eq));
    std::string_view val = rest.substr(eq + 1);
    while (!val.empty() && (val.front() == ' ' || val.front() == '\t')) val.remove_prefix(1);
    std::string value;
    std::size_t consumed = 0;
    if (!val.empty() && val.front() == '"') {
      std::size_t k = 1;
      for (; k < val.size() && val[k] != '"'; ++k) {
        if (val[k] == '\\' && k + 1 < val.size()) ++k;
        value += val[k];
      }
      consumed = k + 1;
    } else {
      std::size_t k = 0;
      while (k < val.size() && val[k] != ';' && val[k] != ' ' && val[k] != '\t') value += val[k++];
      consumed = k;
    }
    if (iequals(name, "boundary") || iequals(name, "boundary*")) {
      // RFC 2231 form: charset'language'value
      if (name.back() == '*') {
        const std::size_t q = value.find('\'', value.find('\'') + 1);
        if (value.find('\'') != std::string::npos && q != std::string::npos) value.erase(0, q + 1);
      }
      boundary = value;
      has_boundary = !value.empty();
      return;
    }
    const std::size_t next = val.size() > consumed ? val.find(';', consumed) : std::string_view::npos;
    semi = next == std::string_view::npos ? next : (v.size() - val.size()) + next;
  }
}

}  // namespace

struct MessageChecker::State {
  std::unique_ptr<Sha1> sha;  // kept across messages (reset() reassigns the rest)
  // LF offsets of the block being scanned (scan_block), kept across messages; line_ends() shows
  // them while the chunk last fed was a single block.
  std::unique_ptr<std::uint32_t[]> lf;
  std::size_t lf_count = 0;
  const char* lf_chunk = nullptr;
  std::size_t lf_chunk_size = 0;
  std::uint64_t offset = 0;  // bytes fed so far

  // The line being assembled (first line_cap bytes), its start and full length.
  std::string line;
  std::uint64_t line_start = 0;
  std::uint64_t line_len = 0;  // bytes before the LF (a CR before the LF included)
  bool line_ends_cr = false;   // last byte seen in this line is CR
  std::uint64_t header_8bit_in_line = 0;

  MessageCheckResult r;
  std::uint64_t first_nul = 0, first_bare_cr = 0, first_lf = 0, first_long = 0;
  bool seen_nul = false, seen_bare_cr = false, seen_lf = false, seen_long = false;

  // Top-level header.
  bool in_top_header = true;
  std::uint64_t nonfield_lines = 0, first_nonfield = 0;
  bool field_after_nonfield = false;
  std::uint64_t header_8bit = 0, first_header_8bit = 0;
  bool has_date = false, has_from = false, has_message_id = false;

  // Header field being collected (top level or a MIME part).
  enum class Field { other, content_type, cte } field = Field::other;
  bool have_field = false;
  std::string content_type, cte;

  // MIME.
  struct Level {
    std::string boundary;
    bool found = false;
  };
  std::vector<Level> stack;
  std::size_t overflow_depth = 0;  // multiparts beyond max_depth (not tracked)
  bool in_part_header = false;
  bool base64 = false;
  std::uint64_t b64_chars = 0;
  bool b64_padded = false, b64_bad_part = false;
  std::uint64_t b64_bad = 0, first_b64_bad = 0;
  std::uint64_t missing_boundary = 0, first_missing_boundary = 0;
  std::uint64_t not_found = 0, first_not_found = 0;
  std::uint64_t unclosed = 0, first_unclosed = 0;

  HeaderFieldScanner fields;  // Date, From, To, Cc, Message-ID syntax
};

const char* to_string(MessageFault f) {
  switch (f) {
    case MessageFault::zero_length: return "zero_length";
    case MessageFault::nul_bytes: return "nul_bytes";
    case MessageFault::bare_cr: return "bare_cr";
    case MessageFault::bare_lf: return "bare_lf";
    case MessageFault::mixed_line_endings: return "mixed_line_endings";
    case MessageFault::no_blank_line_after_header: return "no_blank_line_after_header";
    case MessageFault::header_line_not_field: return "header_line_not_field";
    case MessageFault::line_too_long: return "line_too_long";
    case MessageFault::header_8bit: return "header_8bit";
    case MessageFault::mime_missing_boundary: return "mime_missing_boundary";
    case MessageFault::mime_boundary_not_found: return "mime_boundary_not_found";
    case MessageFault::mime_unclosed_multipart: return "mime_unclosed_multipart";
    case MessageFault::mime_bad_base64: return "mime_bad_base64";
    case MessageFault::missing_date: return "missing_date";
    case MessageFault::missing_from: return "missing_from";
    case MessageFault::missing_message_id: return "missing_message_id";
    case MessageFault::bad_date: return "bad_date";
    case MessageFault::bad_address: return "bad_address";
    case MessageFault::bad_message_id: return "bad_message_id";
  }
  return "unknown";
}

bool MessageCheckResult::has(MessageFault f) const {
  return std::any_of(faults.begin(), faults.end(), [f](const MessageFaultHit& h) { return h.fault == f; });
}

MessageChecker::MessageChecker(MessageCheckOptions options) : options_(options), s_(std::make_unique<State>()) {
  s_->line.reserve(line_cap);
  s_->content_type.reserve(value_cap);
  reset();
}

MessageChecker::~MessageChecker() = default;

void MessageChecker::reset() {
  State& s = *s_;
  std::unique_ptr<Sha1> sha = s.sha ? std::move(s.sha) : std::make_unique<Sha1>();
  std::unique_ptr<std::uint32_t[]> lf = std::move(s.lf);
  std::string line = std::move(s.line), ct = std::move(s.content_type), cte = std::move(s.cte);
  std::vector<State::Level> stack = std::move(s.stack);
  HeaderFieldScanner fields = std::move(s.fields);
  s = State{};
  s.fields = std::move(fields);
  s.fields.reset();
  s.sha = std::move(sha);
  s.lf = lf ? std::move(lf) : std::unique_ptr<std::uint32_t[]>(new std::uint32_t[scan_block_size]);
  s.line = std::move(line);
  s.line.clear();
  s.content_type = std::move(ct);
  s.content_type.clear();
  s.cte = std::move(cte);
  s.cte.clear();
  s.stack = std::move(stack);
  s.stack.clear();
  s.sha->reset();
}

namespace {

using S = MessageChecker::State;

void end_field(S& s) { s.have_field = false; s.field = S::Field::other; }

void start_field(S& s, std::string_view line, std::string_view name) {
  s.have_field = true;
  s.field = S::Field::other;
  std::string_view value = line.substr(line.find(':') + 1);
  if (iequals(name, "content-type")) {
    s.field = S::Field::content_type;
    s.content_type.assign(value.substr(0, value_cap));
  } else if (iequals(name, "content-transfer-encoding")) {
    s.field = S::Field::cte;
    s.cte.assign(value.substr(0, value_cap));
  }
}

void continue_field(S& s, std::string_view line) {
  std::string* v = s.field == S::Field::content_type ? &s.content_type : s.field == S::Field::cte ? &s.cte : nullptr;
  if (v && v->size() < value_cap) v->append(line.substr(0, value_cap - v->size()));
}

void end_base64(S& s) {
  if (s.base64 && !s.b64_bad_part && s.b64_chars % 4 == 1) {
    if (s.b64_bad++ == 0) s.first_b64_bad = s.line_start;
  }
  s.base64 = false;
  s.b64_chars = 0;
  s.b64_padded = false;
  s.b64_bad_part = false;
}

// The headers of an entity (the message or a part) are complete: open its multipart level or
// start checking its base64 body.
void end_entity_header(S& s) {
  end_field(s);
  std::string type, boundary;
  bool has_boundary = false;
  parse_content_type(s.content_type, type, boundary, has_boundary);
  if (type.rfind("multipart/", 0) == 0) {
    if (!has_boundary || boundary.size() > max_boundary) {
      if (s.missing_boundary++ == 0) s.first_missing_boundary = s.line_start;
    } else if (s.stack.size() >= max_depth) {
      ++s.overflow_depth;
    } else {
      s.stack.push_back({boundary, false});
    }
  } else {
    s.base64 = iequals(trim(s.cte), "base64");
  }
  s.content_type.clear();
  s.cte.clear();
}

// A multipart level ends without its close delimiter.
void drop_level(S& s, std::uint64_t at) {
  if (s.stack.back().found) {
    if (s.unclosed++ == 0) s.first_unclosed = at;
  } else {
    if (s.not_found++ == 0) s.first_not_found = at;
  }
  s.stack.pop_back();
}

// Base64 body line: alphabet, whitespace and trailing '=' only (the part of a line past
// line_cap is not checked; base64 lines are 76 characters).
void base64_line(S& s, std::string_view line) {
  // 0: not base64, 1: alphabet, 2: '=', 3: ignorable white space. A table keeps this loop tight.
  static constexpr auto table = [] {
    std::array<std::uint8_t, 256> t{};
    for (int c = 0; c < 256; ++c)
      t[static_cast<std::size_t>(c)] = is_base64_char(static_cast<unsigned char>(c)) ? 1 : c == '=' ? 2
                                       : (c == ' ' || c == '\t' || c == '\r')       ? 3
                                                                                    : 0;
    return t;
  }();
  if (s.b64_bad_part) return;
  bool bad = false;
  std::uint64_t chars = 0;
  for (char ch : line) {
    const std::uint8_t k = table[static_cast<unsigned char>(ch)];
    if (k == 1 && !s.b64_padded) {
      ++chars;
    } else if (k == 2) {
      s.b64_padded = true;
      ++chars;
    } else if (k != 3) {
      bad = true;
      break;
    }
  }
  s.b64_chars += chars;
  if (bad) {
    s.b64_bad_part = true;
    if (s.b64_bad++ == 0) s.first_b64_bad = s.line_start;
  }
}

void mime_body_line(S& s, std::string_view line) {
  if (!s.stack.empty() && line.size() >= 2 && line[0] == '-' && line[1] == '-') {
    const std::string_view rest = trim(line.substr(2));
    for (std::size_t k = s.stack.size(); k-- > 0;) {
      const std::string& b = s.stack[k].boundary;
      if (rest.size() < b.size() || rest.compare(0, b.size(), b) != 0) continue;
      // Close delimiters with junk after the "--" are common; take them as closing.
      const std::string_view tail = rest.substr(b.size());
      const bool close = tail.size() >= 2 && tail[0] == '-' && tail[1] == '-';
      if (!tail.empty() && !close) continue;
      while (s.stack.size() > k + 1) drop_level(s, s.line_start);  // closed by an outer boundary
      end_base64(s);
      s.content_type.clear();
      s.cte.clear();
      if (!close) {
        s.stack[k].found = true;
        s.in_part_header = true;
      } else {
        s.stack.pop_back();  // properly closed: what follows is the epilogue
        s.in_part_header = false;
      }
      return;
    }
  }
  if (s.in_part_header) {
    if (line.empty()) {
      s.in_part_header = false;
      end_entity_header(s);
    } else if (line.front() == ' ' || line.front() == '\t') {
      if (s.have_field) continue_field(s, line);
    } else if (auto name = field_name(line); !name.empty()) {
      start_field(s, line, name);
    }
    return;
  }
  if (s.base64) base64_line(s, line);
}

void end_top_header(S& s, std::uint64_t header_size, bool mime) {
  s.in_top_header = false;
  s.r.header_size = header_size;
  if (mime) end_entity_header(s);
  end_field(s);
}

// One complete line: `line` holds its first line_cap bytes without the line end.
void process_line(S& s, std::string_view line, std::uint64_t full_len, std::uint64_t line_total, bool mime) {
  if (full_len > max_line) {
    if (s.r.long_lines++ == 0) s.first_long = s.line_start;
  }
  if (full_len > s.r.longest_line) {
    s.r.longest_line = full_len;
    s.r.longest_line_at = s.line_start;
  }
  if (s.in_top_header) {
    if (full_len == 0 && line_total > 0) {
      end_top_header(s, s.line_start + line_total, mime);
      return;
    }
    if (full_len == 0) return;
    const auto count_8bit = [&s] {
      if (s.header_8bit_in_line && s.header_8bit == 0) s.first_header_8bit = s.line_start;
      s.header_8bit += s.header_8bit_in_line;
    };
    if (line.front() == ' ' || line.front() == '\t') {
      if (s.have_field) {
        continue_field(s, line);
        count_8bit();
        return;
      }
    } else if (auto name = field_name(line); !name.empty()) {
      if (s.nonfield_lines) s.field_after_nonfield = true;
      count_8bit();
      s.has_date |= iequals(name, "date");
      s.has_from |= iequals(name, "from");
      s.has_message_id |= iequals(name, "message-id");
      start_field(s, line, name);
      return;
    }
    // Not a field: either a stray line inside the header or the body starting without a blank line.
    if (s.nonfield_lines++ == 0) s.first_nonfield = s.line_start;
    end_field(s);
    return;
  }
  if (mime) mime_body_line(s, line);
}

// Lines wholly inside the block from `p` on, in the body, while the MIME state ignores them:
// only line ends and lengths are counted (what process_line would do for them), in locals the
// compiler can keep in registers. Stops at the block's last LF, or before a line that may be a
// boundary (`dashes`: multiparts are open and the line starts with "--"). Returns where it stopped.
const char* body_lines(S& s, const char* base, const char* p, std::size_t& next_lf, std::size_t lf_count, bool dashes) {
  const std::uint32_t* const lfs = s.lf.get();
  const std::uint64_t block_at = s.offset;  // s.offset is where `base` lies until the block ends
  std::uint64_t crlf = 0, longest = s.r.longest_line, longest_at = s.r.longest_line_at;
  std::size_t k = next_lf;
  for (; k < lf_count; ++k) {
    const char* lf = base + lfs[k];
    const auto n = static_cast<std::uint64_t>(lf - p);
    if (dashes && n >= 2 && p[0] == '-' && p[1] == '-') break;
    const bool cr = n > 0 && lf[-1] == '\r';
    const std::uint64_t len = n - (cr ? 1 : 0);
    const std::uint64_t start = block_at + static_cast<std::uint64_t>(p - base);
    if (cr) {
      ++crlf;
    } else if (s.r.lf_lines++ == 0) {
      s.first_lf = start + n;
    }
    if (len > max_line && s.r.long_lines++ == 0) s.first_long = start;
    if (len > longest) {
      longest = len;
      longest_at = start;
    }
    p = lf + 1;
  }
  s.r.crlf_lines += crlf;
  s.r.longest_line = longest;
  s.r.longest_line_at = longest_at;
  s.line_start = block_at + static_cast<std::uint64_t>(p - base);
  next_lf = k;
  return p;
}

}  // namespace

void MessageChecker::feed(Bytes chunk) {
  State& s = *s_;
  s.lf_chunk = nullptr;
  if (chunk.empty()) return;
  // The digest takes the whole chunk in one call (SHA-NI through EVP), not line by line.
  s.sha->update(chunk);
  if (!s.fields.header_done()) s.fields.feed(chunk);
  for (std::size_t done = 0; done < chunk.size(); done += scan_block_size)
    feed_block(chunk.substr(done, scan_block_size));
  if (chunk.size() <= scan_block_size) {
    s.lf_chunk = chunk.data();
    s.lf_chunk_size = chunk.size();
  }
}

LineEnds MessageChecker::line_ends() const {
  const State& s = *s_;
  if (!s.lf_chunk) return {};
  return LineEnds{s.lf_chunk, s.lf_chunk_size, std::span<const std::uint32_t>(s.lf.get(), s.lf_count)};
}

// One block of at most scan_block_size bytes: scan it once, then take its lines in order.
void MessageChecker::feed_block(Bytes block) {
  State& s = *s_;
  const char* const base = block.data();
  const char* const end = base + block.size();
  const auto at = [&](const char* q) { return s.offset + static_cast<std::uint64_t>(q - base); };
  const BlockScan scan = scan_block(base, end, s.lf.get());
  s.lf_count = scan.lf_count;
  if (scan.nul) {
    if (s.r.nul_bytes == 0) s.first_nul = at(scan.first_nul);
    s.r.nul_bytes += scan.nul;
  }
  // A CR that ended the last block is bare unless this one starts with its LF.
  {
    const bool carried = s.line_ends_cr && base[0] != '\n';
    if ((carried || scan.bare_cr) && !s.seen_bare_cr) {
      s.first_bare_cr = carried ? s.offset - 1 : at(scan.first_bare_cr);
      s.seen_bare_cr = true;
    }
    s.r.bare_cr += scan.bare_cr + (carried ? 1 : 0);
  }
  const char* p = base;
  std::size_t next_lf = 0;
  while (p < end) {
    // Body lines that the MIME state does not look at take the short way (most lines).
    if (s.line_len == 0 && !s.in_top_header && (!options_.mime || (!s.in_part_header && !s.base64))) {
      p = body_lines(s, base, p, next_lf, scan.lf_count, options_.mime && !s.stack.empty());
      if (p >= end) break;
    }
    const char* lf = next_lf < scan.lf_count ? base + s.lf[next_lf++] : nullptr;
    const char* seg_end = lf ? lf : end;
    const std::size_t n = static_cast<std::size_t>(seg_end - p);
    // A line wholly inside this block is looked at where it lies; only one that began in an
    // earlier block has its start (first line_cap bytes) copied.
    const bool spans = s.line_len > 0 || !lf;
    if (n) {
      if (s.in_top_header) s.header_8bit_in_line += count_8bit(p, n);
      if (spans && s.line.size() < line_cap) s.line.append(p, std::min(n, line_cap - s.line.size()));
      s.line_len += n;
      s.line_ends_cr = seg_end[-1] == '\r';
    }
    if (!lf) break;
    // A line ends here.
    const bool crlf = s.line_ends_cr;
    if (crlf) {
      ++s.r.crlf_lines;
    } else {
      if (s.r.lf_lines++ == 0) s.first_lf = at(lf);
    }
    const std::uint64_t content_len = s.line_len - (crlf ? 1 : 0);
    std::string_view view = spans ? std::string_view(s.line) : std::string_view(p, std::min(n, line_cap));
    if (view.size() > content_len) view = view.substr(0, static_cast<std::size_t>(content_len));
    process_line(s, view, content_len, s.line_len + 1, options_.mime);
    s.line_start = at(lf) + 1;
    s.line.clear();
    s.line_len = 0;
    s.line_ends_cr = false;
    s.header_8bit_in_line = 0;
    p = lf + 1;
  }
  s.offset += block.size();
}

MessageCheckResult MessageChecker::finish() {
  State& s = *s_;
  // A last line without a line end; a CR that ends it is bare.
  if (s.line_len) {
    if (s.line_ends_cr) {
      if (!s.seen_bare_cr) s.first_bare_cr = s.offset - 1;
      ++s.r.bare_cr;
      s.seen_bare_cr = true;
    }
    std::string_view view(s.line);
    process_line(s, view, s.line_len, s.line_len, options_.mime);
  }
  if (s.in_top_header) end_top_header(s, 0, options_.mime);
  if (options_.mime) {
    end_base64(s);
    while (!s.stack.empty()) drop_level(s, s.offset);
  }

  MessageCheckResult& r = s.r;
  r.size = s.offset;
  r.sha1 = s.sha->finish();
  auto add = [&](MessageFault f, std::uint64_t off, std::uint64_t count, std::string detail) {
    r.faults.push_back(MessageFaultHit{f, off, count, std::move(detail)});
  };
  const auto n = [](std::uint64_t v) { return std::to_string(v); };
  if (r.size == 0) add(MessageFault::zero_length, 0, 0, "the message file is empty");
  if (r.nul_bytes) add(MessageFault::nul_bytes, s.first_nul, r.nul_bytes, n(r.nul_bytes) + " NUL byte(s), first at offset " + n(s.first_nul));
  if (r.bare_cr)
    add(MessageFault::bare_cr, s.first_bare_cr, r.bare_cr, n(r.bare_cr) + " CR byte(s) not followed by LF, first at offset " + n(s.first_bare_cr));
  if (r.lf_lines && r.crlf_lines)
    add(MessageFault::mixed_line_endings, s.first_lf, r.lf_lines,
        n(r.crlf_lines) + " lines end in CRLF and " + n(r.lf_lines) + " in a bare LF, first bare LF at offset " + n(s.first_lf));
  else if (r.lf_lines)
    add(MessageFault::bare_lf, s.first_lf, r.lf_lines, "all " + n(r.lf_lines) + " lines end in a bare LF, not CRLF");
  if (s.nonfield_lines) {
    if (s.field_after_nonfield)
      add(MessageFault::header_line_not_field, s.first_nonfield, s.nonfield_lines,
          "header line at offset " + n(s.first_nonfield) + " is neither a field nor a continuation");
    else
      add(MessageFault::no_blank_line_after_header, s.first_nonfield, 1,
          "no blank line between header and body: the body starts at offset " + n(s.first_nonfield));
  }
  if (r.long_lines)
    add(MessageFault::line_too_long, s.first_long, r.long_lines,
        n(r.long_lines) + " line(s) over 998 octets, first at offset " + n(s.first_long));
  if (s.header_8bit)
    add(MessageFault::header_8bit, s.first_header_8bit, s.header_8bit,
        n(s.header_8bit) + " 8-bit byte(s) in header fields, first on the line at offset " + n(s.first_header_8bit));
  if (s.missing_boundary)
    add(MessageFault::mime_missing_boundary, s.first_missing_boundary, s.missing_boundary,
        "multipart Content-Type without a boundary parameter (header ending at offset " + n(s.first_missing_boundary) + ")");
  if (s.not_found)
    add(MessageFault::mime_boundary_not_found, s.first_not_found, s.not_found,
        n(s.not_found) + " multipart(s) whose boundary never occurs in the body");
  if (s.unclosed)
    add(MessageFault::mime_unclosed_multipart, s.first_unclosed, s.unclosed,
        n(s.unclosed) + " multipart(s) without a close delimiter, first noticed at offset " + n(s.first_unclosed));
  if (s.b64_bad)
    add(MessageFault::mime_bad_base64, s.first_b64_bad, s.b64_bad,
        n(s.b64_bad) + " base64 part(s) that do not decode, first at the line at offset " + n(s.first_b64_bad));
  if (r.size) {
    if (!s.has_date) add(MessageFault::missing_date, 0, 0, "no Date header field");
    if (!s.has_from) add(MessageFault::missing_from, 0, 0, "no From header field");
    if (!s.has_message_id) add(MessageFault::missing_message_id, 0, 0, "no Message-ID header field");
  }
  append_header_field_faults(s.fields, r.faults);
  MessageCheckResult out = std::move(r);
  r = MessageCheckResult{};
  return out;
}

MessageCheckResult check_message(Bytes message, MessageCheckOptions options) {
  MessageChecker c(options);
  c.feed(message);
  return c.finish();
}

}  // namespace cyrconv
