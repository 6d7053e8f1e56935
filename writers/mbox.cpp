#include "writers/mbox.h"

#include <cstdio>
#include <ctime>

#include "writers/maildir.h"

namespace cyrconv {

std::string mbox_from_line(const std::string& sender, std::int64_t internaldate) {
  const std::time_t t = static_cast<std::time_t>(internaldate);
  std::tm tm{};
  gmtime_r(&t, &tm);
  static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char date[64];
  std::snprintf(date, sizeof date, "%s %s %2d %02d:%02d:%02d %d", days[tm.tm_wday], months[tm.tm_mon], tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
  return "From " + (sender.empty() ? std::string("MAILER-DAEMON") : sender) + " " + date + "\n";
}

std::string mbox_metadata_headers(std::uint32_t uid, std::uint32_t f, const std::vector<std::string>& keywords,
                                  const MboxFolderState* first) {
  std::string h;
  if (first) {
    char base[64];
    // Dovecot and UW-IMAP pad the last UID to 10 digits.
    std::snprintf(base, sizeof base, "X-IMAPbase: %u %010u", first->uidvalidity, first->last_uid);
    h += base;
    for (const auto& k : first->keywords) h += " " + k;
    h += "\n";
  }
  h += "X-UID: " + std::to_string(uid) + "\n";
  h += (f & imapflag::seen) ? "Status: RO\n" : "Status: O\n";
  std::string x;
  if (f & imapflag::answered) x += 'A';
  if (f & imapflag::flagged) x += 'F';
  if (f & imapflag::draft) x += 'T';
  if (f & imapflag::deleted) x += 'D';
  if (!x.empty()) h += "X-Status: " + x + "\n";
  if (!keywords.empty()) {
    h += "X-Keywords:";
    for (const auto& k : keywords) h += " " + k;
    h += "\n";
  }
  return h;
}

std::string envelope_sender_from_header(std::string_view head) {
  // Only the first header block counts; Cyrus's lmtpd puts Return-Path first.
  std::size_t pos = 0;
  while (pos < head.size()) {
    std::size_t eol = head.find('\n', pos);
    if (eol == std::string_view::npos) eol = head.size();
    std::string_view line = head.substr(pos, eol - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;
    constexpr std::string_view key = "return-path:";
    if (line.size() >= key.size()) {
      bool match = true;
      for (std::size_t i = 0; i < key.size() && match; ++i) match = (line[i] | 0x20) == key[i];
      if (match) {
        std::string_view v = line.substr(key.size());
        const auto lt = v.find('<'), gt = v.find('>');
        if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt)
          v = v.substr(lt + 1, gt - lt - 1);
        while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
        while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
        std::string s(v);
        for (char& c : s)
          if (c == ' ' || c == '\t' || static_cast<unsigned char>(c) < 0x20) c = '_';
        return s;
      }
    }
    pos = eol + 1;
  }
  return {};
}

}  // namespace cyrconv
