#include "converter/plan/run_prep.h"

#include <algorithm>

#include "converter/plan/display_name.h"
#include "converter/source/census.h"
#include "converter/source/io_fanout.h"
#include "converter/plan/output_layout.h"

namespace cyrconv {

namespace {

Finding make_finding(Finding::Severity sev, std::string kind, std::string file, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, 0, std::move(detail)};
}

// A DELETED folder is reported (its files counted), never converted.
ConvertFolder deleted_folder_entry(const MailboxRef& mb, CaretMeaning caret) {
  ConvertFolder f;
  bool valid = true;
  f.name = display_folder_name(mb.name, valid, caret);
  f.name_raw = mb.name.internal();
  f.action = "deleted";
  f.count.count_files(count_message_files(mb.dir), 0, 0, 0, true, 0);
  f.findings.push_back(make_finding(Finding::Severity::info, "deleted_folder_skipped", mb.dir.string(),
                                    "folder in the DELETED hierarchy (delayed delete): not converted"));
  return f;
}

// The folders of the wanted users; an unknown user is an error finding.
void select_folders(RunPreparation& prep, const RunPrepOptions& opt) {
  const std::set<std::string> wanted(opt.users.begin(), opt.users.end());
  for (const auto& mb : prep.disc.mailboxes) {
    const std::string owner = mb.deleted ? std::string() : mb.name.owner();
    if (!wanted.empty() && !wanted.count(owner)) continue;
    if (mb.deleted) {
      if (opt.guests && opt.guests->count(owner)) continue;  // a guest's DELETED folders are its owner shard's
      prep.not_converted.push_back(deleted_folder_entry(mb, prep.disc.caret));
      continue;
    }
    if (selected_for_conversion(mb, wanted)) prep.selected.push_back(&mb);  // not on disk: already a finding
  }
  for (const auto& u : opt.users) {
    bool found = false;
    for (const auto* mb : prep.selected) found = found || mb->name.owner() == u;
    if (!found && !u.empty())  // "" (a shard's shared unit) may hold DELETED folders only
      prep.findings.push_back(make_finding(Finding::Severity::error, "user_not_found", "",
                                           "--users names " + u + " but the store has no folder of that user"));
  }
}

}  // namespace

RunPreparation prepare_run(const SourceInputs& inputs, const RunPrepOptions& opt) {
  RunPreparation prep;
  // Discover, and select the users' folders.
  prep.disc = discover(inputs, opt.io_depth);
  prep.findings = std::move(prep.disc.findings);
  select_folders(prep, opt);
  // Per-user databases (seen state, subscriptions), loaded once per owner.
  prep.states = load_source_states(inputs, prep.selected, opt.io_depth);
  // Inventory, in parallel (io_depth per worker at a time: converter/source/io_fanout.h).
  prep.inv.resize(prep.selected.size());
  prep.block_bytes.assign(prep.selected.size(), 0);
  for_each_io(opt.io_depth, prep.selected.size(), [&](std::size_t i) {
    // Mail folders keep their summary only (their records are read again when converted); DAV
    // collections and sieve folders keep their records.
    InventoryOptions walk;
    walk.keep_records = prep.selected[i]->kind != MailboxKind::email;
    if (opt.block)
      walk.each_live = [&, i](const IndexRecord& r) {
        prep.block_bytes[i] += (r.size + opt.block - 1) / opt.block * opt.block;
      };
    prep.inv[i] = inventory_mailbox(*prep.selected[i], prep.states.seen_for(*prep.selected[i]), walk);
    if (!walk.keep_records) std::vector<IndexRecord>().swap(prep.inv[i].live);  // a recovered mailbox's
  });
  // Names per user (all of a user's folders at once; the same plan verify makes). A rename map
  // that itself collides is refused before anything is written.
  static const RenameMap no_map;
  prep.plan = plan_names(prep.selected, prep.inv, opt.profile, opt.rename_map ? *opt.rename_map : no_map,
                         prep.disc.caret);
  for (const auto& e : prep.plan.rename_map_errors)
    prep.findings.push_back(make_finding(Finding::Severity::error, "rename_map_refused", "", e));
  for (const auto& e : prep.plan.naming_errors)
    prep.findings.push_back(make_finding(Finding::Severity::error, "naming_refused", "", e));
  return prep;
}

std::vector<RunUser> take_run_users(RunPreparation& prep, const std::filesystem::path& out) {
  std::vector<RunUser> users;
  for (auto& pu : prep.plan.users) {
    RunUser u;
    u.owner = pu.owner;
    u.root_rel = pu.root_rel;
    u.root = out / u.root_rel;
    u.state = prep.states.by_owner.at(pu.owner).get();
    u.naming = std::move(pu.naming);
    users.push_back(std::move(u));
  }
  return users;
}

const FolderNameResult* find_folder_name(const NamingOutcome& naming, const std::string& internal) {
  for (const auto& r : naming.folders)
    if (r.internal_name == internal) return &r;
  return nullptr;
}

std::vector<FolderJob> plan_folder_jobs(const RunPreparation& prep, const std::vector<const NamingOutcome*>& naming,
                                        const std::function<bool(std::size_t)>& guest,
                                        const std::function<bool(std::size_t, std::size_t)>& guest_converts) {
  std::vector<FolderJob> jobs;
  const auto& selected = prep.selected;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::size_t u = prep.plan.user_of[i];
    const bool is_guest = guest && guest(u);
    if (is_guest && !(guest_converts && guest_converts(u, i))) continue;
    FolderJob job;
    job.mailbox = selected[i];
    job.inventory = i;
    job.user = u;
    job.name = find_folder_name(*naming[u], selected[i]->name.internal());
    job.bytes = prep.inv[i].bytes;
    bool valid = true;
    job.out.name = display_folder_name(selected[i]->name, valid, prep.disc.caret);
    job.out.name_raw = selected[i]->name.internal();
    job.out.findings = prep.inv[i].findings;
    // Missing and orphan files are accounted per message when the folder is converted.
    std::erase_if(job.out.findings, [](const Finding& f) {
      return f.kind == "message_file_missing" || f.kind == "orphan_message_file";
    });
    if (job.name) {
      job.out.target = job.name->path;
      job.out.renamed = job.name->renamed;
      job.out.rename_reason = job.name->why;
      job.out.action = to_string(job.name->action);
    }
    jobs.push_back(std::move(job));
    if (!prep.plan.orphans[i].empty() && !is_guest) {
      FolderJob rec;
      rec.orphans_of = selected[i];
      rec.inventory = i;
      rec.user = u;
      rec.name = find_folder_name(*naming[u], selected[i]->name.internal() + std::string(orphan_suffix));
      rec.out.name = jobs.back().out.name + " (orphan files)";
      rec.out.name_raw = selected[i]->name.internal();
      rec.out.action = "recover_orphans";
      if (rec.name) rec.out.target = rec.name->path;
      jobs.push_back(std::move(rec));
    }
  }
  return jobs;
}

}  // namespace cyrconv
