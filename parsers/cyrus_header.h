#pragma once
// cyrus.header: magic, quota root, unique id, user-flag names, ACL.
// Three layouts: 1.x (no unique id), 2.0-3.4 (quotaroot TAB uniqueid), 3.6+ (one dlist line).
#include <optional>
#include <string>
#include <vector>

#include "parsers/acl.h"
#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct CyrusHeader {
  enum class Layout { v1_no_uniqueid, v2_tab_separated, v3_dlist };
  Layout layout = Layout::v2_tab_separated;
  std::string quota_root;   // internal name of the quota root; empty when none
  std::string unique_id;    // empty for headers written before 2.0
  std::string name;         // 3.6+ only (dlist N): internal name, e.g. "user.fred.Sent"
  std::string type_letters; // 3.6+ only (dlist T)
  // Slot n is user flag bit n; nullopt marks an unused slot (3.6+ NIL, or an empty token).
  std::vector<std::optional<std::string>> user_flags;
  std::vector<AclEntry> acl;
};

Result<CyrusHeader> parse_cyrus_header(Bytes data, std::string_view file);

}  // namespace cyrconv
