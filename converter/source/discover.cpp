#include "converter/source/discover.h"
#include "converter/source/census.h"
#include "converter/plan/special_use.h"

#include <algorithm>
#include <map>

#include "converter/source/io_fanout.h"
#include "converter/source/source_io.h"
#include "converter/source/spool_layout.h"
#include "parsers/cyrus_header.h"
#include "parsers/cyrusdb.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// Deeper than any real mailbox tree; stops a hostile or looping tree.
constexpr std::size_t max_walk_depth = 512;

struct WalkedMailbox {
  std::string partition;
  fs::path dir;
  std::vector<std::string> rel;  // components below the partition root
  std::optional<CyrusHeader> header;
  std::string header_error;
  std::uint32_t header_crc = 0;
};

Finding finding(Finding::Severity sev, std::string kind, std::string file, std::string detail) {
  Finding f;
  f.severity = sev;
  f.kind = std::move(kind);
  f.file = std::move(file);
  f.detail = std::move(detail);
  return f;
}

// A mailbox found on disk whose name neither its path nor a header tells: Recovered/<dir>.
MailboxName recovered_mailbox_name(const fs::path& dir) {
  MailboxName n;
  n.parts = {"Recovered", dir.filename().string()};
  return n;
}

// One directory of the walk as read from the storage; the walk's order is rebuilt from these.
struct WalkedDir {
  fs::path dir;
  std::vector<std::string> rel;
  std::string listing_error;
  std::vector<Finding> findings;             // symlinks and special files, in name order
  std::optional<WalkedMailbox> mailbox;      // the directory has cyrus.header
  std::vector<std::string> subdirs;          // to walk, in name order
  std::vector<std::size_t> children;         // their WalkedDir indices, same order
};

// The storage part of one directory: its listing and, for a mailbox, its cyrus.header. Keeps
// only what the walk needs (not the message file names: memory grows with folders, not
// messages).
void read_walked_dir(const std::string& partition, WalkedDir& w) {
  // Walked without keeping the listing (a folder of a million messages is a million names):
  // only special entries and subdirectories are kept, then put in name order.
  bool has_header = false, header_regular = false, has_index = false, has_message_files = false;
  std::vector<std::pair<std::string, DirEntry::Type>> special;  // symlinks and special files
  std::string error = for_each_directory_entry(w.dir, [&](std::string_view name, DirEntry::Type type) {
    if (name == "cyrus.header") {
      has_header = true;
      header_regular = type == DirEntry::Type::file;
    }
    if (name == "cyrus.index") has_index = true;
    if (type == DirEntry::Type::file && is_message_file_name(name)) has_message_files = true;
    if (type == DirEntry::Type::symlink || type == DirEntry::Type::other) {
      special.emplace_back(std::string(name), type);
    } else if (type == DirEntry::Type::directory) {
      // Partition-root directories ending in '.' are Cyrus staging areas (stage., sync.).
      if (w.rel.empty() && !name.empty() && name.back() == '.') return;
      if (w.rel.empty() && name == "lost+found") return;
      // A directory where a mailbox's metadata file belongs (a fault of its own) is no mailbox:
      // a '.' in a mailbox name is '^' on disk.
      if (name.starts_with("cyrus.")) return;
      w.subdirs.emplace_back(name);
    }
  });
  if (!error.empty()) {
    w.listing_error = std::move(error);
    w.subdirs.clear();
    return;
  }
  std::sort(special.begin(), special.end());
  std::sort(w.subdirs.begin(), w.subdirs.end());
  for (const auto& [name, type] : special) {
    if (type == DirEntry::Type::symlink)
      w.findings.push_back(finding(Finding::Severity::warning, "symlink_in_spool", (w.dir / name).string(),
                                   "symbolic link inside the spool: not followed"));
    else
      w.findings.push_back(finding(Finding::Severity::warning, "special_file_in_spool", (w.dir / name).string(),
                                   "device, FIFO or socket inside the spool: not read"));
  }
  // A directory with message files or an index but no cyrus.header is still a mailbox (the
  // header deleted or lost): its files are recovered, never dropped.
  if (!has_header && !has_index && !has_message_files) return;
  WalkedMailbox m{partition, w.dir, w.rel, std::nullopt, {}, 0};
  const fs::path header_path = w.dir / "cyrus.header";
  if (!has_header) {
    m.header_error = header_path.string() + ": missing";
  } else if (!header_regular) {
    m.header_error = header_path.string() + ": not a regular file (symbolic link, directory or special file): not read";
  } else if (SourceOpen h = SourceOpen::map(header_path); h.status != SourceOpen::Status::ok) {
    m.header_error = h.message;
  } else {
    m.header_crc = crc32_of(h.file.bytes());
    auto parsed = parse_cyrus_header(h.file.bytes(), header_path.string());
    if (parsed)
      m.header = std::move(parsed).value();
    else
      m.header_error = parsed.error().to_string();
  }
  w.mailbox = std::move(m);
}

// Reads the tree one level at a time, all directories of a level at once (--io-depth: on NFS
// each listing is a round trip), then emits mailboxes and findings in depth-first name order,
// exactly as a one-directory-at-a-time walk would.
void walk_partition(const std::string& partition, const fs::path& root, int io_depth, std::vector<WalkedMailbox>& out,
                    std::vector<Finding>& findings) {
  std::vector<WalkedDir> dirs;
  dirs.push_back(WalkedDir{root, {}, {}, {}, std::nullopt, {}, {}});
  std::vector<std::size_t> level{0};
  while (!level.empty()) {
    for_each_io(io_depth, level.size(), [&](std::size_t k) { read_walked_dir(partition, dirs[level[k]]); });
    std::vector<std::size_t> next;
    for (std::size_t idx : level) {
      if (dirs[idx].rel.size() >= max_walk_depth) continue;
      for (const auto& name : dirs[idx].subdirs) {
        WalkedDir child{dirs[idx].dir / name, dirs[idx].rel, {}, {}, std::nullopt, {}, {}};
        child.rel.push_back(name);
        dirs[idx].children.push_back(dirs.size());
        next.push_back(dirs.size());
        dirs.push_back(std::move(child));
      }
      dirs[idx].subdirs = {};
    }
    level = std::move(next);
  }

  std::vector<std::size_t> stack{0};
  while (!stack.empty()) {
    WalkedDir& cur = dirs[stack.back()];
    stack.pop_back();
    if (!cur.listing_error.empty()) {
      findings.push_back(finding(Finding::Severity::error, "directory_unreadable", cur.dir.string(), cur.listing_error));
      continue;
    }
    for (auto& f : cur.findings) findings.push_back(std::move(f));
    if (cur.mailbox) out.push_back(std::move(*cur.mailbox));
    if (cur.rel.size() >= max_walk_depth) {
      findings.push_back(finding(Finding::Severity::error, "tree_too_deep", cur.dir.string(),
                                 "directory tree deeper than " + std::to_string(max_walk_depth) + " levels: not walked further"));
      continue;
    }
    // Reverse so the stack pops in name order: a deterministic walk.
    for (auto it = cur.children.rbegin(); it != cur.children.rend(); ++it) stack.push_back(*it);
  }
}

bool is_deleted_name(const MailboxName& n) { return n.is_deleted(); }

MailboxKind kind_from_header_type(const std::string& letters) {
  if (letters.empty()) return MailboxKind::email;
  switch (letters[0]) {
    case 'c': return MailboxKind::calendar;
    case 'a': return MailboxKind::addressbook;
    case 'b': return MailboxKind::collection;
    case 'n': return MailboxKind::netnews;
    case 'j': return MailboxKind::notification;
    case 's': return MailboxKind::submission;
    case 'p': return MailboxKind::push_subscription;
    case 'f': return MailboxKind::sieve;
    default: return MailboxKind::email;
  }
}

// mailboxes.db (2.0+) or the 1.x "mailboxes" text file, when a config directory is given.
std::optional<MailboxesDb> read_mailbox_list(const SourceInputs& inputs, Discovery& d) {
  std::optional<MailboxesDb> db;
  if (!inputs.config_dir) return db;
  for (const char* fname : {"mailboxes.db", "mailboxes"}) {
    const fs::path p = *inputs.config_dir / fname;
    SourceOpen f = SourceOpen::map(p);
    if (f.status == SourceOpen::Status::missing) continue;
    d.mailboxes_db = p;
    if (f.status != SourceOpen::Status::ok) {
      d.findings.push_back(finding(Finding::Severity::error, "mailboxes_db_unreadable", p.string(), f.message));
      break;
    }
    auto raw = read_cyrusdb(f.file.bytes(), p.string());
    if (!raw) {
      d.findings.push_back(finding(Finding::Severity::error, "mailboxes_db_unreadable", p.string(), raw.error().to_string()));
      break;
    }
    d.mailboxes_db_format = to_string(raw.value().format);
    for (const auto& w : raw.value().warnings)
      d.findings.push_back(finding(Finding::Severity::warning, "mailboxes_db_warning", p.string(), w.to_string()));
    auto parsed = parse_mailboxes_db(raw.value().records, p.string());
    if (!parsed) {
      d.findings.push_back(finding(Finding::Severity::error, "mailboxes_db_unreadable", p.string(), parsed.error().to_string()));
      break;
    }
    for (const auto& bad : parsed.value().bad_entries)
      d.findings.push_back(finding(Finding::Severity::error, "mailboxes_db_bad_entry", p.string(), bad.to_string()));
    db = std::move(parsed).value();
    break;
  }
  if (d.mailboxes_db.empty())
    d.findings.push_back(finding(Finding::Severity::info, "no_mailboxes_db", inputs.config_dir->string(),
                                 "no mailboxes.db in the config directory: mailboxes found by walking the spool"));
  return db;
}

// Every partition's mailbox directories, in walk order.
std::vector<WalkedMailbox> walk_partitions(const SourceInputs& inputs, int io_depth, Discovery& d) {
  std::vector<WalkedMailbox> walked;
  for (const auto& [pname, root] : inputs.partitions) {
    if (!is_directory_no_follow(root)) {
      d.findings.push_back(finding(Finding::Severity::error, "partition_missing", root.string(),
                                   "partition '" + pname + "' is not a directory"));
      continue;
    }
    walk_partition(pname, root, io_depth, walked, d.findings);
  }
  return walked;
}

// The walked mailboxes, and which of them a mailboxes.db entry has claimed.
struct WalkedSet {
  std::vector<WalkedMailbox> mailboxes;
  std::map<fs::path, std::size_t> by_dir;
  std::vector<bool> matched;
};

// A mailboxes.db entry's directory: the first candidate (uuid, then legacy paths) the walk
// found and no other entry claimed. Fills `ref` from its header; names the candidates tried.
void find_db_entry_dir(const MailboxEntry& e, const fs::path& root, WalkedSet& ws, MailboxRef& ref,
                       Discovery& d) {
  const std::string internal = e.name.internal();
  std::vector<fs::path> candidates;
  if (!e.legacy_dirs && !e.unique_id.empty()) candidates.push_back(uuid_mailbox_dir(root, e.unique_id));
  for (auto& c : legacy_mailbox_dirs(root, e.name)) candidates.push_back(std::move(c));
  for (const auto& c : candidates) {
    auto it = ws.by_dir.find(c);
    if (it == ws.by_dir.end() || ws.matched[it->second]) continue;
    ws.matched[it->second] = true;
    ref.on_disk = true;
    ref.dir = c;
    const WalkedMailbox& w = ws.mailboxes[it->second];
    if (w.header && !w.header->unique_id.empty() && !e.unique_id.empty() && w.header->unique_id != e.unique_id)
      d.findings.push_back(finding(Finding::Severity::warning, "unique_id_mismatch", (c / "cyrus.header").string(),
                                   "mailboxes.db gives " + internal + " unique id " + e.unique_id +
                                       ", its cyrus.header says " + w.header->unique_id));
    if (ref.unique_id.empty() && w.header) ref.unique_id = w.header->unique_id;
    ref.header = w.header;
    ref.header_error = w.header_error;
    ref.header_crc = w.header_crc;
    break;
  }
  if (!ref.on_disk) {
    std::string tried;
    for (const auto& c : candidates) tried += (tried.empty() ? "" : ", ") + c.string();
    d.findings.push_back(finding(ref.deleted ? Finding::Severity::warning : Finding::Severity::error,
                                 "mailbox_directory_missing", d.mailboxes_db.string(),
                                 internal + " is listed in mailboxes.db but has no directory with cyrus.header (tried " +
                                     tried + ")"));
  }
}

// Every mailboxes.db entry that has files by design, matched to its walked directory.
void add_db_mailboxes(const MailboxesDb& db, const std::map<std::string, fs::path>& roots, WalkedSet& ws,
                      Discovery& d) {
  for (const auto& e : db.entries) {
    if (e.tombstone || e.remote || e.reserved || e.intermediate) continue;  // no files by design
    MailboxRef ref;
    ref.name = e.name;
    ref.kind = e.kind;
    ref.deleted = is_deleted_name(e.name);
    ref.in_db = true;
    ref.partition = e.partition;
    ref.unique_id = e.unique_id;
    ref.db_uidvalidity = e.uidvalidity;
    ref.acl = e.acl;
    auto root = roots.find(e.partition.empty() ? "default" : e.partition);
    if (root == roots.end()) {
      d.findings.push_back(finding(Finding::Severity::error, "partition_not_given", d.mailboxes_db.string(),
                                   e.name.internal() + " is on partition '" + e.partition +
                                       "': give it with --partition " + e.partition + "=DIR"));
      d.mailboxes.push_back(std::move(ref));
      continue;
    }
    find_db_entry_dir(e, root->second, ws, ref, d);
    d.mailboxes.push_back(std::move(ref));
  }
}

// A walked mailbox's name: a name-based directory is named by its path (a copied directory keeps
// its old header); a uuid directory only by the name inside its 3.6 header; else Recovered/<dir>.
MailboxName walked_mailbox_name(const WalkedMailbox& w, Discovery& d) {
  std::optional<MailboxName> name;
  const bool uuid_dir = !w.rel.empty() && w.rel[0] == "uuid";
  if (!uuid_dir) name = name_from_legacy_path(w.rel);
  if (w.header && !w.header->name.empty()) {
    MailboxName in_header = parse_internal_name(w.header->name);
    if (!name)
      name = in_header;
    else if (!(*name == in_header))
      d.findings.push_back(finding(Finding::Severity::warning, "header_name_mismatch", (w.dir / "cyrus.header").string(),
                                   "cyrus.header names the mailbox " + w.header->name + " but its directory says " +
                                       name->internal()));
  }
  if (!name) {
    // Never dropped: its files are converted under a name of its own.
    name = recovered_mailbox_name(w.dir);
    d.findings.push_back(finding(Finding::Severity::error, "mailbox_name_unknown", w.dir.string(),
                                 "a mailbox directory whose name cannot be told from its path or cyrus.header" +
                                     (w.header_error.empty() ? std::string() : " (" + w.header_error + ")") +
                                     ": converted as " + name->internal()));
  }
  return *name;
}

// Mailboxes found on disk that the database does not list (or all of them, without a db).
void add_unlisted_mailboxes(const WalkedSet& ws, bool have_db, Discovery& d) {
  for (std::size_t i = 0; i < ws.mailboxes.size(); ++i) {
    if (ws.matched[i]) continue;
    const WalkedMailbox& w = ws.mailboxes[i];
    MailboxRef ref;
    ref.on_disk = true;
    ref.partition = w.partition;
    ref.dir = w.dir;
    ref.name = walked_mailbox_name(w, d);
    ref.deleted = is_deleted_name(ref.name);
    ref.header = w.header;
    ref.header_error = w.header_error;
    ref.header_crc = w.header_crc;
    if (w.header) {
      ref.unique_id = w.header->unique_id;
      ref.acl = w.header->acl;
      ref.kind = kind_from_header_type(w.header->type_letters);
    }
    if (have_db)
      d.findings.push_back(finding(Finding::Severity::warning, "mailbox_not_in_db", w.dir.string(),
                                   ref.name.internal() + " has a directory with cyrus.header but mailboxes.db does not list it"));
    d.mailboxes.push_back(std::move(ref));
  }
}

// Archive partitions mirror the spool partition's relative layout.
void set_archive_dirs(const SourceInputs& inputs, const std::map<std::string, fs::path>& roots, Discovery& d) {
  std::map<std::string, fs::path> archive_roots(inputs.archive_partitions.begin(), inputs.archive_partitions.end());
  for (auto& m : d.mailboxes) {
    if (!m.on_disk) continue;
    const std::string pname = m.partition.empty() ? "default" : m.partition;
    auto a = archive_roots.find(pname);
    auto r = roots.find(pname);
    if (a != archive_roots.end() && r != roots.end()) m.archive_dir = a->second / m.dir.lexically_relative(r->second);
  }
  for (const auto& [pname, root] : inputs.archive_partitions)
    if (!roots.count(pname))
      d.findings.push_back(finding(Finding::Severity::error, "archive_partition_unmatched", root.string(),
                                   "archive partition '" + pname + "' has no spool partition of that name"));
}

// Mailboxes sorted by name, special-use roles, and a name found twice reported.
void sort_and_annotate(const SourceInputs& inputs, Discovery& d) {
  std::sort(d.mailboxes.begin(), d.mailboxes.end(),
            [](const MailboxRef& a, const MailboxRef& b) { return a.name < b.name; });
  if (inputs.config_dir) load_special_use(*inputs.config_dir, d.mailboxes, d.findings);
  for (std::size_t i = 1; i < d.mailboxes.size(); ++i)
    if (d.mailboxes[i].name == d.mailboxes[i - 1].name)
      d.findings.push_back(finding(Finding::Severity::error, "mailbox_duplicate_name", d.mailboxes[i].dir.string(),
                                   d.mailboxes[i].name.internal() + " is found twice, also at " +
                                       d.mailboxes[i - 1].dir.string() + ": both are kept and listed"));
}

// '^' in names: what the server made of it depends on its unixhierarchysep alone.
void decide_caret(const SourceInputs& inputs, Discovery& d) {
  const MailboxRef* with_caret = nullptr;
  for (const auto& m : d.mailboxes)
    for (std::size_t i = m.name.is_user() ? 2 : 0; i < m.name.parts.size() && !with_caret; ++i)
      if (m.name.parts[i].find('.') != std::string::npos) with_caret = &m;
  if (inputs.unixhierarchysep) {
    d.caret = *inputs.unixhierarchysep ? CaretMeaning::dot : CaretMeaning::caret;
    if (with_caret)
      d.findings.push_back(finding(Finding::Severity::info, "hierarchy_separator_given",
                                   inputs.unixhierarchysep_from,
                                   std::string("unixhierarchysep: ") + (*inputs.unixhierarchysep ? "yes" : "no") +
                                       ": a '^' in a folder name (" + with_caret->name.internal() + ") is read as " +
                                       (*inputs.unixhierarchysep ? "'.'" : "a literal '^'")));
  } else if (with_caret) {
    d.findings.push_back(finding(
        Finding::Severity::warning, "hierarchy_separator_assumed", with_caret->dir.string(),
        "folder names hold '^' (" + with_caret->name.internal() +
            "): read as '.', as Cyrus serves it under unixhierarchysep: yes (the default since 3.0); if the server "
            "ran with unixhierarchysep: no, it served a literal '^': give --imapd-conf FILE or --unixhierarchysep no"));
  }
}

}  // namespace

Discovery discover(const SourceInputs& inputs, int io_depth) {
  Discovery d;
  const std::map<std::string, fs::path> roots(inputs.partitions.begin(), inputs.partitions.end());
  const std::optional<MailboxesDb> db = read_mailbox_list(inputs, d);
  WalkedSet ws;
  ws.mailboxes = walk_partitions(inputs, io_depth, d);
  for (std::size_t i = 0; i < ws.mailboxes.size(); ++i) ws.by_dir[ws.mailboxes[i].dir] = i;
  ws.matched.assign(ws.mailboxes.size(), false);
  if (db) add_db_mailboxes(*db, roots, ws, d);
  add_unlisted_mailboxes(ws, db.has_value(), d);
  set_archive_dirs(inputs, roots, d);
  sort_and_annotate(inputs, d);
  decide_caret(inputs, d);
  d.fatal = d.mailboxes.empty() && !d.findings.empty() &&
            std::any_of(d.findings.begin(), d.findings.end(),
                        [](const Finding& f) { return f.severity == Finding::Severity::error; });
  return d;
}

}  // namespace cyrconv
