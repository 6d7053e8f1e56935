#include "parsers/message_date.h"

#include <array>
#include <cctype>
#include <string>

namespace cyrconv {

namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Cursor {
  std::string_view s;
  std::size_t i = 0;
  // Skips white space and RFC 5322 comments "( ... )".
  void skip_cfws() {
    for (;;) {
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
      if (i < s.size() && s[i] == '(') {
        int depth = 0;
        for (; i < s.size(); ++i) {
          if (s[i] == '(') ++depth;
          if (s[i] == ')' && --depth == 0) {
            ++i;
            break;
          }
        }
        continue;
      }
      return;
    }
  }
  std::optional<unsigned> number(std::size_t min_digits, std::size_t max_digits) {
    std::size_t n = 0;
    unsigned v = 0;
    while (i < s.size() && n < max_digits && std::isdigit(static_cast<unsigned char>(s[i]))) {
      v = v * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++n;
    }
    if (n < min_digits) return std::nullopt;
    return v;
  }
  std::string word() {
    std::string w;
    while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])))
      w += static_cast<char>(std::tolower(static_cast<unsigned char>(s[i++])));
    return w;
  }
  bool eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
};

std::optional<unsigned> month_of(const std::string& w) {
  static constexpr std::array<std::string_view, 12> names{"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
  for (unsigned k = 0; k < names.size(); ++k)
    if (w.size() >= 3 && std::string_view(w).substr(0, 3) == names[k]) return k + 1;
  return std::nullopt;
}

// Offset east of UTC in minutes; obsolete names per RFC 5322 4.3 (military zones count as 0).
std::optional<int> zone_of(Cursor& c) {
  c.skip_cfws();
  if (c.i >= c.s.size()) return 0;  // no zone: taken as UTC
  if (c.s[c.i] == '+' || c.s[c.i] == '-') {
    const bool west = c.s[c.i] == '-';
    ++c.i;
    auto hhmm = c.number(4, 4);
    if (!hhmm) return std::nullopt;
    const int minutes = static_cast<int>(*hhmm / 100) * 60 + static_cast<int>(*hhmm % 100);
    return west ? -minutes : minutes;
  }
  const std::string w = c.word();
  if (w == "ut" || w == "gmt" || w == "z" || w == "utc") return 0;
  if (w == "edt") return -4 * 60;
  if (w == "est" || w == "cdt") return -5 * 60;
  if (w == "cst" || w == "mdt") return -6 * 60;
  if (w == "mst" || w == "pdt") return -7 * 60;
  if (w == "pst") return -8 * 60;
  return 0;  // other names: unknown, RFC 5322 says treat as -0000
}

}  // namespace

std::optional<std::int64_t> parse_rfc5322_date(std::string_view text) {
  Cursor c{text};
  c.skip_cfws();
  // Optional day of week.
  const std::size_t start = c.i;
  if (std::string w = c.word(); !w.empty()) {
    c.skip_cfws();
    if (!c.eat(',')) c.i = start;  // "Jul 1 2003" style is not RFC 5322; let the day parse fail below
    c.skip_cfws();
  }
  auto day = c.number(1, 2);
  if (!day || *day < 1 || *day > 31) return std::nullopt;
  c.skip_cfws();
  auto month = month_of(c.word());
  if (!month) return std::nullopt;
  c.skip_cfws();
  const std::size_t year_start = c.i;
  auto year = c.number(2, 4);
  if (!year) return std::nullopt;
  const std::size_t year_digits = c.i - year_start;
  if (year_digits == 2) *year += *year < 50 ? 2000 : 1900;
  if (year_digits == 3) *year += 1900;
  c.skip_cfws();
  auto hour = c.number(1, 2);
  c.skip_cfws();
  if (!hour || !c.eat(':')) return std::nullopt;
  c.skip_cfws();
  auto minute = c.number(2, 2);
  if (!minute) return std::nullopt;
  unsigned second = 0;
  const std::size_t before_seconds = c.i;
  c.skip_cfws();
  if (c.eat(':')) {
    c.skip_cfws();
    auto sec = c.number(2, 2);
    if (!sec) return std::nullopt;
    second = *sec;
  } else {
    c.i = before_seconds;
  }
  if (*hour > 23 || *minute > 59 || second > 60) return std::nullopt;
  auto zone = zone_of(c);
  if (!zone) return std::nullopt;
  return days_from_civil(*year, *month, *day) * 86400 + *hour * 3600 + *minute * 60 + second -
         static_cast<std::int64_t>(*zone) * 60;
}

std::optional<HeaderDate> message_header_date(std::string_view head) {
  std::optional<std::int64_t> date;
  std::size_t pos = 0;
  while (pos < head.size()) {
    // One field, unfolded: the line and its continuation lines.
    std::size_t end = pos;
    for (;;) {
      std::size_t nl = head.find('\n', end);
      if (nl == std::string_view::npos) {
        end = head.size();
        break;
      }
      end = nl + 1;
      if (end >= head.size() || (head[end] != ' ' && head[end] != '\t')) break;
    }
    std::string_view field = head.substr(pos, end - pos);
    pos = end;
    if (field == "\n" || field == "\r\n") break;  // end of the header section
    const std::size_t colon = field.find(':');
    if (colon == std::string_view::npos) continue;
    std::string name(field.substr(0, colon));
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string_view value = field.substr(colon + 1);
    if (name == "received") {
      const std::size_t semi = value.rfind(';');
      if (semi == std::string_view::npos) continue;
      if (auto t = parse_rfc5322_date(value.substr(semi + 1))) return HeaderDate{HeaderDate::Source::received, *t};
    } else if (name == "date" && !date) {
      date = parse_rfc5322_date(value);
    }
  }
  if (date) return HeaderDate{HeaderDate::Source::date, *date};
  return std::nullopt;
}

}  // namespace cyrconv
