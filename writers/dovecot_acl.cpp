#include "writers/dovecot_acl.h"

#include <array>

namespace cyrconv {

namespace {

struct Right {
  char letter;
  const char* name;
};
// Dovecot's own order (acl-api.c all_mailbox_rights), so files and reports are stable.
constexpr std::array<Right, 11> kRights{{{'l', "lookup"}, {'r', "read"}, {'w', "write"}, {'s', "write-seen"},
                                         {'t', "write-deleted"}, {'i', "insert"}, {'p', "post"}, {'e', "expunge"},
                                         {'k', "create"}, {'x', "delete"}, {'a', "admin"}}};

}  // namespace

DovecotAclEntry map_cyrus_acl_entry(std::string_view identifier, std::string_view rights, std::string_view owner) {
  DovecotAclEntry e;
  bool negative = false;
  std::string_view id = identifier;
  if (!id.empty() && id.front() == '-') {
    negative = true;
    id.remove_prefix(1);
  }
  std::string mapped;
  if (id == "anyone" || id == "authenticated")
    mapped = std::string(id);
  else if (id.rfind("group:", 0) == 0 && id.size() > 6)
    mapped = "group=" + std::string(id.substr(6));
  else if (id.empty() || id == "anonymous" || id.find_first_of(" \t\r\n") != std::string_view::npos)
    e.identifier_ok = false;
  else if (!owner.empty() && id == owner)
    mapped = "owner";
  else
    mapped = "user=" + std::string(id);
  if (e.identifier_ok) e.identifier = (negative ? "-" : "") + mapped;

  bool have[128] = {};
  for (char c : rights) {
    switch (c) {
      case 'l': case 'r': case 's': case 'w': case 'i': case 'p': case 'k': case 'x': case 't': case 'e': case 'a':
        have[static_cast<unsigned char>(c)] = true;
        break;
      case 'c': have['k'] = have['x'] = true; break;  // RFC 2086 create
      case 'd': have['t'] = have['e'] = true; break;  // RFC 2086 delete
      default:
        if (e.unmapped.find(c) == std::string::npos) e.unmapped += c;
    }
  }
  for (const auto& r : kRights)
    if (have[static_cast<unsigned char>(r.letter)]) {
      e.letters += r.letter;
      e.names.push_back(r.name);
    }
  return e;
}

std::string dovecot_acl_file(const std::vector<DovecotAclEntry>& entries) {
  std::string out;
  for (const auto& e : entries)
    if (e.identifier_ok && !e.letters.empty()) out += e.identifier + " " + e.letters + "\n";
  return out;
}

std::string describe(const DovecotAclEntry& e) {
  if (!e.identifier_ok) return "";
  std::string s = e.identifier + " " + e.letters + " (";
  for (std::size_t i = 0; i < e.names.size(); ++i) s += (i ? " " : "") + e.names[i];
  return s + ")";
}

}  // namespace cyrconv
