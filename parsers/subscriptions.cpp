// Per-user subscriptions (docs/cyrus-on-disk.md 7.3). Old files: keys are internal names.
// 3.6+ files: a version key, then 'N' + db-name with the owner's own INBOX written as "INBOX".
#include "parsers/subscriptions.h"

#include <algorithm>

namespace cyrconv {

namespace {

constexpr std::string_view kVersionKey = "\x1FVER\x1F";

// The owner's INBOX as a db-name: [domain GS] "user" US localpart (Cyrus splits the userid at '@').
std::string inbox_dbname(std::string_view owner) {
  std::string out;
  std::string_view local = owner;
  if (const std::size_t at = owner.find('@'); at != std::string_view::npos) {
    out = std::string(owner.substr(at + 1)) + '\x1D';
    local = owner.substr(0, at);
  }
  out += "user\x1F";
  out += local;
  return out;
}

}  // namespace

Result<std::vector<MailboxName>> parse_subscriptions(const std::vector<DbRecord>& records,
                                                     std::string_view owner, std::string_view file) {
  int version = 0;
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (records[i].key != kVersionKey) continue;
    const std::string& v = records[i].value;
    if (v.empty() || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }) || v.size() > 4)
      return parse_error(file, i, "subscription version record holds '" + v + "', expected a number");
    version = std::stoi(v);
    if (version < 2) return parse_error(file, i, "unknown subscription file version " + v + " (Cyrus writes 2 or 3)");
  }

  std::vector<MailboxName> out;
  const std::string inbox = inbox_dbname(owner);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string& key = records[i].key;
    if (key.empty()) continue;
    if (version == 0) {  // 1.x - 3.4: internal names
      out.push_back(parse_internal_name(key));
      continue;
    }
    if (key == kVersionKey) continue;
    if (key[0] != 'N')
      return parse_error(file, i, "record #" + std::to_string(i) + ": expected a key starting with 'N' in a versioned subscription file");
    std::string_view rest = std::string_view(key).substr(1);
    std::string dbname;
    if (rest.substr(0, 5) == "INBOX" && (rest.size() == 5 || rest[5] == '\x1F')) {
      dbname = inbox + std::string(rest.substr(5));
    } else if (version == 2 && rest.size() > 5 && rest.substr(0, 5) == "INBOX") {
      // Version-2 defect: "INBOX" also replaced the owner's name as a mere prefix of another
      // user's name ("NINBOXdy" for user.freddy when the owner is fred). Expand it back.
      dbname = inbox + std::string(rest.substr(5));
    } else {
      dbname = std::string(rest);
    }
    out.push_back(parse_dbname(dbname));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace cyrconv
