// Mailbox names: 2.x internal form and 3.6+ db-names into one structure (docs 6.2, 8.5).
#include "parsers/mailbox_name.h"

#include <algorithm>

namespace cyrconv {

namespace {

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find(sep, start);
    out.emplace_back(s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

}  // namespace

MailboxName parse_internal_name(std::string_view internal) {
  MailboxName n;
  if (const std::size_t bang = internal.find('!'); bang != std::string_view::npos) {
    n.domain = std::string(internal.substr(0, bang));
    internal.remove_prefix(bang + 1);
  }
  n.parts = split(internal, '.');
  // With unixhierarchysep a '.' typed inside a component is stored as '^'.
  for (auto& p : n.parts) std::replace(p.begin(), p.end(), '^', '.');
  return n;
}

MailboxName parse_dbname(std::string_view dbname) {
  MailboxName n;
  if (const std::size_t gs = dbname.find('\x1D'); gs != std::string_view::npos) {
    n.domain = std::string(dbname.substr(0, gs));
    dbname.remove_prefix(gs + 1);
  }
  n.parts = split(dbname, '\x1F');  // components are already external: '.' is literal
  return n;
}

std::string visible_part(const std::string& part, CaretMeaning caret) {
  if (caret == CaretMeaning::dot) return part;
  std::string out = part;
  std::replace(out.begin(), out.end(), '.', '^');
  return out;
}

std::string MailboxName::internal() const {
  std::string out;
  if (!domain.empty()) out = domain + "!";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '.';
    std::string p = parts[i];
    std::replace(p.begin(), p.end(), '.', '^');
    out += p;
  }
  return out;
}

std::string MailboxName::owner() const {
  if (!is_user()) return "";
  return domain.empty() ? parts[1] : parts[1] + "@" + domain;
}

bool MailboxName::is_deleted() const { return !parts.empty() && parts[0] == "DELETED"; }

// Domain first, then component by component, so a parent sorts right before its children.
bool MailboxName::operator<(const MailboxName& o) const {
  if (domain != o.domain) return domain < o.domain;
  return parts < o.parts;
}

}  // namespace cyrconv
