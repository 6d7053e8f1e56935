// mailboxes.db entries of every Cyrus version (docs/cyrus-on-disk.md 8.5). The value format
// is detected from the records themselves; an unreadable record becomes a bad entry and the
// others are still read.
#include "parsers/mailboxes_db.h"
#include "parsers/hex.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "parsers/dlist.h"

namespace cyrconv {

namespace {

using VF = MailboxesDb::ValueFormat;


bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// "id TAB rights TAB id TAB rights TAB" (trailing TAB optional).
std::vector<AclEntry> parse_tab_acl(std::string_view acl) {
  std::vector<AclEntry> out;
  while (!acl.empty()) {
    const std::size_t t1 = acl.find('\t');
    AclEntry e;
    e.identifier = std::string(acl.substr(0, t1));
    if (t1 == std::string_view::npos) {
      acl = {};
    } else {
      acl.remove_prefix(t1 + 1);
      const std::size_t t2 = acl.find('\t');
      e.rights = std::string(acl.substr(0, t2));
      acl = t2 == std::string_view::npos ? std::string_view{} : acl.substr(t2 + 1);
    }
    if (!e.identifier.empty()) out.push_back(std::move(e));
  }
  return out;
}

// Which format a single record looks like; nullopt for records that say nothing ('$' keys...).
std::optional<VF> guess(const DbRecord& r) {
  if (r.key.empty() || r.key[0] == '$') return std::nullopt;
  const std::string_view v = r.value;
  const bool dlist = v.size() >= 2 && v[0] == '%' && v[1] == '(';
  const char k = r.key[0];
  const bool typed_key = k == 'N' || k == 'I' || k == 'A' || k == 'J';
  // 3.6+ keys carry a type byte and control-character separators; 2.x names use '.' and '!'.
  if (typed_key && (r.key.find('\x1F') != std::string::npos || r.key.find('\x1D') != std::string::npos))
    return VF::v36_dlist;
  if (k == 'I' && dlist && v.find(" N ") != std::string_view::npos) return VF::v36_dlist;
  if (dlist) return typed_key && v.substr(0, 5) == "%(T " ? VF::v36_dlist : VF::v25_dlist;
  if (!v.empty() && v[0] == '(') return VF::v2_type_partition_acl;
  const std::size_t sp = v.find(' ');
  const std::size_t tab = v.find('\t');
  if (sp != std::string_view::npos && (tab == std::string_view::npos || sp < tab) && is_digits(v.substr(0, sp)))
    return VF::v2_type_partition_acl;
  if (tab != std::string_view::npos) return VF::v1_text;
  return std::nullopt;
}

VF detect(const std::vector<DbRecord>& records) {
  std::size_t votes[4] = {0, 0, 0, 0};
  for (const auto& r : records)
    if (auto g = guess(r)) ++votes[static_cast<int>(*g)];
  // Any record with a 3.6 key shape decides: 2.x files never contain 0x1F/0x1D in keys.
  if (votes[static_cast<int>(VF::v36_dlist)] > 0) return VF::v36_dlist;
  return static_cast<VF>(std::max_element(std::begin(votes), std::end(votes)) - std::begin(votes));
}

// Applies 2.5-3.4 (set of letters) or 3.6+ (kind letter first) type letters.
bool apply_type_letters(MailboxEntry& e, std::string_view letters, bool v36, std::string& why) {
  e.type_letters = std::string(letters);
  std::size_t i = 0;
  if (v36 && !letters.empty()) {
    bool kind = true;
    switch (letters[0]) {
      case 'e': e.kind = MailboxKind::email; break;
      case 'n': e.kind = MailboxKind::netnews; break;
      case 'b': e.kind = MailboxKind::collection; break;
      case 'c': e.kind = MailboxKind::calendar; break;
      case 'a': e.kind = MailboxKind::addressbook; break;
      case 'j': e.kind = MailboxKind::notification; break;
      case 's': e.kind = MailboxKind::submission; break;
      case 'p': e.kind = MailboxKind::push_subscription; break;
      case 'f': e.kind = MailboxKind::sieve; break;
      default: kind = false;  // legacy email entry without 'e': the letters are all flags
    }
    if (kind) i = 1;
  }
  for (; i < letters.size(); ++i) {
    switch (letters[i]) {
      case 'd': e.tombstone = true; break;
      case 'r': e.remote = true; break;
      case 'z': e.reserved = true; break;
      case 'm': e.moving = true; break;
      case 'i': e.intermediate = true; break;
      case 'l':
        if (!v36) { why = "type letter 'l' before 3.6"; return false; }
        e.legacy_dirs = true;
        break;
      case 'f':
        if (!v36) { why = "type letter 'f' before 3.6"; return false; }
        e.kind = MailboxKind::sieve;  // Cyrus's 3.6+ reader also takes 'f' as a flag
        break;
      default:
        if (v36) { why = std::string("unknown type letter '") + letters[i] + "'"; return false; }
        switch (letters[i]) {  // 2.5-3.4: kinds are flags too
          case 'n': e.kind = MailboxKind::netnews; break;
          case 'b': e.kind = MailboxKind::collection; break;
          case 'c': e.kind = MailboxKind::calendar; break;
          case 'a': e.kind = MailboxKind::addressbook; break;
          case 's': e.kind = MailboxKind::submission; break;
          case 'p': e.kind = MailboxKind::push_subscription; break;
          default: why = std::string("unknown type letter '") + letters[i] + "'"; return false;
        }
    }
  }
  return true;
}

bool parse_uidvalidity(std::string_view s, std::uint32_t& out) {
  if (s.empty()) return true;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

// 1.x: PARTITION TAB ACL.
bool read_v1(const DbRecord& r, MailboxEntry& e, std::string&) {
  e.name = parse_internal_name(r.key);
  const std::size_t tab = r.value.find('\t');
  e.partition = r.value.substr(0, tab);
  if (tab != std::string::npos) e.acl = parse_tab_acl(std::string_view(r.value).substr(tab + 1));
  e.legacy_dirs = true;
  return true;
}

// 2.0-2.4: [(uniqueid X specialuse Y) ]TYPE SP [SERVER!]PARTITION SP ACL.
bool read_v2(const DbRecord& r, MailboxEntry& e, std::string& why) {
  e.name = parse_internal_name(r.key);
  e.legacy_dirs = true;
  std::string_view v = r.value;
  if (!v.empty() && v[0] == '(') {
    const std::size_t close = v.find(')');
    if (close == std::string_view::npos) { why = "'(' prefix without ')'"; return false; }
    std::string_view inner = v.substr(1, close - 1);
    while (!inner.empty()) {
      const std::size_t sp = inner.find(' ');
      if (sp == std::string_view::npos) break;
      const std::string_view name = inner.substr(0, sp);
      inner.remove_prefix(sp + 1);
      const std::size_t sp2 = inner.find(' ');
      const std::string_view val = inner.substr(0, sp2);
      inner = sp2 == std::string_view::npos ? std::string_view{} : inner.substr(sp2 + 1);
      if (name == "uniqueid") e.unique_id = std::string(val);
    }
    v.remove_prefix(close + 1);
    if (!v.empty() && v[0] == ' ') v.remove_prefix(1);
  }
  const std::size_t sp = v.find(' ');
  const std::string_view type = v.substr(0, sp);
  std::uint32_t bits = 0;
  if (!is_digits(type) || std::from_chars(type.data(), type.data() + type.size(), bits).ec != std::errc()) {
    why = "expected decimal mailbox type at start of value";
    return false;
  }
  static const std::pair<std::uint32_t, char> kBits[] = {
      {1, 'r'}, {2, 'z'}, {4, 'n'}, {8, 'm'}, {16, 'd'}, {32, 'c'}, {64, 'a'}, {128, 'b'}};
  std::string letters;
  for (auto [bit, letter] : kBits)
    if (bits & bit) letters += letter;
  if (bits & ~0xFFu) { why = "unknown mailbox type bits " + std::to_string(bits); return false; }
  if (!apply_type_letters(e, letters, false, why)) return false;
  if (sp == std::string_view::npos) { why = "expected SP PARTITION after the type"; return false; }
  v.remove_prefix(sp + 1);
  const std::size_t sp2 = v.find(' ');
  std::string_view part = v.substr(0, sp2);
  if (const std::size_t bang = part.find('!'); bang != std::string_view::npos) {
    e.server = std::string(part.substr(0, bang));
    part.remove_prefix(bang + 1);
  }
  e.partition = std::string(part);
  if (sp2 != std::string_view::npos) e.acl = parse_tab_acl(v.substr(sp2 + 1));
  return true;
}

// 2.5-3.4 dlist and 3.6+ 'N' dlist values.
bool read_dlist(const DbRecord& r, MailboxEntry& e, bool v36, std::string_view file, std::string& why) {
  if (v36) {
    e.name = parse_dbname(std::string_view(r.key).substr(1));
  } else {
    e.name = parse_internal_name(r.key);
    e.legacy_dirs = true;
  }
  auto dl = parse_dlist(r.value, file);
  if (!dl) { why = "dlist value: " + dl.error().message + " (at value offset " + std::to_string(dl.error().offset) + ")"; return false; }
  const DlistValue& root = dl.value();
  if (root.kind != DlistValue::Kind::kvlist) { why = "expected a %(...) kvlist value"; return false; }
  if (!apply_type_letters(e, root.string_at("T"), v36, why)) return false;
  e.unique_id = std::string(root.string_at("I"));
  e.partition = std::string(root.string_at("P"));
  e.server = std::string(root.string_at("S"));
  if (!parse_uidvalidity(root.string_at("V"), e.uidvalidity)) { why = "V (uidvalidity) is not a 32-bit number"; return false; }
  if (const DlistValue* acl = root.find("A")) {
    if (acl->kind == DlistValue::Kind::kvlist) {
      for (std::size_t i = 0; i < acl->keys.size(); ++i)
        e.acl.push_back({acl->keys[i], acl->items[i].kind == DlistValue::Kind::string ? acl->items[i].text : std::string()});
    } else if (acl->kind != DlistValue::Kind::nil) {
      why = "A (ACL) is not a kvlist";
      return false;
    }
  }
  return true;
}

}  // namespace

const char* to_string(MailboxKind k) {
  switch (k) {
    case MailboxKind::email: return "email";
    case MailboxKind::netnews: return "netnews";
    case MailboxKind::collection: return "collection";
    case MailboxKind::calendar: return "calendar";
    case MailboxKind::addressbook: return "addressbook";
    case MailboxKind::notification: return "notification";
    case MailboxKind::submission: return "submission";
    case MailboxKind::push_subscription: return "push_subscription";
    case MailboxKind::sieve: return "sieve";
  }
  return "unknown";
}

bool MailboxEntry::convertible() const {
  return kind == MailboxKind::email && !tombstone && !remote && !reserved && !moving && !intermediate;
}

Result<MailboxesDb> parse_mailboxes_db(const std::vector<DbRecord>& records, std::string_view file) {
  MailboxesDb db;
  db.value_format = detect(records);
  const bool v36 = db.value_format == VF::v36_dlist;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const DbRecord& r = records[i];
    if (r.key.empty()) {
      db.bad_entries.push_back(parse_error(file, i, "record #" + std::to_string(i) + ": empty key"));
      continue;
    }
    if (r.key[0] == '$') continue;  // $RACL / $RUNQ indexes
    if (v36 && (r.key[0] == 'I' || r.key[0] == 'A' || r.key[0] == 'J')) continue;  // by-id, reverse ACL, JMAP id
    if (v36 && r.key[0] != 'N') {
      db.bad_entries.push_back(parse_error(file, i, "record #" + std::to_string(i) + " key '" + printable_bytes(r.key) +
                                                        "': unknown 3.6+ key type"));
      continue;
    }
    MailboxEntry e;
    std::string why;
    bool ok = false;
    switch (db.value_format) {
      case VF::v1_text: ok = read_v1(r, e, why); break;
      case VF::v2_type_partition_acl: ok = read_v2(r, e, why); break;
      case VF::v25_dlist: ok = read_dlist(r, e, false, file, why); break;
      case VF::v36_dlist: ok = read_dlist(r, e, true, file, why); break;
    }
    if (ok && e.name.parts.empty()) { ok = false; why = "empty mailbox name"; }
    if (!ok) {
      db.bad_entries.push_back(parse_error(file, i, "record #" + std::to_string(i) + " key '" + printable_bytes(r.key) + "' value '" +
                                                        printable_bytes(r.value) + "': " + why));
      continue;
    }
    db.entries.push_back(std::move(e));
  }
  std::stable_sort(db.entries.begin(), db.entries.end(),
                   [](const MailboxEntry& a, const MailboxEntry& b) { return a.name < b.name; });
  if (db.entries.empty() && !db.bad_entries.empty())
    return parse_error(file, db.bad_entries.front().offset,
                       "no record could be read as a mailbox entry (" + std::to_string(db.bad_entries.size()) +
                           " bad); first: " + db.bad_entries.front().message);
  return db;
}

}  // namespace cyrconv
