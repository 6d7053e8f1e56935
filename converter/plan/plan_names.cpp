#include "converter/plan/plan_names.h"

#include "converter/source/io_fanout.h"
#include "converter/plan/output_layout.h"

namespace cyrconv {

bool selected_for_conversion(const MailboxRef& mb, const std::set<std::string>& wanted) {
  if (mb.deleted || !mb.on_disk) return false;
  return wanted.empty() || wanted.count(mb.name.owner()) > 0;
}

SeenState SourceStates::seen_for(const MailboxRef& mb) const {
  const UserState& us = *by_owner.at(mb.name.owner());
  return SeenState{&us.seen, anyone ? &anyone->seen : nullptr, us.seen_file};
}

SourceStates load_source_states(const SourceInputs& inputs, const std::vector<const MailboxRef*>& selected,
                                int io_depth) {
  SourceStates s;
  // Owners in first-seen order with their INBOX; the databases are then read in parallel
  // (each is a few opens: round trips on NFS) into their own slots.
  struct Load {
    std::string owner;
    MailboxName inbox;
    std::string inbox_id;
    std::unique_ptr<UserState> state = std::make_unique<UserState>();
  };
  std::vector<Load> loads;
  std::set<std::string> owners;
  for (const auto* mb : selected) {
    std::string owner = mb->name.owner();
    if (!owners.insert(owner).second) continue;
    Load l;
    l.owner = std::move(owner);
    if (!l.owner.empty()) {
      // The seen database is keyed by the INBOX's unique id on 3.x.
      l.inbox = MailboxName{mb->name.domain, {mb->name.parts[0], mb->name.parts[1]}};
      for (const auto* other : selected)
        if (other->name == l.inbox) l.inbox_id = other->unique_id;
    }
    loads.push_back(std::move(l));
  }
  if (inputs.config_dir) {
    for_each_io(io_depth, loads.size() + 1, [&](std::size_t i) {
      if (i == loads.size()) {
        s.anyone = load_user_state(*inputs.config_dir, MailboxName{"", {"user", "anyone"}}, "");
      } else if (!loads[i].owner.empty()) {
        *loads[i].state = load_user_state(*inputs.config_dir, loads[i].inbox, loads[i].inbox_id);
      }
    });
  }
  for (auto& l : loads) s.by_owner.emplace(std::move(l.owner), std::move(l.state));
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
                    NamingProfile profile, const RenameMap& rename_map, CaretMeaning caret) {
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
    in.push_back(folder_name_input(selected[i]->name, selected[i]->kind, selected[i]->special_use, caret));
    plan.orphans[i] = inv[i].orphan_uids;
    if (!plan.orphans[i].empty()) {
      // Orphans are recovered into a folder of their own beside the source folder.
      FolderNameInput rec = folder_name_input(selected[i]->name, MailboxKind::email, std::nullopt, caret);
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
