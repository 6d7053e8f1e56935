// Seen state (docs/cyrus-on-disk.md 7.2): UID sets, 2.0+ seen DB values, 1.x cyrus.seen files.
#include "parsers/seen.h"

#include <algorithm>
#include <charconv>

namespace cyrconv {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Decimal digits at `pos`, advancing it; nullopt-like false when absent or overflowing.
template <class T>
bool read_number(std::string_view s, std::size_t& pos, T& out) {
  const std::size_t start = pos;
  while (pos < s.size() && is_digit(s[pos])) ++pos;
  if (pos == start) return false;
  const auto r = std::from_chars(s.data() + start, s.data() + pos, out);
  if (r.ec == std::errc()) return true;
  pos = start;  // errors point at the number, not past it
  return false;
}

}  // namespace

Result<UidSet> parse_uid_set(std::string_view text, std::string_view file, std::uint64_t offset) {
  UidSet set;
  std::size_t pos = 0;
  while (pos < text.size()) {
    UidRange r;
    if (!read_number(text, pos, r.first))
      return parse_error(file, offset + pos, "expected a UID (decimal number up to 4294967295) in UID set");
    r.last = r.first;
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!read_number(text, pos, r.last))
        return parse_error(file, offset + pos, "expected a UID after ':' in UID set");
      if (r.last < r.first) std::swap(r.first, r.last);  // Cyrus's seqset parser accepts b:a
    }
    set.ranges.push_back(r);
    if (pos == text.size()) break;
    if (text[pos] != ',') return parse_error(file, offset + pos, "expected ',' or end of UID set");
    ++pos;
    if (pos == text.size()) return parse_error(file, offset + pos, "UID set ends with ','");
  }
  // Cyrus writes ascending, disjoint ranges; normalise anything else so contains() can bisect.
  if (!std::is_sorted(set.ranges.begin(), set.ranges.end(),
                      [](const UidRange& a, const UidRange& b) { return a.first < b.first; }) ||
      std::adjacent_find(set.ranges.begin(), set.ranges.end(),
                         [](const UidRange& a, const UidRange& b) { return b.first <= a.last; }) != set.ranges.end()) {
    std::sort(set.ranges.begin(), set.ranges.end(), [](const UidRange& a, const UidRange& b) { return a.first < b.first; });
    std::vector<UidRange> merged;
    for (const auto& r : set.ranges) {
      if (!merged.empty() && r.first <= merged.back().last) merged.back().last = std::max(merged.back().last, r.last);
      else merged.push_back(r);
    }
    set.ranges = std::move(merged);
  }
  return set;
}

bool UidSet::contains(std::uint32_t uid) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), uid,
                             [](std::uint32_t u, const UidRange& r) { return u < r.first; });
  if (it == ranges.begin()) return false;
  --it;
  return uid <= it->last;
}

Result<SeenEntry> parse_seen_value(std::string_view key, std::string_view value, std::string_view file) {
  SeenEntry e;
  e.key = std::string(key);
  const std::string where = "seen record '" + e.key + "': ";
  std::size_t pos = 0;
  unsigned version = 0;
  if (!read_number(value, pos, version) || version != 1)
    return parse_error(file, pos, where + "expected format version 1 at start of value");
  const char* names[] = {"LASTREAD", "LASTUID", "LASTCHANGE"};
  std::uint32_t* targets[] = {&e.lastread, &e.lastuid, &e.lastchange};
  for (int i = 0; i < 3; ++i) {
    if (pos >= value.size() || value[pos] != ' ') return parse_error(file, pos, where + "expected SP before " + names[i]);
    ++pos;
    if (!read_number(value, pos, *targets[i])) return parse_error(file, pos, where + "expected decimal " + names[i]);
  }
  // SEENUIDS follows after blanks; it may be empty. Trailing blanks/LF are not part of it.
  while (pos < value.size() && value[pos] == ' ') ++pos;
  std::size_t stop = value.size();
  while (stop > pos && (value[stop - 1] == ' ' || value[stop - 1] == '\n' || value[stop - 1] == '\r')) --stop;
  auto uids = parse_uid_set(value.substr(pos, stop - pos), file, pos);
  if (!uids) return parse_error(file, uids.error().offset, where + uids.error().message);
  e.seen = std::move(uids.value());
  return e;
}

Result<std::vector<SeenEntry>> parse_seen_db(const std::vector<DbRecord>& records, std::string_view file) {
  std::vector<SeenEntry> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    auto e = parse_seen_value(r.key, r.value, file);
    if (!e) return e.error();
    out.push_back(std::move(e.value()));
  }
  return out;
}

Result<std::vector<SeenEntry>> parse_cyrus_seen_file(Bytes data, std::string_view file) {
  std::vector<SeenEntry> out;
  std::size_t line_start = 0;
  while (line_start < data.size()) {
    std::size_t lf = data.find('\n', line_start);
    if (lf == Bytes::npos) lf = data.size();
    std::string_view line = data.substr(line_start, lf - line_start);
    const std::uint64_t base = line_start;
    line_start = lf + 1;
    // Lines are space-padded so Cyrus can rewrite them in place.
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\0')) line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t tab = line.find('\t');
    if (tab == std::string_view::npos || tab == 0) return parse_error(file, base, "expected USER TAB at start of cyrus.seen line");
    SeenEntry e;
    e.key = std::string(line.substr(0, tab));
    std::size_t pos = tab + 1;
    if (!read_number(line, pos, e.lastread)) return parse_error(file, base + pos, "expected decimal LASTREAD");
    if (pos >= line.size() || line[pos] != ' ') return parse_error(file, base + pos, "expected SP after LASTREAD");
    ++pos;
    if (!read_number(line, pos, e.lastuid)) return parse_error(file, base + pos, "expected decimal LASTUID");
    std::string_view uids;
    if (pos < line.size()) {
      if (line[pos] != ' ') return parse_error(file, base + pos, "expected SP after LASTUID");
      ++pos;
      // Cyrus's rule: the next token is LASTCHANGE only if one SP and a digit follow it.
      std::size_t tok_end = pos;
      while (tok_end < line.size() && line[tok_end] != ' ') ++tok_end;
      if (tok_end + 1 < line.size() && line[tok_end] == ' ' && is_digit(line[tok_end + 1])) {
        std::size_t p = pos;
        if (!read_number(line, p, e.lastchange) || p != tok_end) return parse_error(file, base + pos, "expected decimal LASTCHANGE");
        pos = tok_end + 1;
        tok_end = pos;
        while (tok_end < line.size() && line[tok_end] != ' ') ++tok_end;
      }
      uids = line.substr(pos, tok_end - pos);
      if (tok_end != line.size()) return parse_error(file, base + tok_end, "unexpected data after the UID set");
    }
    auto set = parse_uid_set(uids, file, base + pos);
    if (!set) return set.error();
    e.seen = std::move(set.value());
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cyrconv
