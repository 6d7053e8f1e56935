#include "parsers/dav_resource.h"

#include <cctype>

namespace cyrconv {

namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

// Calls f(line_without_eol, line_with_eol, offset) for every line.
template <class F>
void for_each_line(std::string_view text, F f) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    const std::size_t end = eol == std::string_view::npos ? text.size() : eol + 1;
    std::string_view with = text.substr(pos, end - pos);
    std::string_view line = with;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (!f(line, with, pos)) return;
    pos = end;
  }
}

}  // namespace

Result<std::string_view> dav_resource_body(Bytes message, std::string_view file) {
  std::size_t body = std::string_view::npos;
  std::string cte;
  bool in_cte = false;
  for_each_line(message, [&](std::string_view line, std::string_view with, std::size_t off) {
    if (line.empty()) {
      body = off + with.size();
      return false;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      if (in_cte) cte += std::string(trim(line));
      return true;
    }
    in_cte = iequals_prefix(line, "content-transfer-encoding:");
    if (in_cte) cte = std::string(trim(line.substr(26)));
    return true;
  });
  if (body == std::string_view::npos)
    return parse_error(file, message.size(), "expected a blank line ending the header of the DAV resource");
  for (char& c : cte) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!cte.empty() && cte != "7bit" && cte != "8bit" && cte != "binary")
    return parse_error(file, 0, "Content-Transfer-Encoding '" + cte + "' of a DAV resource is not supported");
  return message.substr(body);
}

Result<VCalendarParts> split_vcalendar(std::string_view object, std::string_view file) {
  VCalendarParts parts;
  int depth = 0;
  std::size_t start = 0;
  std::string tzid;
  std::string component;
  bool ok = true;
  std::uint64_t bad_at = 0;
  std::string bad;
  bool saw_calendar = false;
  for_each_line(object, [&](std::string_view line, std::string_view with, std::size_t off) {
    if (iequals_prefix(line, "BEGIN:")) {
      if (depth == 0 && !iequals_prefix(line, "BEGIN:VCALENDAR")) {
        ok = false;
        bad_at = off;
        bad = "expected BEGIN:VCALENDAR";
        return false;
      }
      if (depth == 0) saw_calendar = true;
      if (depth == 1) {
        start = off;
        component = std::string(trim(line.substr(6)));
        tzid.clear();
      }
      ++depth;
    } else if (iequals_prefix(line, "END:")) {
      --depth;
      if (depth < 0) {
        ok = false;
        bad_at = off;
        bad = "END without BEGIN";
        return false;
      }
      if (depth == 1) {
        std::string_view block = object.substr(start, off + with.size() - start);
        bool is_tz = component.size() == 9;
        for (std::size_t i = 0; is_tz && i < 9; ++i)
          is_tz = std::toupper(static_cast<unsigned char>(component[i])) == "VTIMEZONE"[i];
        if (is_tz)
          parts.timezones.emplace_back(tzid, block);
        else
          parts.components.push_back(block);
      }
    } else if (depth == 2 && iequals_prefix(line, "TZID:")) {
      tzid = std::string(trim(line.substr(5)));
    }
    return true;
  });
  if (!ok) return parse_error(file, bad_at, bad);
  if (!saw_calendar || depth != 0)
    return parse_error(file, object.size(), "expected a complete BEGIN:VCALENDAR ... END:VCALENDAR object");
  return parts;
}

}  // namespace cyrconv
