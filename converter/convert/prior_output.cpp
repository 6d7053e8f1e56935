#include "converter/convert/prior_output.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>

#include "converter/convert/uidlist_stream.h"
#include "writers/maildir.h"
#include "converter/plan/output_layout.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

// Names of the regular entries of `dir` that `keep` accepts; stops at the first one it rejects.
// Returns the first rejected name, "" when all pass (or the directory is missing).
std::string first_foreign_entry(const fs::path& dir, const std::function<bool(std::string_view)>& ours) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return {};
  std::string foreign;
  while (dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!ours(name)) {
      foreign = std::string(name);
      break;
    }
  }
  ::closedir(d);
  return foreign;
}

}  // namespace

bool is_our_maildir_name(std::string_view name, std::uint32_t uidvalidity) {
  const std::string v = ".V" + std::to_string(uidvalidity) + "U";
  const auto dot = name.find('.');
  if (dot == std::string_view::npos || !all_digits(name.substr(0, dot))) return false;
  name.remove_prefix(dot);
  if (name.substr(0, v.size()) != v) return false;
  name.remove_prefix(v.size());
  const auto end = name.find('.');
  if (end == std::string_view::npos || !all_digits(name.substr(0, end))) return false;
  return name.substr(end).rfind(".cyrconv,S=", 0) == 0;
}

PriorFolder inspect_prior_folder(const fs::path& user_root, const std::string& side, bool maildir,
                                 const fs::path& folder_path, std::uint32_t uidvalidity, bool gzip) {
  PriorFolder p;
  std::string error;
  p.done = read_folder_done(user_root, side, error);
  if (!error.empty()) {
    p.state = PriorFolder::State::unreadable;
    p.why = error;
    return p;
  }
  p.pending = read_folder_pending(user_root, side, error);
  if (!error.empty()) p.pending.reset();  // a torn decision file is made again
  if (p.done) {
    p.state = PriorFolder::State::done;
    return p;
  }
  // An interrupted run left a manifest, or (below) committed messages or a uidlist.
  const bool manifest = exists_no_follow(folder_manifest_path(user_root, side));
  if (!maildir) {
    // An mbox file without a journal entry: a run killed after committing it. Its bytes are
    // compared with ours before anything is kept (OutputFile::OnExisting::keep_identical).
    const fs::path file = gzip ? fs::path(folder_path.string() + ".gz") : folder_path;
    p.state = exists_no_follow(file) || manifest ? PriorFolder::State::partial : PriorFolder::State::none;
    return p;
  }
  if (!exists_no_follow(folder_path)) return p;
  // Ours so far only if every message file has our name for this UIDVALIDITY, new/ is empty
  // (we never write there) and a uidlist, if any, lists only our files.
  auto ours = [&](std::string_view n) { return is_our_maildir_name(n, uidvalidity); };
  auto temp = [&](std::string_view n) { return n.size() > 13 && n.substr(n.size() - 12) == ".cyrconv-tmp"; };
  if (auto f = first_foreign_entry(folder_path / "new", [](std::string_view) { return false; }); !f.empty()) {
    p.state = PriorFolder::State::foreign;
    p.why = (folder_path / "new" / f).string() + ": mail cyrconv did not write";
    return p;
  }
  if (auto f = first_foreign_entry(folder_path / "cur", ours); !f.empty()) {
    p.state = PriorFolder::State::foreign;
    p.why = (folder_path / "cur" / f).string() + ": mail cyrconv did not write";
    return p;
  }
  if (auto f = first_foreign_entry(folder_path / "tmp", [&](std::string_view n) { return temp(n); }); !f.empty()) {
    p.state = PriorFolder::State::foreign;
    p.why = (folder_path / "tmp" / f).string() + ": a file cyrconv did not write";
    return p;
  }
  // Line by line: a map of the uidlist would cost some 200 bytes a message.
  const UidlistScan u = scan_uidlist(folder_path / "dovecot-uidlist", ours);
  error = u.read.error;
  if (u.read.exists && error.empty()) {
    const bool all_ours = u.clean && u.uidvalidity == uidvalidity && u.all_bases_ours;
    if (!all_ours) {
      p.state = PriorFolder::State::foreign;
      p.why = (folder_path / "dovecot-uidlist").string() + ": a uidlist cyrconv did not write for UIDVALIDITY " +
              std::to_string(uidvalidity);
      return p;
    }
  } else if (!error.empty()) {
    p.state = PriorFolder::State::unreadable;
    p.why = error;
    return p;
  }
  const bool any_message = !first_foreign_entry(folder_path / "cur", [](std::string_view) { return false; }).empty();
  const bool uidlist = exists_no_follow(folder_path / "dovecot-uidlist");
  // A directory alone (INBOX is the root its subfolders were made in) is nothing to resume.
  p.state = manifest || any_message || uidlist ? PriorFolder::State::partial : PriorFolder::State::none;
  return p;
}

std::optional<std::string> uidlist_with_uidnext(std::string_view existing, std::uint32_t uidnext, std::string& error,
                                                const std::set<std::uint32_t>& rewritten) {
  const auto eol = existing.find('\n');
  const std::string_view header = existing.substr(0, eol);
  if (header.substr(0, 2) != "3 ") {
    error = "not a version 3 dovecot-uidlist";
    return std::nullopt;
  }
  std::string out;
  bool found = false;
  std::size_t pos = 0;
  while (pos <= header.size()) {
    std::size_t sp = header.find(' ', pos);
    if (sp == std::string_view::npos) sp = header.size();
    const std::string_view field = header.substr(pos, sp - pos);
    if (!out.empty()) out += ' ';
    if (!field.empty() && field[0] == 'N') {
      out += "N" + std::to_string(uidnext);
      found = true;
    } else {
      out += field;
    }
    pos = sp + 1;
  }
  if (!found) out += " N" + std::to_string(uidnext);
  out += '\n';
  std::size_t at = eol == std::string_view::npos ? existing.size() : eol + 1;
  while (at < existing.size()) {
    std::size_t end = existing.find('\n', at);
    if (end == std::string_view::npos) end = existing.size();
    const std::string_view line = existing.substr(at, end - at);
    at = end + 1;
    std::uint32_t uid = 0;
    const auto sp = line.find(' ');
    const bool numbered = std::from_chars(line.data(), line.data() + (sp == std::string_view::npos ? line.size() : sp), uid).ec == std::errc();
    if (numbered && rewritten.count(uid)) continue;
    out += line;
    out += '\n';
  }
  return out;
}

std::optional<MboxImapBase> find_mbox_imapbase(std::string_view head) {
  const auto end = head.find("\n\n");
  const std::string_view header = head.substr(0, end);
  constexpr std::string_view key = "\nX-IMAPbase: ";
  const auto at = header.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  std::size_t pos = at + key.size();
  MboxImapBase b;
  auto number = [&](std::uint32_t& v) -> std::size_t {
    const std::size_t start = pos;
    while (pos < header.size() && header[pos] >= '0' && header[pos] <= '9') ++pos;
    if (pos == start || std::from_chars(header.data() + start, header.data() + pos, v).ec != std::errc())
      return std::string_view::npos;
    return start;
  };
  if (number(b.uidvalidity) == std::string_view::npos || pos >= header.size() || header[pos] != ' ') return std::nullopt;
  ++pos;
  const std::size_t start = number(b.last_uid);
  // Only the fixed-width field (cyrconv and Dovecot both write %010u) can be changed in place.
  if (start == std::string_view::npos || pos - start != 10) return std::nullopt;
  b.last_uid_offset = start;
  return b;
}

FlagState merge_flag_change(const FlagState& target_now, const FlagState& source_was, const FlagState& source_now) {
  FlagState r;
  const std::uint32_t added = source_now.system & ~source_was.system;
  const std::uint32_t removed = source_was.system & ~source_now.system;
  r.system = (target_now.system | added) & ~removed;
  auto has = [](const std::vector<std::string>& v, const std::string& k) { return std::find(v.begin(), v.end(), k) != v.end(); };
  for (const auto& k : target_now.keywords)
    if (!(has(source_was.keywords, k) && !has(source_now.keywords, k))) r.keywords.push_back(k);
  for (const auto& k : source_now.keywords)
    if (!has(source_was.keywords, k) && !has(r.keywords, k)) r.keywords.push_back(k);
  std::sort(r.keywords.begin(), r.keywords.end());
  return r;
}

std::uint32_t system_flags_from_names(const std::vector<std::string>& names) {
  std::uint32_t f = 0;
  for (const auto& n : names) {
    if (n == "\\Answered") f |= imapflag::answered;
    if (n == "\\Flagged") f |= imapflag::flagged;
    if (n == "\\Deleted") f |= imapflag::deleted;
    if (n == "\\Seen") f |= imapflag::seen;
    if (n == "\\Draft") f |= imapflag::draft;
  }
  return f;
}

}  // namespace cyrconv
