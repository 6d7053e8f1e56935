#include "converter/plan/special_use.h"

#include <map>
#include <string>

#include "converter/source/source_io.h"
#include "parsers/annotations.h"
#include "parsers/cyrusdb.h"

namespace cyrconv {

void load_special_use(const std::filesystem::path& config_dir, std::vector<MailboxRef>& mailboxes,
                      std::vector<Finding>& findings) {
  const std::filesystem::path p = config_dir / "annotations.db";
  SourceOpen f = SourceOpen::map(p);
  if (f.status == SourceOpen::Status::missing) return;
  auto warn = [&](const std::string& why) {
    findings.push_back(Finding{Finding::Severity::warning, "annotations_db_unreadable", p.string(), 0, 0,
                               why + ": special-use roles are taken from folder names only"});
  };
  if (f.status != SourceOpen::Status::ok) return warn(f.message);
  auto raw = read_cyrusdb(f.file.bytes(), p.string());
  if (!raw) return warn(raw.error().to_string());
  auto db = parse_annotations_db(raw.value().records, p.string());
  if (!db) return warn(db.error().to_string());
  for (const auto& bad : db.value().bad_entries)
    findings.push_back(Finding{Finding::Severity::warning, "annotations_db_bad_entry", p.string(), bad.offset, 0,
                               bad.to_string()});

  std::map<std::string, MailboxRef*> by_key;  // unique id and internal name
  for (auto& mb : mailboxes) {
    if (!mb.unique_id.empty()) by_key[mb.unique_id] = &mb;
    by_key[mb.name.internal()] = &mb;
  }
  for (const auto& a : db.value().entries) {
    if (a.deleted || a.entry != "/specialuse" || a.value.empty()) continue;
    auto it = by_key.find(a.mailbox);
    if (it == by_key.end()) continue;
    MailboxRef& mb = *it->second;
    // Only the owner's own value: another user's private specialuse is theirs, not the folder's.
    if (!a.owner_private() && a.userid != mb.name.owner()) continue;
    mb.special_use = a.value;
  }
}

}  // namespace cyrconv
