// Folder naming, the naming of one user's folders (folder_naming.h; README "Folder names"): the
// target's key set (Namer) and the three steps of name_folders (overrides, INBOX and special-use
// folders, everything else).
#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <tuple>

#include "converter/plan/folder_naming.h"
#include "converter/plan/folder_naming_detail.h"
#include "parsers/utf8.h"

namespace cyrconv {

using namespace folder_naming_detail;

namespace {

constexpr std::size_t kNameMax = 255;        // bytes per file name (Linux NAME_MAX)
constexpr std::size_t kLevelDiskMax = 250;   // leaves room for mbox's ".sbd"
constexpr std::size_t kZimbraMax = 255;      // UTF-16 units per level

const std::array<const char*, 13> kZimbraSystem = {
    "Inbox", "Trash", "Junk", "Sent", "Drafts", "Contacts", "Calendar", "Tasks",
    "Emailed Contacts", "Chats", "Briefcase", "Files shared with me", "Unsubscribe"};

enum class Tree { mail, calendar, addressbook };

struct Forms {
  std::string path, maildirpp, fs, mbox, export_file;
};

class Namer {
 public:
  explicit Namer(NamingProfile p) : p_(p) {}

  bool ci() const { return p_ != NamingProfile::dovecot; }
  std::string norm(std::string_view s) const { return ci() ? fold_case(s) : std::string(s); }
  bool shared_namespace() const { return p_ == NamingProfile::zimbra; }

  Forms forms(const std::vector<std::string>& levels, Tree t) const {
    Forms f;
    f.path = join(levels, "/");
    if (t != Tree::mail) {
      f.export_file = (t == Tree::calendar ? "calendars/" : "addressbooks/") + f.path +
                      (t == Tree::calendar ? ".ics" : ".vcf");
      if (!shared_namespace()) return f;
    }
    const bool inbox = levels.size() == 1 && (levels[0] == "INBOX" || levels[0] == "Inbox") && t == Tree::mail;
    for (std::size_t i = 0; i < levels.size(); ++i) {
      f.maildirpp += "." + dovecot_storage_level(levels[i], true);
      if (i) f.fs += "/";
      f.fs += dovecot_storage_level(levels[i], false);
      if (i) f.mbox += ".sbd/";
      f.mbox += dovecot_storage_level(levels[i], false);
    }
    if (inbox) {
      f.maildirpp.clear();
      f.fs.clear();
      f.mbox = "INBOX";
    }
    return f;
  }

  std::vector<std::string> keys(const Forms& f, Tree t) const {
    std::vector<std::string> k;
    if (t != Tree::mail && !shared_namespace()) {
      k.push_back("x:" + fold_case(f.export_file));  // export files: always case-insensitive
      return k;
    }
    k.push_back("p:" + norm(f.path));
    if (!f.maildirpp.empty()) k.push_back("m:" + norm(f.maildirpp));
    if (!f.fs.empty()) k.push_back("f:" + norm(f.fs));
    if (!f.mbox.empty()) {
      k.push_back("b:" + norm(f.mbox));
      k.push_back("b:" + norm(f.mbox + ".sbd"));
    }
    if (t != Tree::mail) k.push_back("x:" + fold_case(f.export_file));
    return k;
  }

  // Why the name cannot be used as is: "" when free.
  std::string blocked(const std::vector<std::string>& levels, Tree t, bool role, RenameReason& reason) const {
    const std::string& leaf = levels.back();
    if (!role && levels.size() == 1 && (t == Tree::mail || shared_namespace())) {
      if (is_ascii_ci(leaf, "INBOX")) {
        reason = RenameReason::system_folder;
        return "INBOX";
      }
      if (p_ == NamingProfile::zimbra)
        for (const char* s : kZimbraSystem)
          if (fold_case(leaf) == fold_case(s)) {
            reason = RenameReason::system_folder;
            return std::string("Zimbra's system folder ") + s;
          }
    }
    if (p_ != NamingProfile::zimbra && (t == Tree::mail)) {
      const std::string l = norm(leaf);
      if (l == "cur" || l == "new" || l == "tmp") {
        reason = RenameReason::reserved_name;
        return "a name Dovecot's LAYOUT=fs reserves";
      }
    }
    for (const auto& k : keys(forms(levels, t), t)) {
      auto it = taken_.find(k);
      if (it != taken_.end()) {
        reason = RenameReason::collision;
        return it->second;
      }
    }
    return "";
  }

  bool fits(const std::vector<std::string>& levels, Tree t) const {
    const std::string& leaf = levels.back();
    if (p_ == NamingProfile::zimbra && utf16_units(leaf) > kZimbraMax) return false;
    if (t != Tree::mail && !shared_namespace()) return leaf.size() + 4 <= kNameMax;
    if (dovecot_storage_level(leaf, false).size() > kLevelDiskMax) return false;
    if (forms(levels, t).maildirpp.size() > kNameMax) return false;
    return true;
  }

  void take(const std::vector<std::string>& levels, Tree t, const std::string& owner) {
    for (const auto& k : keys(forms(levels, t), t)) taken_.emplace(k, owner);
  }

  // Picks the first free name for `leaf` below `parent`: the leaf itself, then "leaf (2)", ...
  // Returns false when even a one-character base cannot fit.
  bool place(const std::vector<std::string>& parent, std::string leaf, Tree t, bool role,
             std::vector<std::string>& out, std::vector<RenameReason>& reasons, std::string& why) {
    for (unsigned n = 1; n < 100000; ++n) {
      const std::string suffix = n == 1 ? "" : " (" + std::to_string(n) + ")";
      std::string base = leaf;
      std::vector<std::string> cand = parent;
      cand.push_back(base + suffix);
      while (!fits(cand, t)) {
        drop_last_cp(base);
        if (base.empty()) return false;
        cand.back() = base + suffix;
        add_reason(reasons, RenameReason::too_long);
      }
      RenameReason r{};
      const std::string by = blocked(cand, t, role, r);
      if (by.empty()) {
        out = std::move(cand);
        return true;
      }
      if (n == 1) {
        add_reason(reasons, r);
        why += (why.empty() ? "" : "; ") + std::string(r == RenameReason::collision ? "collides with " : "clashes with ") + by;
      }
    }
    return false;
  }

  std::map<std::string, std::string> taken_;  // key -> who holds it (for messages)

 private:
  NamingProfile p_;
};

struct Node {
  std::vector<std::string> levels;  // target
  bool renamed = false;
  std::vector<RenameReason> reasons;
  std::string why;
};

using SrcKey = std::pair<int, std::vector<std::string>>;  // tree, source levels (raw)

std::string role_of(const FolderNameInput& in) {
  if (!in.special_use) return "";
  // \Archive is carried too (a Dovecot special_use); zimbra has no Archive system folder, so
  // its role placement below only looks at the first four.
  for (const char* r : {"\\Sent", "\\Trash", "\\Drafts", "\\Junk", "\\Archive"})
    if (in.special_use->find(r) != std::string::npos) return r;
  return "";
}

// Which tree a folder belongs to, and its source levels within that tree.
struct Classified {
  FolderAction action = FolderAction::skip;
  Tree tree = Tree::mail;
  std::vector<std::string> src;
};
Classified classify(const FolderNameInput& in) {
  Classified c;
  c.src = in.levels;
  if (in.cls == FolderClass::email) {
    c.action = FolderAction::mail_folder;
    return c;
  }
  if (in.cls == FolderClass::other_dav || in.levels.size() < 2) return c;
  c.src.erase(c.src.begin());  // drop "#calendars" / "#addressbooks"
  if (in.cls == FolderClass::calendar) {
    // Scheduling mailboxes hold iTIP messages, not a user's calendar.
    if (c.src.size() == 1 && (c.src[0] == "Inbox" || c.src[0] == "Outbox")) return c;
    c.tree = Tree::calendar;
    c.action = FolderAction::export_calendar;
    return c;
  }
  c.tree = Tree::addressbook;
  c.action = FolderAction::export_addressbook;
  return c;
}

// Source trees stay apart (a calendar "Arbeit" is not the mail folder "Arbeit"); only the
// target key set is shared on zimbra.
int tree_index(Tree t) { return static_cast<int>(t); }

// Fixed order independent of the caller's: by internal name, duplicates dropped.
std::vector<const FolderNameInput*> in_name_order(const std::vector<FolderNameInput>& input) {
  std::vector<const FolderNameInput*> sorted;
  for (const auto& f : input) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return std::tie(a->internal_name, a->levels) < std::tie(b->internal_name, b->levels);
  });
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](auto* a, auto* b) { return a->internal_name == b->internal_name; }),
               sorted.end());
  return sorted;
}

// One user's naming: the names taken so far, the target of every source prefix named, results.
class NamingRun {
 public:
  NamingRun(NamingProfile profile, std::vector<const FolderNameInput*> sorted)
      : profile_(profile), namer_(profile), sorted_(std::move(sorted)) {}

  void apply_overrides(const std::map<std::string, std::string>& overrides, NamingOutcome& out);
  void place_inbox_and_roles();
  void name_the_rest(NamingOutcome& out);
  void results_into(NamingOutcome& out) {
    for (auto& [k, r] : results_) out.folders.push_back(std::move(r));
  }

 private:
  const Node* resolve(Tree t, const std::vector<std::string>& src, const std::string& owner);
  bool natural(Tree t, const std::vector<std::string>& src, const std::string& owner,
               std::vector<RenameReason>& reasons, std::string& why);
  void finish(const FolderNameInput& in, FolderAction a, Tree t, const std::vector<std::string>& target,
              std::vector<RenameReason> reasons, std::string why, const std::string& role);
  bool place_role(const FolderNameInput& in, FolderAction a, Tree t, std::vector<std::string> src,
                  const std::string& name, const std::string& role);
  std::map<std::string, std::string> roles_by_folder() const;

  NamingProfile profile_;
  Namer namer_;
  std::vector<const FolderNameInput*> sorted_;
  std::map<std::string, FolderNameResult> results_;
  std::map<SrcKey, Node> nodes_;
  std::set<std::string> done_;
};

// Names `src` below its parent's target (naming the parent first if needed). false: no name fits.
bool NamingRun::natural(Tree t, const std::vector<std::string>& src, const std::string& owner,
                        std::vector<RenameReason>& reasons, std::string& why) {
  std::vector<std::string> parent;
  bool parent_renamed = false;
  if (src.size() > 1) {
    const std::vector<std::string> pre(src.begin(), src.end() - 1);
    const Node* p = resolve(t, pre, owner);
    if (!p) return false;
    parent = p->levels;
    parent_renamed = p->renamed;
  }
  Level l = decode_level(src.back());
  sanitize(l, profile_);
  for (auto r : l.reasons) add_reason(reasons, r);
  std::vector<std::string> target;
  if (!namer_.place(parent, l.text, t, false, target, reasons, why)) return false;
  if (parent_renamed) add_reason(reasons, RenameReason::parent_renamed);
  namer_.take(target, t, owner);
  Node& n = nodes_[{tree_index(t), src}];
  n.levels = target;
  n.renamed = !reasons.empty();
  n.reasons = reasons;
  n.why = why;
  return true;
}

// Target of a source prefix, creating an implicit intermediate (named like any folder) when
// the store has none (Cyrus may lack a parent mailbox; altnamespace's "INBOX.x").
const Node* NamingRun::resolve(Tree t, const std::vector<std::string>& src, const std::string& owner) {
  auto it = nodes_.find({tree_index(t), src});
  if (it != nodes_.end()) return &it->second;
  if (t == Tree::mail && src.size() == 1 && is_ascii_ci(src[0], "INBOX")) {
    auto inbox = nodes_.find({0, {}});
    if (inbox != nodes_.end()) return &inbox->second;
  }
  std::vector<RenameReason> reasons;
  std::string why;
  if (!natural(t, src, owner + " (as parent)", reasons, why)) return nullptr;
  return &nodes_[{tree_index(t), src}];
}

void NamingRun::finish(const FolderNameInput& in, FolderAction a, Tree t, const std::vector<std::string>& target,
                       std::vector<RenameReason> reasons, std::string why, const std::string& role) {
  FolderNameResult r;
  r.internal_name = in.internal_name;
  r.action = a;
  r.levels = target;
  const Forms f = namer_.forms(target, t);
  r.path = f.path;
  if (a == FolderAction::mail_folder) {
    r.maildirpp = f.maildirpp;
    r.fs_path = f.fs;
    r.mbox_path = f.mbox;
  } else {
    r.export_file = f.export_file;
  }
  r.special_use = role;
  std::string src = source_path(in);
  if (a != FolderAction::mail_folder && in.levels.size() >= 2) {
    const std::size_t cut = src.find('/');
    src = src.substr(cut + 1);
  }
  if (a == FolderAction::mail_folder && !in.levels.empty() && is_ascii_ci(in.levels[0], "INBOX") && !target.empty())
    src = target[0] + src.substr(5);  // INBOX is Inbox on zimbra: not a rename
  r.renamed = in.levels.empty() ? false : r.path != src;
  if (!r.renamed) reasons.erase(std::remove(reasons.begin(), reasons.end(), RenameReason::parent_renamed), reasons.end());
  r.reasons = std::move(reasons);
  if (r.renamed && why.empty()) {
    for (auto x : r.reasons) why += (why.empty() ? "" : ", ") + std::string(to_string(x));
  }
  r.why = r.renamed ? src + " -> " + r.path + (why.empty() ? "" : " (" + why + ")") : "";
  results_[in.internal_name] = std::move(r);
}

// An override's target path as levels ('/' between them).
std::vector<std::string> override_levels(const std::string& s) {
  std::vector<std::string> target;
  std::size_t start = 0;
  while (true) {
    const std::size_t at = s.find('/', start);
    target.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
    if (at == std::string::npos) break;
    start = at + 1;
  }
  return target;
}

// Step 1. Overrides, each exactly as given; a clash between two overrides is refused.
void NamingRun::apply_overrides(const std::map<std::string, std::string>& overrides, NamingOutcome& out) {
  for (const auto* in : sorted_) {
    auto ov = overrides.find(in->internal_name);
    if (ov == overrides.end()) continue;
    const Classified c = classify(*in);
    if (c.action == FolderAction::skip) continue;
    const std::string& s = ov->second;
    const std::vector<std::string> target = override_levels(s);
    bool valid = valid_utf8(s);
    for (const auto& l : target) {
      Level lv{l, {}};
      if (valid) sanitize(lv, profile_);
      if (!valid || !lv.reasons.empty()) valid = false;
    }
    if (!valid || !namer_.fits(target, c.tree)) {
      out.errors.push_back("rename map: " + in->internal_name + " -> \"" + s + "\" is not a valid " +
                           to_string(profile_) + " name");
      continue;
    }
    RenameReason r{};
    const std::string by = namer_.blocked(target, c.tree, true, r);
    if (!by.empty()) {
      out.errors.push_back("rename map: " + in->internal_name + " -> \"" + s + "\" collides with " + by);
      continue;
    }
    namer_.take(target, c.tree, "override of " + in->internal_name);
    Node& n = nodes_[{tree_index(c.tree), c.src}];
    n.levels = target;
    n.renamed = true;
    finish(*in, c.action, c.tree, target, {RenameReason::override_map}, "rename map", role_of(*in));
    done_.insert(in->internal_name);
  }
}

// The folder of each special-use role: by annotation, else (one level, no annotation) by name.
std::map<std::string, const FolderNameInput*> roles_of(const std::vector<const FolderNameInput*>& sorted) {
  std::map<std::string, const FolderNameInput*> roles;  // role -> folder
  for (const auto* in : sorted) {
    if (in->cls != FolderClass::email || in->levels.empty()) continue;
    const std::string r = role_of(*in);
    if (!r.empty() && !roles.count(r)) roles[r] = in;
  }
  for (const auto* in : sorted) {  // by name where the store has no annotation for that role
    if (in->cls != FolderClass::email || in->levels.size() != 1 || !role_of(*in).empty()) continue;
    for (const char* r : {"Sent", "Trash", "Drafts", "Junk"})
      if (is_ascii_ci(in->levels[0], r) && !roles.count(std::string("\\") + r)) roles[std::string("\\") + r] = in;
  }
  return roles;
}

std::map<std::string, std::string> NamingRun::roles_by_folder() const {
  std::map<std::string, std::string> role_by_folder;
  for (const auto& [r, in] : roles_of(sorted_)) role_by_folder[in->internal_name] = r;
  return role_by_folder;
}

bool NamingRun::place_role(const FolderNameInput& in, FolderAction a, Tree t, std::vector<std::string> src,
                           const std::string& name, const std::string& role) {
  std::vector<std::string> target{name};
  RenameReason r{};
  if (!namer_.blocked(target, t, true, r).empty()) return false;  // taken by an override
  namer_.take(target, t, in.internal_name);
  Node& n = nodes_[{tree_index(t), src}];
  n.levels = target;
  std::vector<RenameReason> reasons;
  if (source_path(in) != name && !(t != Tree::mail)) reasons.push_back(RenameReason::special_use);
  if (t != Tree::mail) reasons.push_back(RenameReason::special_use);
  n.renamed = true;
  finish(in, a, t, target, reasons, "", role);
  done_.insert(in.internal_name);
  return true;
}

// Step 2. INBOX and the folders that become the target's own special folders.
void NamingRun::place_inbox_and_roles() {
  const bool zimbra = profile_ == NamingProfile::zimbra;
  for (const auto* in : sorted_) {
    if (done_.count(in->internal_name) || in->cls != FolderClass::email || !in->levels.empty()) continue;
    place_role(*in, FolderAction::mail_folder, Tree::mail, {}, zimbra ? "Inbox" : "INBOX", "");
    nodes_[{0, {}}].renamed = false;
  }
  if (!zimbra) return;
  const auto roles = roles_of(sorted_);
  for (const char* r : {"\\Sent", "\\Drafts", "\\Trash", "\\Junk"}) {
    auto it = roles.find(r);
    if (it == roles.end() || done_.count(it->second->internal_name)) continue;
    place_role(*it->second, FolderAction::mail_folder, Tree::mail, it->second->levels, std::string(r).substr(1), r);
  }
  for (const auto* in : sorted_) {  // the default collections become Calendar and Contacts
    if (done_.count(in->internal_name)) continue;
    const Classified c = classify(*in);
    if (c.action == FolderAction::skip || c.src != std::vector<std::string>{"Default"}) continue;
    place_role(*in, c.action, c.tree, c.src, c.tree == Tree::calendar ? "Calendar" : "Contacts", "");
  }
}

// Step 3. Everything else: mail before calendars before addressbooks, then by raw Cyrus levels, so
// parents come before children and the first of two equal names keeps it.
void NamingRun::name_the_rest(NamingOutcome& out) {
  const bool zimbra = profile_ == NamingProfile::zimbra;
  auto role_by_folder = roles_by_folder();
  std::vector<const FolderNameInput*> rest;
  for (const auto* in : sorted_)
    if (!done_.count(in->internal_name)) rest.push_back(in);
  std::stable_sort(rest.begin(), rest.end(), [](auto* a, auto* b) {
    return std::tie(a->cls, a->levels) < std::tie(b->cls, b->levels);
  });
  for (const auto* in : rest) {
    const Classified c = classify(*in);
    const std::string role = !zimbra && role_by_folder.count(in->internal_name) ? role_by_folder[in->internal_name] : "";
    if (c.action == FolderAction::skip) {
      FolderNameResult r;
      r.internal_name = in->internal_name;
      r.action = c.action;
      r.path = source_path(*in);
      results_[in->internal_name] = std::move(r);
      continue;
    }
    auto existing = nodes_.find({tree_index(c.tree), c.src});
    if (existing != nodes_.end()) {  // already named as the parent of an earlier folder
      finish(*in, c.action, c.tree, existing->second.levels, existing->second.reasons, existing->second.why, role);
      continue;
    }
    std::vector<RenameReason> reasons;
    std::string why;
    if (!natural(c.tree, c.src, in->internal_name, reasons, why)) {
      out.unnamed.emplace_back(in->internal_name, "no name fits the " + std::string(to_string(profile_)) +
                                                      " limits (too long or too deep for the target)");
      continue;
    }
    finish(*in, c.action, c.tree, nodes_[{tree_index(c.tree), c.src}].levels, reasons, why, role);
  }
}

}  // namespace

NamingOutcome name_folders(const std::vector<FolderNameInput>& input, NamingProfile profile,
                           const std::map<std::string, std::string>& overrides) {
  NamingOutcome out;
  NamingRun run(profile, in_name_order(input));
  run.apply_overrides(overrides, out);
  run.place_inbox_and_roles();
  run.name_the_rest(out);
  run.results_into(out);
  return out;
}

}  // namespace cyrconv
