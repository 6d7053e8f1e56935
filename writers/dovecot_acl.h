#pragma once
// Cyrus ACL entries as Dovecot 2.3's acl plugin reads them (vfile backend: a `dovecot-acl` file
// in each Maildir folder directory, one "<identifier> <rights letters>" line per entry).
//
// Rights (RFC 4314 letters, Cyrus -> Dovecot): l lookup, r read, s write-seen, w write,
// i insert, p post, k create, x delete, t write-deleted, e expunge, a admin; the RFC 2086
// letters Cyrus keeps beside their expansion, c (create: k x) and d (delete: t e), are taken
// as their expansion. Anything else (Cyrus's n "write shared annotations", digits, unknown
// letters) has no Dovecot right and is returned in `unmapped`.
// Identifiers: "anyone" and "authenticated" as they are, "group:x" -> "group=x", the folder's
// owner -> "owner", any other user -> "user=<id>"; a leading '-' (negative rights) is kept.
// "anonymous" has no Dovecot identifier (unmapped: nothing written).
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

struct DovecotAclEntry {
  std::string identifier;         // "user=vera", "-user=walter", "owner", "group=mail", "anyone"
  std::string letters;            // Dovecot's IMAP letters in its canonical order ("lrs")
  std::vector<std::string> names; // the same rights by Dovecot name ("lookup", "read", ...)
  std::string unmapped;           // Cyrus letters with no Dovecot right
  bool identifier_ok = true;      // false: the identifier has no Dovecot form; write nothing
};

// `owner`: the folder's owner ("" for shared folders).
DovecotAclEntry map_cyrus_acl_entry(std::string_view identifier, std::string_view rights, std::string_view owner);

// The dovecot-acl file for these entries (entries with no identifier or no rights left out).
std::string dovecot_acl_file(const std::vector<DovecotAclEntry>& entries);

// One report line: "user=vera lrs (lookup read write-seen)".
std::string describe(const DovecotAclEntry& e);

}  // namespace cyrconv
