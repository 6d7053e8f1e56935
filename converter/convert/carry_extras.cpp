#include "converter/convert/carry_extras.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

#include "converter/convert/journal.h"
#include "converter/source/source_io.h"
#include "parsers/cyrusdb.h"
#include "parsers/mutf7.h"
#include "parsers/quota.h"
#include "parsers/sieve_mailbox.h"
#include "writers/dovecot_acl.h"
#include "writers/dovecot_special_use.h"
#include "writers/maildirsize.h"
#include "writers/output_file.h"
#include "writers/sieve_export.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

Finding finding(Finding::Severity s, std::string kind, std::string file, std::string detail) {
  return Finding{s, std::move(kind), std::move(file), 0, 0, std::move(detail)};
}

// FNV-1a: only to recognise our own earlier output in journal/extras.tsv, not for integrity.
std::string content_hash(std::string_view s) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// journal/extras.tsv: "<path relative to the user root> TAB <hash>" of every file this pass
// wrote (a symlink: the hash of "link:" + its target).
struct OwnedFiles {
  const ExtrasOptions& opt;
  ExtrasUser& user;
  std::map<std::string, std::string> before, now;

  OwnedFiles(const ExtrasOptions& o, ExtrasUser& u) : opt(o), user(u) {
    std::string error;
    auto text = read_output_text(journal_dir(user.root) / "extras.tsv", error);
    if (!text) return;
    std::size_t pos = 0;
    while (pos < text->size()) {
      std::size_t eol = text->find('\n', pos);
      if (eol == std::string::npos) eol = text->size();
      const std::string line = text->substr(pos, eol - pos);
      const std::size_t tab = line.rfind('\t');
      if (tab != std::string::npos) before[line.substr(0, tab)] = line.substr(tab + 1);
      pos = eol + 1;
    }
  }

  void kept(const std::string& rel, const std::string& why) {
    user.findings->push_back(finding(Finding::Severity::warning, "extras_file_kept", (user.root / rel).string(),
                                     why + ": left as it is, not replaced"));
  }

  // Writes `content` to root/rel unless a file there is not ours. True when the file now holds it.
  bool place(const std::string& rel, const std::string& content) {
    const fs::path p = user.root / rel;
    std::string error;
    auto existing = read_output_text(p, error);
    if (!error.empty()) {
      kept(rel, "unreadable (" + error + ")");
      return false;
    }
    if (existing && *existing != content) {
      auto it = before.find(rel);
      if (it == before.end() || it->second != content_hash(*existing)) {
        kept(rel, "a file cyrconv did not write (or that changed since it did) is there");
        return false;
      }
    }
    if (auto st = make_directories(p.parent_path()); !st) {
      user.findings->push_back(finding(Finding::Severity::error, "output_failed", p.string(), st.message));
      return false;
    }
    if (auto st = write_small_file(p, content, opt.sync); !st) {
      user.findings->push_back(finding(Finding::Severity::error, "output_failed", p.string(), st.message));
      return false;
    }
    now[rel] = content_hash(content);
    return true;
  }

  // A relative symlink root/rel -> target, same rules.
  bool link(const std::string& rel, const std::string& target) {
    const fs::path p = user.root / rel;
    std::error_code ec;
    const auto st = fs::symlink_status(p, ec);
    const std::string want = content_hash("link:" + target);
    if (!ec && fs::exists(st)) {
      if (fs::is_symlink(st)) {
        const fs::path was = fs::read_symlink(p, ec);
        if (!ec && was.string() == target) {
          now[rel] = want;
          return true;
        }
        auto it = before.find(rel);
        if (ec || it == before.end() || it->second != content_hash("link:" + was.string())) {
          kept(rel, "a link cyrconv did not make (or that changed since) is there");
          return false;
        }
      } else {
        kept(rel, "a file that is not cyrconv's link is there");
        return false;
      }
    }
    // Made under a temporary name and renamed over ours, so the link is never missing.
    const fs::path tmp = user.root / ("." + rel + ".cyrconv-tmp");
    fs::remove(tmp, ec);
    fs::create_symlink(target, tmp, ec);
    if (!ec) fs::rename(tmp, p, ec);
    if (ec) {
      user.findings->push_back(finding(Finding::Severity::error, "output_failed", p.string(), ec.message()));
      return false;
    }
    now[rel] = want;
    return true;
  }

  void save() {
    std::map<std::string, std::string> all = before;  // files not written this run stay recorded
    for (const auto& [k, v] : now) all[k] = v;
    if (all.empty()) return;
    std::string text;
    for (const auto& [k, v] : all) text += k + "\t" + v + "\n";
    if (auto st = make_directories(journal_dir(user.root)); !st) return;
    if (auto st = write_small_file(journal_dir(user.root) / "extras.tsv", text, opt.sync); !st)
      user.findings->push_back(finding(Finding::Severity::error, "output_failed", st.message, st.message));
  }
};

bool is_inbox(const MailboxRef& mb) { return mb.name.is_user() && mb.name.parts.size() == 2; }

std::string out_rel(const ExtrasUser& u, const std::string& rel) { return u.root_rel + "/" + rel; }

// ---------------------------------------------------------------- special-use

void carry_special_use(OwnedFiles& owned, ExtrasUser& u) {
  std::vector<std::pair<std::string, std::string>> roles;
  for (auto& f : u.folders) {
    if (!f.name || f.name->action != FolderAction::mail_folder || f.name->special_use.empty()) continue;
    f.out->special_use = f.name->special_use;
    const bool annotated = f.mailbox && f.mailbox->special_use &&
                           f.mailbox->special_use->find(f.name->special_use) != std::string::npos;
    f.out->special_use_source = annotated ? "annotation" : "name";
    roles.emplace_back(f.name->path, f.name->special_use);
  }
  if (roles.empty() || u.owner.empty()) return;
  std::sort(roles.begin(), roles.end());
  if (owned.place("dovecot-special-use.conf", dovecot_special_use_conf(roles)))
    u.report->special_use_file = out_rel(u, "dovecot-special-use.conf");
}

// ---------------------------------------------------------------- Sieve

std::string script_file_name(const std::string& name) {
  std::string s;
  for (unsigned char c : name) s += (c < 0x20 || c == '/' || c == 0x7f) ? '_' : static_cast<char>(c);
  if (s.empty() || s.front() == '.') s.insert(s.begin(), '_');
  return s + ".sieve";
}

struct FoundScript {
  std::string name, content, source;
  std::uint32_t uid = 0;
};

// The active script's name from sievedir's "defaultbc" symlink ("<name>.bc"), "" when none.
std::string active_from_defaultbc(const fs::path& dir) {
  std::error_code ec;
  const fs::path target = fs::read_symlink(dir / "defaultbc", ec);
  if (ec) return "";
  std::string t = target.filename().string();
  if (t.size() > 3 && t.compare(t.size() - 3, 3, ".bc") == 0) t.resize(t.size() - 3);
  return t;
}

// Older Cyrus (before the #sieve mailbox): sievedir/<hash>/<user>/<name>.script, with domains
// sievedir/domain/<hash>/<domain>/<hash>/<user>/. The hash letter depends on settings, so every
// one-letter directory is tried.
std::vector<fs::path> legacy_sieve_dirs(const fs::path& sievedir, const std::string& owner) {
  std::string user = owner, domain;
  if (auto at = owner.find('@'); at != std::string::npos) {
    user = owner.substr(0, at);
    domain = owner.substr(at + 1);
  }
  std::vector<fs::path> bases;
  if (domain.empty()) {
    bases.push_back(sievedir);
  } else {
    for (const auto& e : list_directory(sievedir / "domain").entries)
      if (e.type == DirEntry::Type::directory) bases.push_back(sievedir / "domain" / e.name / domain);
  }
  std::vector<fs::path> out;
  for (const auto& b : bases)
    for (const auto& e : list_directory(b).entries)
      if (e.type == DirEntry::Type::directory && e.name.size() == 1 && is_directory_no_follow(b / e.name / user))
        out.push_back(b / e.name / user);
  return out;
}

void carry_sieve(const ExtrasOptions& opt, OwnedFiles& owned, ExtrasUser& u) {
  if (u.owner.empty()) return;
  std::map<std::string, FoundScript> scripts;  // by name
  std::string active;
  const ExtrasFolder* sieve_folder = nullptr;
  std::string inbox_id;
  for (const auto& f : u.folders) {
    if (f.mailbox && f.mailbox->kind == MailboxKind::sieve) sieve_folder = &f;
    if (f.mailbox && is_inbox(*f.mailbox)) inbox_id = f.mailbox->unique_id;
  }
  if (sieve_folder) {
    ConvertFolder& out = *sieve_folder->out;
    const MailboxInventory& inv = *sieve_folder->inventory;
    out.action = "sieve_scripts";
    out.count = AuditAccounting{};
    out.count.messages = inv.live.size();
    std::vector<const IndexRecord*> recs;
    for (const auto& r : inv.live) recs.push_back(&r);
    std::sort(recs.begin(), recs.end(), [](auto* a, auto* b) { return a->uid < b->uid; });
    for (const auto* r : recs) {
      const fs::path p = message_file_path(*sieve_folder->mailbox, *r);
      SourceOpen f = SourceOpen::map(p);
      if (f.status != SourceOpen::Status::ok) {
        ++out.count.missing;
        out.findings.push_back(Finding{Finding::Severity::error, "sieve_script_unreadable", p.string(), 0, r->uid, f.message});
        continue;
      }
      auto s = parse_sieve_script_message(f.file.bytes(), p.string());
      if (!s) {
        ++out.count.not_converted;
        out.findings.push_back(Finding{Finding::Severity::error, "sieve_script_unreadable", p.string(), s.error().offset,
                                       r->uid, s.error().to_string()});
        continue;
      }
      ++out.count.written;  // a later UID of the same name replaces it below (reported)
      auto& slot = scripts[s.value().name];
      if (slot.uid)
        out.findings.push_back(Finding{Finding::Severity::info, "sieve_script_superseded", p.string(), 0, slot.uid,
                                       "script \"" + slot.name + "\" is stored again at UID " + std::to_string(r->uid) +
                                           ": the later one is exported"});
      slot = FoundScript{s.value().name, std::move(s.value().content), p.string(), r->uid};
    }
  }
  if (opt.config_dir) {
    const fs::path sievedir = *opt.config_dir / "sieve";
    if (!inbox_id.empty() && inbox_id.size() >= 2) {
      const fs::path d = sievedir / "uuid" / inbox_id.substr(0, 1) / inbox_id.substr(1, 1) / inbox_id;
      if (active.empty()) active = active_from_defaultbc(d);
    }
    for (const auto& d : legacy_sieve_dirs(sievedir, u.owner)) {
      if (active.empty()) active = active_from_defaultbc(d);
      for (const auto& e : list_directory(d).entries) {
        if (e.type != DirEntry::Type::file || e.name.size() <= 7 || e.name.compare(e.name.size() - 7, 7, ".script") != 0)
          continue;
        const std::string name = e.name.substr(0, e.name.size() - 7);
        if (scripts.count(name)) continue;  // the #sieve mailbox is newer
        SourceOpen f = SourceOpen::map(d / e.name);
        if (f.status != SourceOpen::Status::ok) {
          u.findings->push_back(finding(Finding::Severity::error, "sieve_script_unreadable", (d / e.name).string(), f.message));
          continue;
        }
        scripts[name] = FoundScript{name, std::string(f.file.bytes()), (d / e.name).string(), 0};
      }
    }
  }
  if (scripts.empty()) return;

  std::vector<std::pair<std::string, std::string>> folders;  // Cyrus path -> target path
  for (const auto& f : u.folders)
    if (f.mailbox && f.name && f.name->action == FolderAction::mail_folder)
      folders.emplace_back(source_path(folder_name_input(f.mailbox->name, f.mailbox->kind, std::nullopt, opt.caret)), f.name->path);
  auto map = [&](std::string_view n) { return sieve_folder_target(n, folders); };

  for (auto& [name, s] : scripts) {
    CarriedSieveScript cs;
    cs.name = name;
    cs.uid = s.uid;
    cs.active = name == active;
    const std::string rel = "sieve/" + script_file_name(name);
    SieveRewriteResult rw = rewrite_sieve_folders(s.content, map);
    if (!rw.safe) {
      cs.rewritten_unsafe = true;
      u.findings->push_back(finding(Finding::Severity::warning, "sieve_not_parsed", s.source,
                                    "script \"" + name + "\" copied unchanged, its folder names were not rewritten: " + rw.error));
    }
    for (const auto& w : rw.rewrites)
      cs.rewrites.push_back(w.command + " \"" + w.from + "\" -> \"" + w.to + "\" (line " + std::to_string(w.line) + ")");
    for (const auto& w : rw.unresolved)
      u.findings->push_back(finding(Finding::Severity::info, "sieve_folder_unknown", s.source,
                                    "script \"" + name + "\" line " + std::to_string(w.line) + ": " + w.command + " \"" +
                                        w.from + "\" names no folder of this user: kept as written"));
    if (owned.place(rel, rw.script)) cs.file = out_rel(u, rel);
    u.report->sieve.push_back(std::move(cs));
  }
  if (!active.empty()) {
    if (!scripts.count(active)) {
      u.findings->push_back(finding(Finding::Severity::warning, "sieve_active_missing", "",
                                    "the active script \"" + active + "\" (sievedir defaultbc) has no source: none made active"));
    } else if (owned.link(".dovecot.sieve", "sieve/" + script_file_name(active))) {
      u.report->sieve_active_link = out_rel(u, ".dovecot.sieve");
    }
  }
}

// ---------------------------------------------------------------- ACLs

bool owner_only(const std::vector<AclEntry>& acl, const std::string& owner) {
  if (owner.empty() || acl.size() != 1 || acl[0].identifier != owner) return false;
  const auto mapped = map_cyrus_acl_entry(acl[0].identifier, acl[0].rights, owner);
  return mapped.letters == "lrwstipekxa";  // Dovecot's default for the owner: every right
}

void carry_acls(const ExtrasOptions& opt, OwnedFiles& owned, ExtrasUser& u) {
  std::string table;
  for (auto& f : u.folders) {
    if (!f.mailbox || !f.name || f.name->action != FolderAction::mail_folder) continue;
    // mailboxes.db holds the ACL Cyrus enforces; cyrus.header a copy (the only one before 2.2).
    const std::vector<AclEntry>& acl =
        !f.mailbox->acl.empty() ? f.mailbox->acl : (f.mailbox->header ? f.mailbox->header->acl : f.mailbox->acl);
    if (acl.empty()) continue;
    const std::string owner = f.mailbox->name.owner();
    std::vector<DovecotAclEntry> mapped;
    std::string unmapped_other;
    for (const auto& e : acl) {
      DovecotAclEntry d = map_cyrus_acl_entry(e.identifier, e.rights, owner);
      CarriedAcl c{e.identifier, e.rights, d.identifier_ok ? describe(d) : "", d.unmapped};
      if (!d.identifier_ok) {
        f.out->findings.push_back(finding(Finding::Severity::warning, "acl_identifier_not_carried", f.mailbox->dir.string(),
                                          "ACL identifier \"" + e.identifier + "\" has no Dovecot form: not carried"));
      }
      for (char r : d.unmapped)
        if (r != 'n' && unmapped_other.find(r) == std::string::npos) unmapped_other += r;
      table += f.name->path + "\t" + e.identifier + "\t" + e.rights + "\t" + c.dovecot + "\n";
      f.out->acl.push_back(std::move(c));
      mapped.push_back(std::move(d));
    }
    if (!unmapped_other.empty())
      f.out->findings.push_back(finding(Finding::Severity::warning, "acl_rights_not_carried", f.mailbox->dir.string(),
                                        "Cyrus rights \"" + unmapped_other + "\" have no Dovecot right: not carried"));
    if (!opt.maildir || owner_only(acl, owner)) continue;  // Dovecot's default already is this ACL
    const std::string rel = "Maildir" + (f.name->maildirpp.empty() ? std::string() : "/" + f.name->maildirpp) + "/dovecot-acl";
    if (!is_directory_no_follow((u.root / rel).parent_path())) continue;  // folder not written
    if (owned.place(rel, dovecot_acl_file(mapped))) f.out->acl_file = out_rel(u, rel);
  }
  if (table.empty()) return;
  if (owned.place("acl.tsv", "# cyrconv folder ACLs: target folder, Cyrus identifier, Cyrus rights, dovecot-acl\n" + table))
    u.report->acl_table = out_rel(u, "acl.tsv");
}

// ---------------------------------------------------------------- quota

std::optional<QuotaValue> read_quota_root(const fs::path& config, const std::string& root, std::vector<Finding>& findings) {
  std::string domain, name = root;
  if (auto bang = root.find('!'); bang != std::string::npos) {
    domain = root.substr(0, bang);
    name = root.substr(bang + 1);
  }
  std::vector<fs::path> dirs;  // quotalegacy: <config>[/domain/<h>/<domain>]/quota/<h>/<root>
  if (domain.empty()) {
    dirs.push_back(config / "quota");
  } else {
    for (const auto& e : list_directory(config / "domain").entries)
      if (e.type == DirEntry::Type::directory) dirs.push_back(config / "domain" / e.name / domain / "quota");
  }
  for (const auto& d : dirs)
    for (const auto& e : list_directory(d).entries) {
      if (e.type != DirEntry::Type::directory) continue;
      const fs::path p = d / e.name / name;
      SourceOpen f = SourceOpen::map(p);
      if (f.status == SourceOpen::Status::missing) continue;
      if (f.status != SourceOpen::Status::ok) {
        findings.push_back(finding(Finding::Severity::error, "quota_unreadable", p.string(), f.message));
        return std::nullopt;
      }
      auto q = parse_quota_value(f.file.bytes(), p.string());
      if (!q) {
        findings.push_back(finding(Finding::Severity::error, "quota_unreadable", p.string(), q.error().to_string()));
        return std::nullopt;
      }
      return q.value();
    }
  // quota_db: twoskip/skiplist quotas.db keyed by the root's internal name.
  const fs::path db = config / "quotas.db";
  SourceOpen f = SourceOpen::map(db);
  if (f.status != SourceOpen::Status::ok) return std::nullopt;
  auto raw = read_cyrusdb(f.file.bytes(), db.string());
  if (!raw) return std::nullopt;
  for (const auto& r : raw.value().records)
    if (r.key == root) {
      auto q = parse_quota_value(r.value, db.string());
      if (q) return q.value();
      findings.push_back(finding(Finding::Severity::error, "quota_unreadable", db.string(), q.error().to_string()));
    }
  return std::nullopt;
}

}  // namespace

WriteStatus replace_owned_extras_file(const fs::path& user_root, const std::string& rel, const std::string& content,
                                      bool sync) {
  std::string error;
  const fs::path table = journal_dir(user_root) / "extras.tsv";
  auto text = read_output_text(table, error);
  auto existing = read_output_text(user_root / rel, error);
  if (!text || !existing) return WriteStatus{false, (user_root / rel).string() + ": not found, or no " + table.string()};
  std::string out;
  bool ours = false;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    std::string line = text->substr(pos, eol - pos);
    pos = eol + 1;
    const std::size_t tab = line.rfind('\t');
    if (tab != std::string::npos && line.substr(0, tab) == rel) {
      ours = line.substr(tab + 1) == content_hash(*existing);
      line = rel + "\t" + content_hash(content);
    }
    out += line + "\n";
  }
  if (!ours) return WriteStatus{false, (user_root / rel).string() + ": changed since cyrconv wrote it: left as it is"};
  if (auto st = write_small_file(user_root / rel, content, sync); !st) return st;
  return write_small_file(table, out, sync);
}

// Every message file in cur/ and new/, its size from ",S=" (the file size otherwise).
void maildir_usage(const fs::path& maildir, std::uint64_t& bytes, std::uint64_t& count) {
  std::vector<fs::path> folders{maildir};
  for (const auto& e : list_directory(maildir).entries)
    if (e.type == DirEntry::Type::directory && e.name.size() > 1 && e.name[0] == '.') folders.push_back(maildir / e.name);
  for (const auto& f : folders)
    for (const char* sub : {"cur", "new"})
      for (const auto& e : list_directory(f / sub).entries) {
        if (e.type != DirEntry::Type::file || e.name[0] == '.') continue;
        std::uint64_t size = 0;
        const std::size_t s = e.name.find(",S=");
        if (s != std::string::npos) {
          size = std::strtoull(e.name.c_str() + s + 3, nullptr, 10);
        } else {
          std::error_code ec;
          size = fs::file_size(f / sub / e.name, ec);
        }
        bytes += size;
        ++count;
      }
}

namespace {

void carry_quota(const ExtrasOptions& opt, OwnedFiles& owned, ExtrasUser& u) {
  if (!opt.config_dir) return;
  std::set<std::string> roots;
  std::string user_root;
  for (const auto& f : u.folders) {
    if (!f.mailbox || !f.mailbox->header || f.mailbox->header->quota_root.empty()) continue;
    roots.insert(f.mailbox->header->quota_root);
    if (is_inbox(*f.mailbox) && f.mailbox->header->quota_root == f.mailbox->name.internal()) user_root = f.mailbox->name.internal();
  }
  for (const auto& root : roots) {
    CarriedQuota q;
    q.root = root;
    auto v = read_quota_root(*opt.config_dir, root, *u.findings);
    if (!v) {
      q.note = "no quota record found for this root";
      u.report->quota.push_back(std::move(q));
      continue;
    }
    q.storage_limit_kib = v->storage.limit;
    if (v->messages) q.message_limit = v->messages->limit;
    if (opt.maildir) maildir_usage(u.root / "Maildir", q.used_bytes, q.used_messages);
    if (root != user_root) {
      q.note = "a quota root below the user's top folder: Maildir++ has one quota per Maildir, not carried";
      u.findings->push_back(finding(Finding::Severity::warning, "quota_not_carried", root, q.note));
    } else if (!opt.maildir) {
      q.note = "mbox output: set the limits in Dovecot's quota configuration (no file carries them)";
    } else if (q.storage_limit_kib || q.message_limit) {
      const std::optional<std::uint64_t> bytes =
          q.storage_limit_kib ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*q.storage_limit_kib) * 1024) : std::nullopt;
      const std::optional<std::uint64_t> msgs =
          q.message_limit ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*q.message_limit)) : std::nullopt;
      if (owned.place("Maildir/maildirsize", maildirsize(bytes, msgs, q.used_bytes, q.used_messages)))
        q.file = out_rel(u, "Maildir/maildirsize");
    } else {
      q.note = "no limit set";
    }
    u.report->quota.push_back(std::move(q));
  }
}

}  // namespace

std::optional<std::string> sieve_folder_target(std::string_view name,
                                               const std::vector<std::pair<std::string, std::string>>& folders) {
  std::vector<std::string> readings;
  if (name.find('&') != std::string_view::npos) {
    auto d = mutf7_decode(name);
    if (d) readings.push_back(d.value());
  }
  readings.emplace_back(name);
  auto find = [&](const std::string& path) -> std::optional<std::string> {
    for (const auto& [src, target] : folders)
      if (src == path) return target;
    return std::nullopt;
  };
  for (const auto& r : readings) {
    for (char sep : {'/', '.'}) {
      std::string path = r;
      if (sep == '.') {
        if (r.find('/') != std::string::npos) continue;
        std::replace(path.begin(), path.end(), '.', '/');
      }
      if (path.size() == 5 && (path == "INBOX" || path == "inbox" || path == "Inbox")) path = "INBOX";
      if (auto t = find(path)) return t;
      // "INBOX/x" of the standard namespace is the folder "x" of altnamespace, and the reverse.
      if (path.size() > 6 && (path.rfind("INBOX/", 0) == 0 || path.rfind("inbox/", 0) == 0))
        if (auto t = find(path.substr(6))) return t;
    }
  }
  return std::nullopt;
}

void carry_extras(const ExtrasOptions& opt, ExtrasUser& u) {
  OwnedFiles owned(opt, u);
  carry_special_use(owned, u);
  carry_sieve(opt, owned, u);
  carry_acls(opt, owned, u);
  carry_quota(opt, owned, u);  // last: the usage counts what the passes before wrote
  owned.save();
}

}  // namespace cyrconv
