// Folder naming per target profile (README "Folder names"). Facts it relies on:
// - Dovecot 2.3.19 (Debian 12), observed over IMAP on hand-made Maildir++/fs/mbox trees: with the
//   listescape plugin and separator '/', ".Projekt\2eAlt.Sub\2eDir" lists as "Projekt.Alt/Sub.Dir",
//   "\7etilde" as "~tilde", "back\5cslash" as "back\slash"; "\2f" turns into a hierarchy
//   separator (so '/' inside a level cannot be kept); an invalid mUTF-7 directory ".&Jjo" lists as
//   "&-Jjo"; ".INBOX.Unterordner" lists as "INBOX/Unterordner"; LAYOUT=fs refuses a level named
//   cur/new/tmp ("Contains reserved name"); an mbox folder file cannot have children ("Mailbox
//   doesn't allow inferior mailboxes"), hence the `X` file + `X.sbd/` directory rule.
// - Zimbra zm-mailbox (store/.../mailbox/MailItem.java validateItemName, Folder.java, Mailbox.java
//   initialize): names may not contain ':' '/' '"' TAB CR LF or other control characters, U+FFFE/
//   U+FFFF or lone surrogates; trailing spaces are trimmed; "." and ".." are reserved;
//   MAX_NAME_LENGTH = 255 (Java chars, i.e. UTF-16 units); subfolders are keyed by
//   name.toLowerCase(), so uniqueness ignores case; system folders below USER_ROOT are Inbox,
//   Trash, Junk, Sent, Drafts, Contacts, Calendar, Tasks, Emailed Contacts, Chats, Briefcase,
//   "Files shared with me", Unsubscribe, and mail, calendar and contact folders share that tree.
#include "converter/plan/folder_naming.h"

#include <cstdio>

#include "parsers/utf8.h"

#include <algorithm>
#include <array>
#include <functional>
#include <set>
#include <tuple>

#include "parsers/mutf7.h"

namespace cyrconv {

const char* to_string(NamingProfile p) {
  switch (p) {
    case NamingProfile::dovecot: return "dovecot";
    case NamingProfile::zimbra: return "zimbra";
    case NamingProfile::generic: return "generic";
  }
  return "?";
}

std::optional<NamingProfile> parse_naming_profile(std::string_view s) {
  if (s == "dovecot") return NamingProfile::dovecot;
  if (s == "zimbra") return NamingProfile::zimbra;
  if (s == "generic") return NamingProfile::generic;
  return std::nullopt;
}

const char* to_string(FolderAction a) {
  switch (a) {
    case FolderAction::mail_folder: return "mail_folder";
    case FolderAction::export_calendar: return "export_calendar";
    case FolderAction::export_addressbook: return "export_addressbook";
    case FolderAction::skip: return "skip";
  }
  return "?";
}

const char* to_string(RenameReason r) {
  switch (r) {
    case RenameReason::override_map: return "override_map";
    case RenameReason::special_use: return "special_use";
    case RenameReason::invalid_mutf7: return "invalid_mutf7";
    case RenameReason::forbidden_char: return "forbidden_char";
    case RenameReason::outside_bmp: return "outside_bmp";
    case RenameReason::trailing_space: return "trailing_space";
    case RenameReason::reserved_name: return "reserved_name";
    case RenameReason::too_long: return "too_long";
    case RenameReason::collision: return "collision";
    case RenameReason::system_folder: return "system_folder";
    case RenameReason::parent_renamed: return "parent_renamed";
  }
  return "?";
}

namespace {

// ---- UTF-8 helpers (input is either decoded mUTF-7, always valid, or checked first) ----

// Decodes one code point at i (valid UTF-8 assumed) and advances i.
std::uint32_t next_cp(std::string_view s, std::size_t& i) {
  const auto c = static_cast<unsigned char>(s[i]);
  int n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : 3;
  std::uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
  for (int k = 1; k <= n && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += static_cast<std::size_t>(n) + 1;
  return cp;
}

std::size_t utf16_units(std::string_view s) {
  std::size_t n = 0, i = 0;
  while (i < s.size()) n += next_cp(s, i) >= 0x10000 ? 2 : 1;
  return n;
}

void drop_last_cp(std::string& s) {
  while (!s.empty()) {
    const auto c = static_cast<unsigned char>(s.back());
    s.pop_back();
    if ((c & 0xC0) != 0x80) break;
  }
}

std::uint32_t lower_cp(std::uint32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c < 0x80) return c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7)) return c + 32;
  if ((c >= 0x100 && c <= 0x137) || (c >= 0x14A && c <= 0x177)) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E)) return (c & 1) ? c + 1 : c;
  if (c == 0x178) return 0xFF;
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return c + 32;
  if (c >= 0x410 && c <= 0x42F) return c + 32;
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  return c;
}

bool is_ascii_ci(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

// ---- one level: decode, make valid for the profile ----

struct Level {
  std::string text;
  std::vector<RenameReason> reasons;
};

void add_reason(std::vector<RenameReason>& v, RenameReason r) {
  if (std::find(v.begin(), v.end(), r) == v.end()) v.push_back(r);
}

// Raw Cyrus text of an invalid level: printable ASCII stays (Dovecot shows ".&Jjo" as "&-Jjo",
// the same text), other bytes stay when they form UTF-8 and become '_' otherwise.
std::string raw_as_text(std::string_view raw) {
  if (valid_utf8(raw)) return std::string(raw);
  std::string out;
  for (char ch : raw) out += static_cast<unsigned char>(ch) < 0x80 ? ch : '_';
  return out;
}

Level decode_level(std::string_view raw) {
  Level l;
  auto d = mutf7_decode(raw);
  if (d) {
    l.text = d.value();
  } else {
    l.text = raw_as_text(raw);
    add_reason(l.reasons, RenameReason::invalid_mutf7);
  }
  return l;
}

// Characters no profile keeps (path safety) plus zimbra's forbidden ones; reserved level names.
void sanitize(Level& l, NamingProfile p) {
  std::string out;
  std::size_t i = 0;
  const std::string_view s = l.text;
  while (i < s.size()) {
    const std::uint32_t cp = next_cp(s, i);
    const bool bad = cp < 0x20 || cp == 0x7F || cp == '/' || cp == 0xFFFE || cp == 0xFFFF ||
                     (cp >= 0xD800 && cp <= 0xDFFF) ||
                     (p == NamingProfile::zimbra && (cp == ':' || cp == '"'));
    if (bad) {
      out += '_';
      add_reason(l.reasons, RenameReason::forbidden_char);
    } else if (p == NamingProfile::zimbra && cp > 0xFFFF) {
      // Zimbra keeps folder names in MySQL `utf8` (3 bytes at most per character): a 4-byte
      // character is refused or mangled there, so it is spelled out, readable and unique.
      char buf[16];
      std::snprintf(buf, sizeof buf, "U+%04X", static_cast<unsigned>(cp));
      out += buf;
      add_reason(l.reasons, RenameReason::outside_bmp);
    } else {
      append_utf8(out, cp);
    }
  }
  if (p == NamingProfile::zimbra) {
    std::size_t end = out.size();
    while (end > 0 && out[end - 1] == ' ') --end;
    if (end != out.size() && end > 0) {
      out.resize(end);
      add_reason(l.reasons, RenameReason::trailing_space);
    }
  }
  if (out.empty() || out == "." || out == ".." || (p == NamingProfile::zimbra && out.find_first_not_of(' ') == std::string::npos)) {
    out = "_" + out;
    add_reason(l.reasons, RenameReason::reserved_name);
  }
  l.text = out;
}

}  // namespace

std::string fold_case(std::string_view utf8) {
  std::string out;
  std::size_t i = 0;
  while (i < utf8.size()) append_utf8(out, lower_cp(next_cp(utf8, i)));
  return out;
}

std::string dovecot_storage_level(std::string_view utf8_level, bool maildirpp) {
  const std::string m = mutf7_encode(utf8_level);
  std::string out;
  for (std::size_t i = 0; i < m.size(); ++i) {
    const char c = m[i];
    if (c == '\\') out += "\\5c";
    else if (c == '~' && i == 0) out += "\\7e";
    else if (c == '.' && maildirpp) out += "\\2e";
    else out += c;
  }
  return out;
}

std::string source_path(const FolderNameInput& in) {
  if (in.levels.empty()) return "INBOX";
  std::vector<std::string> parts;
  for (const auto& l : in.levels) {
    auto d = mutf7_decode(l);
    parts.push_back(d ? d.value() : l);
  }
  return join(parts, "/");
}

FolderNameInput folder_name_input(const MailboxName& name, MailboxKind kind, std::optional<std::string> special_use,
                                  CaretMeaning caret) {
  FolderNameInput in;
  in.internal_name = name.internal();
  const std::size_t first = name.is_user() && !name.is_deleted() ? 2 : 0;
  for (std::size_t i = first; i < name.parts.size(); ++i) in.levels.push_back(visible_part(name.parts[i], caret));
  switch (kind) {
    case MailboxKind::email:
    case MailboxKind::netnews: in.cls = FolderClass::email; break;
    case MailboxKind::calendar: in.cls = FolderClass::calendar; break;
    case MailboxKind::addressbook: in.cls = FolderClass::addressbook; break;
    default: in.cls = FolderClass::other_dav; break;
  }
  in.special_use = std::move(special_use);
  return in;
}

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

}  // namespace

NamingOutcome name_folders(const std::vector<FolderNameInput>& input, NamingProfile profile,
                           const std::map<std::string, std::string>& overrides) {
  NamingOutcome out;
  Namer namer(profile);

  // Fixed order independent of the caller's: by internal name, duplicates dropped.
  std::vector<const FolderNameInput*> sorted;
  for (const auto& f : input) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) {
    return std::tie(a->internal_name, a->levels) < std::tie(b->internal_name, b->levels);
  });
  sorted.erase(std::unique(sorted.begin(), sorted.end(),
                           [](auto* a, auto* b) { return a->internal_name == b->internal_name; }),
               sorted.end());

  std::map<std::string, FolderNameResult> results;
  std::map<SrcKey, Node> nodes;

  // Which tree a folder belongs to, and its source levels within that tree.
  auto classify = [&](const FolderNameInput& in, Tree& t, std::vector<std::string>& src) -> FolderAction {
    src = in.levels;
    t = Tree::mail;
    if (in.cls == FolderClass::email) return FolderAction::mail_folder;
    if (in.cls == FolderClass::other_dav || in.levels.size() < 2) return FolderAction::skip;
    src.erase(src.begin());  // drop "#calendars" / "#addressbooks"
    if (in.cls == FolderClass::calendar) {
      // Scheduling mailboxes hold iTIP messages, not a user's calendar.
      if (src.size() == 1 && (src[0] == "Inbox" || src[0] == "Outbox")) return FolderAction::skip;
      t = Tree::calendar;
      return FolderAction::export_calendar;
    }
    t = Tree::addressbook;
    return FolderAction::export_addressbook;
  };

  // Source trees stay apart (a calendar "Arbeit" is not the mail folder "Arbeit"); only the
  // target key set is shared on zimbra.
  auto tree_index = [](Tree t) { return static_cast<int>(t); };

  // Target of a source prefix, creating an implicit intermediate (named like any folder) when
  // the store has none (Cyrus may lack a parent mailbox; altnamespace's "INBOX.x").
  std::function<const Node*(Tree, const std::vector<std::string>&, const std::string&)> resolve;
  std::function<void(Tree, const std::vector<std::string>&, const std::string&, std::vector<RenameReason>&, std::string&, bool&)> natural;

  natural = [&](Tree t, const std::vector<std::string>& src, const std::string& owner,
                std::vector<RenameReason>& reasons, std::string& why, bool& ok) {
    std::vector<std::string> parent;
    bool parent_renamed = false;
    if (src.size() > 1) {
      const std::vector<std::string> pre(src.begin(), src.end() - 1);
      const Node* p = resolve(t, pre, owner);
      if (!p) {
        ok = false;
        return;
      }
      parent = p->levels;
      parent_renamed = p->renamed;
    }
    Level l = decode_level(src.back());
    sanitize(l, profile);
    for (auto r : l.reasons) add_reason(reasons, r);
    std::vector<std::string> target;
    if (!namer.place(parent, l.text, t, false, target, reasons, why)) {
      ok = false;
      return;
    }
    if (parent_renamed) add_reason(reasons, RenameReason::parent_renamed);
    namer.take(target, t, owner);
    Node& n = nodes[{tree_index(t), src}];
    n.levels = target;
    n.renamed = !reasons.empty();
    n.reasons = reasons;
    n.why = why;
    ok = true;
  };

  resolve = [&](Tree t, const std::vector<std::string>& src, const std::string& owner) -> const Node* {
    auto it = nodes.find({tree_index(t), src});
    if (it != nodes.end()) return &it->second;
    if (t == Tree::mail && src.size() == 1 && is_ascii_ci(src[0], "INBOX")) {
      auto inbox = nodes.find({0, {}});
      if (inbox != nodes.end()) return &inbox->second;
    }
    std::vector<RenameReason> reasons;
    std::string why;
    bool ok = false;
    natural(t, src, owner + " (as parent)", reasons, why, ok);
    if (!ok) return nullptr;
    return &nodes[{tree_index(t), src}];
  };

  auto finish = [&](const FolderNameInput& in, FolderAction a, Tree t, const std::vector<std::string>& target,
                    std::vector<RenameReason> reasons, std::string why, const std::string& role) {
    FolderNameResult r;
    r.internal_name = in.internal_name;
    r.action = a;
    r.levels = target;
    const Forms f = namer.forms(target, t);
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
    results[in.internal_name] = std::move(r);
  };

  // 1. Overrides, each exactly as given; a clash between two overrides is refused.
  std::set<std::string> done;
  for (const auto* in : sorted) {
    auto ov = overrides.find(in->internal_name);
    if (ov == overrides.end()) continue;
    Tree t;
    std::vector<std::string> src;
    const FolderAction a = classify(*in, t, src);
    if (a == FolderAction::skip) continue;
    std::vector<std::string> target;
    std::size_t start = 0;
    const std::string& s = ov->second;
    while (true) {
      const std::size_t at = s.find('/', start);
      target.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
      if (at == std::string::npos) break;
      start = at + 1;
    }
    bool valid = valid_utf8(s);
    for (const auto& l : target) {
      Level lv{l, {}};
      if (valid) sanitize(lv, profile);
      if (!valid || !lv.reasons.empty()) valid = false;
    }
    if (!valid || !namer.fits(target, t)) {
      out.errors.push_back("rename map: " + in->internal_name + " -> \"" + s + "\" is not a valid " +
                           to_string(profile) + " name");
      continue;
    }
    RenameReason r{};
    const std::string by = namer.blocked(target, t, true, r);
    if (!by.empty()) {
      out.errors.push_back("rename map: " + in->internal_name + " -> \"" + s + "\" collides with " + by);
      continue;
    }
    namer.take(target, t, "override of " + in->internal_name);
    Node& n = nodes[{tree_index(t), src}];
    n.levels = target;
    n.renamed = true;
    finish(*in, a, t, target, {RenameReason::override_map}, "rename map", role_of(*in));
    done.insert(in->internal_name);
  }

  // 2. INBOX and the folders that become the target's own special folders.
  const bool zimbra = profile == NamingProfile::zimbra;
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
  std::map<std::string, std::string> role_by_folder;
  for (const auto& [r, in] : roles) role_by_folder[in->internal_name] = r;

  auto place_role = [&](const FolderNameInput& in, FolderAction a, Tree t, std::vector<std::string> src,
                        const std::string& name, const std::string& role) {
    std::vector<std::string> target{name};
    RenameReason r{};
    if (!namer.blocked(target, t, true, r).empty()) return false;  // taken by an override
    namer.take(target, t, in.internal_name);
    Node& n = nodes[{tree_index(t), src}];
    n.levels = target;
    std::vector<RenameReason> reasons;
    if (source_path(in) != name && !(t != Tree::mail)) reasons.push_back(RenameReason::special_use);
    if (t != Tree::mail) reasons.push_back(RenameReason::special_use);
    n.renamed = true;
    finish(in, a, t, target, reasons, "", role);
    done.insert(in.internal_name);
    return true;
  };

  for (const auto* in : sorted) {
    if (done.count(in->internal_name) || in->cls != FolderClass::email || !in->levels.empty()) continue;
    place_role(*in, FolderAction::mail_folder, Tree::mail, {}, zimbra ? "Inbox" : "INBOX", "");
    nodes[{0, {}}].renamed = false;
  }
  if (zimbra) {
    for (const char* r : {"\\Sent", "\\Drafts", "\\Trash", "\\Junk"}) {
      auto it = roles.find(r);
      if (it == roles.end() || done.count(it->second->internal_name)) continue;
      place_role(*it->second, FolderAction::mail_folder, Tree::mail, it->second->levels, std::string(r).substr(1), r);
    }
    for (const auto* in : sorted) {  // the default collections become Calendar and Contacts
      if (done.count(in->internal_name)) continue;
      Tree t;
      std::vector<std::string> src;
      const FolderAction a = classify(*in, t, src);
      if (a == FolderAction::skip || src != std::vector<std::string>{"Default"}) continue;
      place_role(*in, a, t, src, t == Tree::calendar ? "Calendar" : "Contacts", "");
    }
  }

  // 3. Everything else: mail before calendars before addressbooks, then by raw Cyrus levels, so
  //    parents come before children and the first of two equal names keeps it.
  std::vector<const FolderNameInput*> rest;
  for (const auto* in : sorted)
    if (!done.count(in->internal_name)) rest.push_back(in);
  std::stable_sort(rest.begin(), rest.end(), [](auto* a, auto* b) {
    return std::tie(a->cls, a->levels) < std::tie(b->cls, b->levels);
  });
  for (const auto* in : rest) {
    Tree t;
    std::vector<std::string> src;
    const FolderAction a = classify(*in, t, src);
    const std::string role = !zimbra && role_by_folder.count(in->internal_name) ? role_by_folder[in->internal_name] : "";
    if (a == FolderAction::skip) {
      FolderNameResult r;
      r.internal_name = in->internal_name;
      r.action = a;
      r.path = source_path(*in);
      results[in->internal_name] = std::move(r);
      continue;
    }
    auto existing = nodes.find({tree_index(t), src});
    if (existing != nodes.end()) {  // already named as the parent of an earlier folder
      finish(*in, a, t, existing->second.levels, existing->second.reasons, existing->second.why, role);
      continue;
    }
    std::vector<RenameReason> reasons;
    std::string why;
    bool ok = false;
    natural(t, src, in->internal_name, reasons, why, ok);
    if (!ok) {
      out.unnamed.emplace_back(in->internal_name, "no name fits the " + std::string(to_string(profile)) +
                                                      " limits (too long or too deep for the target)");
      continue;
    }
    finish(*in, a, t, nodes[{tree_index(t), src}].levels, reasons, why, role);
  }

  for (auto& [k, r] : results) out.folders.push_back(std::move(r));
  return out;
}

}  // namespace cyrconv
