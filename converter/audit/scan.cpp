#include "converter/audit/scan.h"

#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "converter/source/inventory.h"
#include "converter/source/io_fanout.h"
#include "converter/cli/progress.h"
#include "converter/source/user_state.h"
#include "converter/plan/display_name.h"

namespace cyrconv {

namespace {

std::string owner_key(const MailboxRef& m) { return m.deleted ? std::string() : m.name.owner(); }

// `f` holds what the inventory's walk counted of each live record (sizes, \Seen).
FolderSummary summarise(const MailboxRef& mb, MailboxInventory&& inv, CaretMeaning caret, FolderSummary&& f) {
  f.name = display_folder_name(mb.name, f.name_valid, caret);
  if (!f.name_valid)
    inv.findings.push_back(Finding{Finding::Severity::warning, "folder_name_invalid", mb.dir.string(), 0, 0,
                                   mb.name.internal() + " is not valid modified UTF-7: its raw form is kept"});
  f.name_raw = mb.name.internal();
  f.kind = to_string(mb.kind);
  f.deleted = mb.deleted;
  f.directory = mb.dir.string();
  f.unique_id = mb.unique_id;
  f.in_mailboxes_db = mb.in_db;
  f.on_disk = mb.on_disk;
  if (inv.index_read || inv.recovered) {  // rebuilt without an index: index_version stays 0
    if (inv.index_read) f.index_version = inv.header.minor_version;
    f.uidvalidity = inv.header.uidvalidity;
    f.uidnext = inv.header.last_uid + 1;
  }
  f.messages = inv.live_count;
  f.bytes = inv.bytes;
  f.expunged_present = inv.expunged_present;
  f.missing_files = inv.missing_files;
  f.orphan_files = inv.orphan_files;
  f.seen_source = inv.seen_source;
  for (const auto& n : inv.flag_names)
    if (n) f.keywords.push_back(*n);
  f.findings = std::move(inv.findings);
  return f;
}

void add_totals(ScanTotals& t, const std::vector<Finding>& findings) {
  for (const auto& f : findings) {
    if (f.severity == Finding::Severity::error) ++t.errors;
    if (f.severity == Finding::Severity::warning) ++t.warnings;
  }
}

}  // namespace

ScanReport run_scan(const SourceInputs& inputs, const ScanOptions& options) {
  std::optional<tbb::global_control> limit;
  if (options.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(options.threads));

  ScanReport report;
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());

  // Pass 1: discover.
  Discovery disc = discover(inputs, options.io_depth);
  report.mailboxes_db = disc.mailboxes_db.string();
  report.mailboxes_db_format = disc.mailboxes_db_format;
  report.findings = std::move(disc.findings);

  // Per-user databases, loaded once per owner before the parallel pass (several owners at a
  // time, each into its own slot). Pre-2.4 shared seen lives in the pseudo-user "anyone"'s seen db.
  std::map<std::string, std::unique_ptr<UserState>> users;
  std::vector<std::pair<const MailboxRef*, UserState*>> to_load;  // first folder of the owner, its slot
  for (const auto& mb : disc.mailboxes) {
    const std::string owner = owner_key(mb);
    if (users.count(owner)) continue;
    auto st = std::make_unique<UserState>();
    if (!owner.empty() && inputs.config_dir) to_load.emplace_back(&mb, st.get());
    users.emplace(owner, std::move(st));
  }
  std::optional<UserState> anyone;
  if (inputs.config_dir) {
    for_each_io(options.io_depth, to_load.size() + 1, [&](std::size_t k) {
      if (k == to_load.size()) {
        anyone = load_user_state(*inputs.config_dir, MailboxName{"", {"user", "anyone"}}, "");
        return;
      }
      const MailboxRef& mb = *to_load[k].first;
      MailboxName inbox{mb.name.domain, {mb.name.parts[0], mb.name.parts[1]}};
      std::string inbox_id;
      for (const auto& other : disc.mailboxes)
        if (other.name == inbox) inbox_id = other.unique_id;
      *to_load[k].second = load_user_state(*inputs.config_dir, inbox, inbox_id);
    });
  }

  // Pass 2: inventory, in parallel; results land by index so the order stays fixed.
  std::vector<FolderSummary> folders(disc.mailboxes.size());
  {
    Progress progress("scan", Progress::ByFolders{disc.mailboxes.size()}, options.quiet);
    for_each_io(options.io_depth, disc.mailboxes.size(), [&](std::size_t i) {
      const MailboxRef& mb = disc.mailboxes[i];
      const UserState& us = *users.at(owner_key(mb));
      SeenState seen{&us.seen, anyone ? &anyone->seen : nullptr, us.seen_file};
      // The records are counted as the index is walked, not kept: memory stays flat in folder size.
      FolderSummary counted;
      InventoryOptions walk;
      walk.keep_records = false;
      walk.each_live = [&](const IndexRecord& r) {
        counted.sizes.add(r.size);
        if (r.system_flags & sysflag::seen) ++counted.seen_messages;
      };
      MailboxInventory inv = inventory_mailbox(mb, seen, walk);
      folders[i] = summarise(mb, std::move(inv), disc.caret, std::move(counted));
      progress.add(folders[i].bytes, folders[i].messages);
      progress.add_folders(1);
    });
  }

  std::map<std::string, UserSummary> by_user;
  for (std::size_t i = 0; i < disc.mailboxes.size(); ++i) {
    const std::string owner = owner_key(disc.mailboxes[i]);
    UserSummary& u = by_user[owner];
    u.user = owner;
    u.folders.push_back(std::move(folders[i]));
  }
  for (auto& [owner, u] : by_user) {
    const UserState& st = *users.at(owner);
    u.seen_db = st.seen_file;
    u.subscriptions_found = st.subscriptions_found;
    for (const auto& s : st.subscriptions) u.subscriptions.push_back(s.internal());
    u.findings = st.findings;
  }

  ScanTotals& t = report.totals;
  add_totals(t, report.findings);
  for (auto& [owner, u] : by_user) {
    if (!owner.empty()) ++t.users;
    add_totals(t, u.findings);
    for (const auto& f : u.folders) {
      ++t.folders;
      t.messages += f.messages;
      t.bytes += f.bytes;
      for (std::size_t b = 0; b < f.sizes.log2.size(); ++b) report.message_sizes[b] += f.sizes.log2[b];
      t.expunged_present += f.expunged_present;
      t.missing_files += f.missing_files;
      t.orphan_files += f.orphan_files;
      if (f.uidnext != 0) ++report.index_versions[f.index_version];  // uidnext is set once the index was read
      add_totals(t, f.findings);
    }
    report.users.push_back(std::move(u));
  }
  return report;
}

}  // namespace cyrconv
