#include "parsers/imapd_conf.h"

#include <cctype>

namespace cyrconv {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// libconfig's boolean spellings.
std::optional<bool> parse_bool(std::string_view v) {
  const std::string l = lower(v);
  if (l == "yes" || l == "on" || l == "true" || l == "t" || l == "1") return true;
  if (l == "no" || l == "off" || l == "false" || l == "f" || l == "0") return false;
  return std::nullopt;
}

}  // namespace

Result<ImapdConf> parse_imapd_conf(std::string_view text, std::string_view file) {
  ImapdConf c;
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    const std::size_t start = pos;
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    pos = eol + 1;
    ++line_no;
    const std::string_view line = trim(text.substr(start, eol - start));
    if (line.empty() || line.front() == '#') continue;
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0)
      return parse_error(file, start, "line " + std::to_string(line_no) + ": expected 'key: value'");
    const std::string key = lower(trim(line.substr(0, colon)));
    const std::string value(trim(line.substr(colon + 1)));
    const std::string where = "line " + std::to_string(line_no) + ": ";
    auto set_bool = [&](std::optional<bool>& slot) {
      if (auto b = parse_bool(value))
        slot = *b;
      else
        c.ignored.push_back(where + key + ": '" + value + "' is not a boolean");
    };
    if (key.rfind("partition-", 0) == 0 && key.size() > 10) {
      c.partitions.emplace_back(key.substr(10), value);
    } else if (key.rfind("archivepartition-", 0) == 0 && key.size() > 17) {
      c.archive_partitions.emplace_back(key.substr(17), value);
    } else if (key == "configdirectory") {
      c.configdirectory = value;
    } else if (key == "unixhierarchysep") {
      set_bool(c.unixhierarchysep);
    } else if (key == "altnamespace") {
      set_bool(c.altnamespace);
    } else if (key == "hashimapspool") {
      set_bool(c.hashimapspool);
    } else if (key == "fulldirhash") {
      set_bool(c.fulldirhash);
    } else if (key == "virtdomains") {
      const std::string l = lower(value);
      if (l == "off" || l == "userid" || l == "on")
        c.virtdomains = l;
      else if (auto b = parse_bool(value))
        c.virtdomains = *b ? "userid" : "off";  // 2.x accepted a boolean: on meant userid
      else
        c.ignored.push_back(where + "virtdomains: '" + value + "' is not off, userid or on");
    } else if (key == "@include") {
      c.ignored.push_back(where + "@include " + value + " is not followed: give that file's settings as options");
    }
  }
  return c;
}

}  // namespace cyrconv
