#include "converter/plan/output_layout.h"

#include "parsers/hex.h"
#include "parsers/sha1.h"

#include "writers/maildir.h"

namespace cyrconv {

std::uint32_t converted_system_flags(std::uint32_t f) {
  return f & (imapflag::answered | imapflag::flagged | imapflag::deleted | imapflag::draft | imapflag::seen);
}

std::vector<std::string> system_flag_names(std::uint32_t f) {
  std::vector<std::string> v;
  if (f & imapflag::answered) v.emplace_back("\\Answered");
  if (f & imapflag::flagged) v.emplace_back("\\Flagged");
  if (f & imapflag::deleted) v.emplace_back("\\Deleted");
  if (f & imapflag::seen) v.emplace_back("\\Seen");
  if (f & imapflag::draft) v.emplace_back("\\Draft");
  return v;
}

std::string user_root_relative(const std::string& owner) {
  if (owner.empty()) return "_shared";
  const auto at = owner.rfind('@');
  if (at == std::string::npos) return owner;
  return owner.substr(at + 1) + "/" + owner.substr(0, at);
}

std::string side_file_name(const FolderNameResult& n) {
  std::string s;
  for (char c : n.path) {
    if (c == '/')
      s += "%2F";
    else if (c == '%')
      s += "%25";
    else
      s += c;
  }
  if (s.empty() || s == "." || s == "..") return "_" + s;
  // A deep or long folder path would exceed NAME_MAX (255) once ".jsonl" or ".pending" is added:
  // keep a readable prefix (cut at a UTF-8 boundary) and make it unique with the SHA-1 of the
  // whole name. Deterministic, so verify and re-runs find the same files.
  constexpr std::size_t max_side = 200, keep = 150;
  if (s.size() <= max_side) return s;
  std::size_t cut = keep;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out = s.substr(0, cut) + "~";
  out += to_hex(sha1(s));
  return out;
}

FolderNameResult uidvalidity_sibling(const FolderNameResult& n, std::uint32_t uidvalidity) {
  FolderNameResult s = n;
  const std::string suffix = "-uv" + std::to_string(uidvalidity);
  s.path = (n.path.empty() ? std::string("INBOX") : n.path) + suffix;
  s.maildirpp = (n.maildirpp.empty() ? std::string(".INBOX") : n.maildirpp) + suffix;
  s.mbox_path = (n.mbox_path.empty() ? std::string("INBOX") : n.mbox_path) + suffix;
  if (!s.levels.empty()) s.levels.back() += suffix;
  s.renamed = true;
  s.why = "the target folder " + (n.path.empty() ? std::string("INBOX") : n.path) +
          " holds output this conversion must not merge into";
  return s;
}

FolderKeywords plan_keywords(const MailboxInventory& inv) {
  FolderKeywords k;
  std::array<bool, 128> used{};
  for (unsigned n = 0; n < 128; ++n) used[n] = (inv.used_user_flags[n >> 5] >> (n & 31)) & 1u;
  for (unsigned n = 0; n < 128; ++n) {
    if (!used[n] || n >= inv.flag_names.size() || !inv.flag_names[n]) continue;
    k.all_used.push_back(*inv.flag_names[n]);
    if (k.letters_order.size() < 26) {
      k.letter_of_slot[n] = static_cast<char>('a' + k.letters_order.size());
      k.letters_order.push_back(*inv.flag_names[n]);
    }
  }
  return k;
}

std::vector<std::string> record_keywords(const IndexRecord& r, const MailboxInventory& inv) {
  std::vector<std::string> v;
  for (unsigned n = 0; n < 128; ++n)
    if (r.user_flag(n) && n < inv.flag_names.size() && inv.flag_names[n]) v.push_back(*inv.flag_names[n]);
  return v;
}

std::string record_keyword_letters(const IndexRecord& r, const FolderKeywords& kw) {
  std::string letters;
  for (unsigned n = 0; n < 128; ++n)
    if (r.user_flag(n) && kw.letter_of_slot[n]) letters += kw.letter_of_slot[n];
  return letters;
}

}  // namespace cyrconv
