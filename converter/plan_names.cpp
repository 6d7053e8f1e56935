#include "converter/plan_names.h"

#include "converter/output_layout.h"

namespace cyrconv {

bool selected_for_conversion(const MailboxRef& mb, const std::set<std::string>& wanted) {
  if (mb.deleted || !mb.on_disk) return false;
  return wanted.empty() || wanted.count(mb.name.owner()) > 0;
}

SeenState SourceStates::seen_for(const MailboxRef& mb) const {
  const UserState& us = *by_owner.at(mb.name.owner());
  return SeenState{&us.seen, anyone ? &anyone->seen : nullptr, us.seen_file};
}

SourceStates load_source_states(const SourceInputs& inputs, const std::vector<const MailboxRef*>& selected) {
  SourceStates s;
  for (const auto* mb : selected) {
    const std::string owner = mb->name.owner();
    if (s.by_owner.count(owner)) continue;
    auto st = std::make_unique<UserState>();
    if (!owner.empty() && inputs.config_dir) {
      // The seen database is keyed by the INBOX's unique id on 3.x.
      MailboxName inbox{mb->name.domain, {mb->name.parts[0], mb->name.parts[1]}};
      std::string inbox_id;
      for (const auto* other : selected)
        if (other->name == inbox) inbox_id = other->unique_id;
      *st = load_user_state(*inputs.config_dir, inbox, inbox_id);
    }
    s.by_owner.emplace(owner, std::move(st));
  }
  if (inputs.config_dir) s.anyone = load_user_state(*inputs.config_dir, MailboxName{"", {"user", "anyone"}}, "");
  return s;
}

const FolderNameResult* NamePlan::name_of(std::size_t user, const std::string& internal) const {
  for (const auto& r : users[user].naming.folders)
    if (r.internal_name == internal) return &r;
  return nullptr;
}

const FolderNameResult* NamePlan::recovery_name_of(std::size_t user, const std::string& internal) const {
  return name_of(user, internal + std::string(orphan_suffix));
}

NamePlan plan_names(const std::vector<const MailboxRef*>& selected, const std::vector<MailboxInventory>& inv,
                    NamingProfile profile, const RenameMap& rename_map) {
  NamePlan plan;
  std::map<std::string, std::size_t> user_index;
  plan.user_of.resize(selected.size());
  plan.orphans.resize(selected.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::string owner = selected[i]->name.owner();
    auto [it, added] = user_index.emplace(owner, plan.users.size());
    if (added) plan.users.push_back(PlannedUser{owner, user_root_relative(owner), {}});
    plan.user_of[i] = it->second;
  }
  std::vector<std::vector<FolderNameInput>> inputs_by_user(plan.users.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    auto& in = inputs_by_user[plan.user_of[i]];
    in.push_back(folder_name_input(selected[i]->name, selected[i]->kind, selected[i]->special_use));
    for (const auto& f : inv[i].findings)
      if (f.kind == "orphan_message_file") plan.orphans[i].push_back(f.uid);
    if (!plan.orphans[i].empty()) {
      // Orphans are recovered into a folder of their own beside the source folder.
      FolderNameInput rec = folder_name_input(selected[i]->name, MailboxKind::email);
      rec.internal_name += orphan_suffix;
      rec.levels.push_back("Recovered-Orphans");
      in.push_back(std::move(rec));
    }
  }
  // A rename map that itself collides is refused before anything is named.
  plan.rename_map_errors = check_rename_map(rename_map, profile);
  if (!plan.rename_map_errors.empty()) return plan;
  for (std::size_t u = 0; u < plan.users.size(); ++u) {
    plan.users[u].naming = name_folders(inputs_by_user[u], profile, overrides_for(rename_map, plan.users[u].owner, profile));
    for (const auto& e : plan.users[u].naming.errors) plan.naming_errors.push_back(e);
  }
  return plan;
}

}  // namespace cyrconv
