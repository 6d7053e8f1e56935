#pragma once
// Cyrus mailbox names in one structured form, whatever version wrote them.
// 2.x internal names: "example.com!user.john^doe.Sent" ('^' is a literal '.').
// 3.6+ db-names: "example.com" 0x1D "user" 0x1F "john.doe" 0x1F "Sent".
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

struct MailboxName {
  std::string domain;               // empty without virtual domains
  std::vector<std::string> parts;   // components, still modified UTF-7, literal '.' as '.'

  // "user.fred.Sent" form (with "domain!" prefix, '.' inside parts written as '^').
  std::string internal() const;
  // The owning user ("fred", or "fred@example.com") when parts[0] == "user"; else "".
  std::string owner() const;
  bool is_user() const { return parts.size() >= 2 && parts[0] == "user"; }
  bool is_deleted() const;  // DELETED hierarchy (delayed delete)
  bool operator==(const MailboxName&) const = default;
  bool operator<(const MailboxName& o) const;
};

// What a '^' of an internal name (a '.' in MailboxName::parts) was to the users: a '.' under
// imapd.conf `unixhierarchysep: yes` (the default since 3.0), a literal '^' under `no`, where a
// name cannot hold '.' (Cyrus 3.6 serves user.jdoe.caret^name as INBOX.caret^name).
enum class CaretMeaning { dot, caret };
// A component as the users saw it.
std::string visible_part(const std::string& part, CaretMeaning caret);

MailboxName parse_internal_name(std::string_view internal);  // 2.x / cyrus.header N form
MailboxName parse_dbname(std::string_view dbname);           // 3.6+ form, without the 'N' prefix

}  // namespace cyrconv
