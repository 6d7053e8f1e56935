// cyrus.header reader (docs/cyrus-on-disk.md section 4; mailbox_read_header in imap/mailbox.c).
// After the fixed magic comes either one dlist line (3.6+) or three text lines:
// quota root [TAB unique id] / user flag names separated by SP / ACL as TAB-separated pairs.
#include "parsers/cyrus_header.h"

#include <string>

#include "parsers/dlist.h"

namespace cyrconv {

namespace {

constexpr std::string_view header_magic =
    "\xa1\x02\x8b\x0d"
    "Cyrus mailbox header\n"
    "\"The best thing about this system was that it had lots of goals.\"\n"
    "\t--Jim Morris on Andrew\n";
static_assert(header_magic.size() == 115);

constexpr std::size_t max_user_flags = 128;

// A view of one LF-terminated line and where it starts in the file.
struct Line {
  std::string_view text;  // without the LF
  std::size_t offset = 0;
};

// Reads the line starting at `pos`; false when there is no LF before the end of the file
// (Cyrus refuses a header whose lines are not all LF-terminated).
bool next_line(Bytes data, std::size_t& pos, Line& line) {
  const std::size_t lf = data.find('\n', pos);
  if (lf == Bytes::npos) return false;
  line = Line{data.substr(pos, lf - pos), pos};
  pos = lf + 1;
  return true;
}

// "a b  c " -> a, b, (unused), c: token position is the flag's bit number; the writer's
// trailing space does not open another slot.
Result<std::vector<std::optional<std::string>>> split_flag_names(const Line& line, std::string_view file) {
  std::vector<std::optional<std::string>> flags;
  std::string_view rest = line.text;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    std::size_t sp = rest.find(' ', pos);
    if (sp == std::string_view::npos) sp = rest.size();
    if (flags.size() == max_user_flags)
      return parse_error(file, line.offset + pos,
                         "more than " + std::to_string(max_user_flags) + " user flag names");
    if (sp == pos)
      flags.emplace_back(std::nullopt);
    else
      flags.emplace_back(std::string(rest.substr(pos, sp - pos)));
    pos = sp + 1;
  }
  return flags;
}

// "id TAB rights TAB id TAB rights TAB" (trailing TAB optional).
Result<std::vector<AclEntry>> split_acl(const Line& line, std::string_view file) {
  std::vector<AclEntry> acl;
  std::string_view text = line.text;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t tab = text.find('\t', pos);
    if (tab == std::string_view::npos)
      return parse_error(file, line.offset + pos, "expected TAB and rights after ACL identifier");
    std::size_t end = text.find('\t', tab + 1);
    if (end == std::string_view::npos) end = text.size();
    acl.push_back(AclEntry{std::string(text.substr(pos, tab - pos)), std::string(text.substr(tab + 1, end - tab - 1))});
    pos = end + 1;
  }
  return acl;
}

Result<CyrusHeader> parse_dlist_layout(const Line& line, std::string_view file) {
  auto parsed = parse_dlist(line.text, file, line.offset);
  if (!parsed) return parsed.error();
  const DlistValue& v = parsed.value();
  if (v.kind != DlistValue::Kind::kvlist)
    return parse_error(file, line.offset, "expected a dlist key-value list %(...) after the magic");

  CyrusHeader h;
  h.layout = CyrusHeader::Layout::v3_dlist;
  h.type_letters = std::string(v.string_at("T"));
  h.name = std::string(v.string_at("N"));
  h.unique_id = std::string(v.string_at("I"));
  h.quota_root = std::string(v.string_at("Q"));

  if (const DlistValue* acl = v.find("A")) {
    if (acl->kind == DlistValue::Kind::kvlist) {
      for (std::size_t i = 0; i < acl->keys.size(); ++i) {
        const DlistValue& rights = acl->items[i];
        h.acl.push_back(AclEntry{acl->keys[i], rights.kind == DlistValue::Kind::string ? rights.text : ""});
      }
    } else if (acl->kind != DlistValue::Kind::nil) {
      return parse_error(file, line.offset, "expected A (ACL) to be a key-value list");
    }
  }
  if (const DlistValue* flags = v.find("U")) {
    if (flags->kind == DlistValue::Kind::list) {
      if (flags->items.size() > max_user_flags)
        return parse_error(file, line.offset, "more than " + std::to_string(max_user_flags) + " user flag names");
      h.user_flags.reserve(flags->items.size());
      for (const DlistValue& f : flags->items) {
        // NIL marks a removed slot; positions stay stable in this layout.
        if (f.kind == DlistValue::Kind::string && !f.text.empty())
          h.user_flags.emplace_back(f.text);
        else
          h.user_flags.emplace_back(std::nullopt);
      }
    } else if (flags->kind != DlistValue::Kind::nil) {
      return parse_error(file, line.offset, "expected U (user flags) to be a list");
    }
  }
  return h;
}

}  // namespace

Result<CyrusHeader> parse_cyrus_header(Bytes data, std::string_view file) {
  if (data.size() < header_magic.size() || data.substr(0, header_magic.size()) != header_magic) {
    std::size_t at = 0;
    while (at < data.size() && at < header_magic.size() && data[at] == header_magic[at]) ++at;
    return parse_error(file, at, "expected the 115-byte cyrus.header magic");
  }
  std::size_t pos = header_magic.size();
  Line first;
  if (!next_line(data, pos, first))
    return parse_error(file, pos, "expected the quota root line (or dlist) ending in LF");

  if (!first.text.empty() && first.text.front() == '%') return parse_dlist_layout(first, file);

  CyrusHeader h;
  const std::size_t tab = first.text.find('\t');
  if (tab == std::string_view::npos) {
    h.layout = CyrusHeader::Layout::v1_no_uniqueid;
    h.quota_root = std::string(first.text);
  } else {
    h.layout = CyrusHeader::Layout::v2_tab_separated;
    h.quota_root = std::string(first.text.substr(0, tab));
    std::string_view id = first.text.substr(tab + 1);
    id = id.substr(0, id.find('\t'));  // Cyrus stops the unique id at a further TAB
    if (id.empty()) return parse_error(file, first.offset + tab + 1, "expected a unique id after the TAB");
    h.unique_id = std::string(id);
  }

  Line flags_line;
  if (!next_line(data, pos, flags_line))
    return parse_error(file, pos, "expected the user flag names line ending in LF");
  auto flags = split_flag_names(flags_line, file);
  if (!flags) return flags.error();
  h.user_flags = std::move(flags.value());

  Line acl_line;
  if (!next_line(data, pos, acl_line)) return parse_error(file, pos, "expected the ACL line ending in LF");
  auto acl = split_acl(acl_line, file);
  if (!acl) return acl.error();
  h.acl = std::move(acl.value());
  return h;
}

}  // namespace cyrconv
