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
#include "converter/plan/folder_naming_detail.h"

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

namespace folder_naming_detail {

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

}  // namespace folder_naming_detail

using namespace folder_naming_detail;

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

}  // namespace cyrconv
