#pragma once
#include <string>
#include <vector>

namespace cyrconv {

// One ACL entry as Cyrus stores it: identifier (user, "anyone", "group:x", "-user" for
// negative rights) and its rights letters.
struct AclEntry {
  std::string identifier;
  std::string rights;
  bool operator==(const AclEntry&) const = default;
};

}  // namespace cyrconv
