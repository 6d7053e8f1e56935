#include "writers/maildir.h"

#include <unistd.h>

#include <algorithm>

namespace cyrconv {

namespace fs = std::filesystem;

WriteStatus prepare_maildir(const fs::path& dir, bool is_inbox) {
  for (const char* sub : {"cur", "new", "tmp"})
    if (auto st = make_directories(dir / sub); !st) return st;
  // A run killed between linking the marker and removing its temporary name left the latter.
  if (fs::exists(dir / "maildirfolder")) ::unlink((dir / ".maildirfolder.cyrconv-tmp").c_str());
  if (!is_inbox && !fs::exists(dir / "maildirfolder")) {
    OutputFile marker;
    if (auto st = marker.open(dir, "maildirfolder"); !st) return st;
    auto st = marker.commit(dir / "maildirfolder", -1, false, OutputFile::OnExisting::refuse);
    if (!st && !fs::exists(dir / "maildirfolder")) return st;
  }
  return {};
}

std::string maildir_base_name(std::uint32_t uidvalidity, std::uint32_t uid, std::int64_t internaldate) {
  // TIME.UNIQUE.HOST form; the unique part is the Cyrus identity of the message.
  return std::to_string(internaldate) + ".V" + std::to_string(uidvalidity) + "U" + std::to_string(uid) + ".cyrconv";
}

std::string maildir_info_flags(std::uint32_t f, const std::string& keyword_letters) {
  std::string s;
  if (f & imapflag::draft) s += 'D';
  if (f & imapflag::flagged) s += 'F';
  if (f & imapflag::answered) s += 'R';
  if (f & imapflag::seen) s += 'S';
  if (f & imapflag::deleted) s += 'T';
  std::string k = keyword_letters;
  std::sort(k.begin(), k.end());
  return s + k;
}

std::string maildir_file_name(const std::string& base, std::uint64_t size, std::uint64_t vsize,
                              const std::string& info_flags) {
  return base + ",S=" + std::to_string(size) + ",W=" + std::to_string(vsize) + ":2," + info_flags;
}

std::string dovecot_uidlist(std::uint32_t uidvalidity, std::uint32_t uidnext, const std::vector<UidlistEntry>& entries) {
  std::string s = "3 V" + std::to_string(uidvalidity) + " N" + std::to_string(uidnext) + "\n";
  for (const auto& e : entries) s += std::to_string(e.uid) + " :" + e.base + "\n";
  return s;
}

std::string dovecot_keywords(const std::vector<std::string>& keywords) {
  std::string s;
  for (std::size_t i = 0; i < keywords.size() && i < 26; ++i) s += std::to_string(i) + " " + keywords[i] + "\n";
  return s;
}

std::string maildir_subscriptions(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += n + "\n";
  return s;
}

}  // namespace cyrconv
