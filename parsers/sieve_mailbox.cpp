#include "parsers/sieve_mailbox.h"

namespace cyrconv {

namespace {

bool field_is(std::string_view line, std::string_view name) {
  if (line.size() <= name.size() || line[name.size()] != ':') return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = line[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != name[i]) return false;
  }
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return std::string(s);
}

}  // namespace

Result<SieveScriptMessage> parse_sieve_script_message(Bytes m, std::string_view file) {
  SieveScriptMessage out;
  std::size_t pos = 0;
  bool in_subject = false, ended = false;
  while (pos < m.size()) {
    std::size_t eol = m.find('\n', pos);
    if (eol == Bytes::npos) return parse_error(file, pos, "header without an end: expected a blank line before the script");
    std::string_view line = m.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = eol + 1;
    if (line.empty()) {
      ended = true;
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {  // folded continuation
      if (in_subject) out.name += " " + trim(line);
      continue;
    }
    in_subject = field_is(line, "subject");
    if (in_subject) out.name = trim(line.substr(8));
  }
  if (!ended) return parse_error(file, pos, "no blank line after the header: expected the script as the body");
  if (out.name.empty()) return parse_error(file, 0, "no Subject field: expected the script name there");
  out.content.reserve(m.size() - pos);
  for (std::size_t i = pos; i < m.size(); ++i) {
    if (m[i] == '\r' && i + 1 < m.size() && m[i + 1] == '\n') continue;
    out.content += m[i];
  }
  return out;
}

}  // namespace cyrconv
