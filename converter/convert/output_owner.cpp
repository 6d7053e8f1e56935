#include "converter/convert/output_owner.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

// Deeper than any tree convert writes (Cyrus names are at most 490 bytes, so an mbox tree of
// X.sbd/ levels stays far below), and few enough descriptors to stay inside the default limit.
constexpr int max_walk_depth = 400;

// Every entry of a user root that convert writes (README "cyrconv convert"): the walk touches
// these only, so another user's root below this one (user "example.com" and the domain
// directory example.com/) keeps its own owner.
// (converter/convert/carry_extras.cpp adds sieve/, .dovecot.sieve, acl.tsv and dovecot-special-use.conf.)
const std::vector<std::string> user_root_entries = {
    "Maildir",    "mail",     "calendars", "addressbooks", "manifests",      "quarantine",
    "journal",    "zimbra.tgz", "zimbra-flags.zmm", "sieve", ".dovecot.sieve", "acl.tsv",
    "dovecot-special-use.conf", "contacts", "zimbra-import.sh", "zimbra-expected.tsv",
    "zimbra-archives.tsv", "apply-keywords.sh"};

std::optional<std::uint32_t> parse_id(std::string_view s) {
  if (s.empty() || s.size() > 10) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v >= std::numeric_limits<std::uint32_t>::max()) return std::nullopt;  // (uid_t)-1 means "no change"
  return static_cast<std::uint32_t>(v);
}

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

std::optional<gid_t> lookup_group(const std::string& name) {
  std::vector<char> buf(16 * 1024);
  group gr{};
  group* found = nullptr;
  while (::getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &found) == ERANGE && buf.size() < (1u << 22))
    buf.resize(buf.size() * 2);
  if (!found) return std::nullopt;
  return found->gr_gid;
}

Finding problem(Finding::Severity sev, std::string kind, std::string file, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, 0, std::move(detail)};
}

struct Walker {
  const OwnerId& id;
  OwnerWalk& result;
  std::uint64_t left = 0;  // entries reported, beyond the first few named
  void report(const fs::path& path, const std::string& what) {
    if (result.problems.size() < 20)
      result.problems.push_back(problem(Finding::Severity::error, "owner_not_set", path.string(),
                                        what + "; left owned by its current owner"));
    else
      ++left;
  }

  // `fd`: an O_PATH handle of the entry (never a followed symlink); `st` its fstat.
  void change(int fd, const struct stat& st, const fs::path& path) {
    ++result.entries;
    if (st.st_uid == id.uid && st.st_gid == id.gid) return;
    const bool dir = S_ISDIR(st.st_mode), reg = S_ISREG(st.st_mode), link = S_ISLNK(st.st_mode);
    if (!dir && !reg && !link) return report(path, "not a directory, regular file or symlink");
    if (reg && st.st_nlink > 1) return report(path, "a regular file with " + std::to_string(st.st_nlink) + " hard links");
    if (::fchownat(fd, "", id.uid, id.gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0)
      return report(path, std::string("chown: ") + std::strerror(errno));
    ++result.changed;
  }

  // `dir_fd`: an O_PATH handle of a directory already given the owner.
  void walk(int dir_fd, const fs::path& path, int depth, const std::vector<std::string>* only) {
    if (depth > max_walk_depth) return report(path, "deeper than " + std::to_string(max_walk_depth) + " levels: not walked");
    const int list_fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (list_fd < 0) return report(path, std::string("open directory: ") + std::strerror(errno));
    DIR* d = ::fdopendir(list_fd);
    if (!d) {
      ::close(list_fd);
      return report(path, std::string("read directory: ") + std::strerror(errno));
    }
    while (dirent* e = ::readdir(d)) {
      const std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (only && std::find(only->begin(), only->end(), name) == only->end()) continue;
      const fs::path child = path / std::string(name);
      const int fd = ::openat(dir_fd, e->d_name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        if (errno != ENOENT) report(child, std::string("open: ") + std::strerror(errno));
        continue;
      }
      struct stat st {};
      if (::fstat(fd, &st) != 0) {
        report(child, std::string("stat: ") + std::strerror(errno));
      } else {
        change(fd, st, child);
        if (S_ISDIR(st.st_mode)) walk(fd, child, depth + 1, nullptr);
      }
      ::close(fd);
    }
    ::closedir(d);
  }
};

}  // namespace

std::optional<OwnerId> lookup_passwd_user(const std::string& name) {
  std::vector<char> buf(16 * 1024);
  passwd pw{};
  passwd* found = nullptr;
  while (::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) == ERANGE && buf.size() < (1u << 22))
    buf.resize(buf.size() * 2);
  if (!found) return std::nullopt;
  return OwnerId{found->pw_uid, found->pw_gid, "passwd entry " + name};
}

Result<OwnerMap> parse_owner_map(std::string_view text, std::string_view file) {
  OwnerMap map;
  map.kind = OwnerMap::Kind::file;
  map.file = std::string(file);
  std::size_t pos = 0, line_no = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    const std::uint64_t offset = pos;
    pos = eol + 1;
    ++line_no;
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    while (!line.empty() && blank(line.front())) line.remove_prefix(1);
    while (!line.empty() && blank(line.back())) line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = std::string(file) + " line " + std::to_string(line_no);
    auto fail = [&](const std::string& what) { return parse_error(file, offset, "line " + std::to_string(line_no) + ": " + what); };
    // The owner is the last field, so a Cyrus user name with blanks still reads.
    std::size_t cut = line.size();
    while (cut > 0 && !blank(line[cut - 1])) --cut;
    if (cut == 0) return fail("expected '<cyrus user> <owner>:<group>', got '" + std::string(line) + "'");
    std::string_view user = line.substr(0, cut), spec = line.substr(cut);
    while (!user.empty() && blank(user.back())) user.remove_suffix(1);
    const std::size_t colon = spec.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == spec.size() ||
        spec.find(':', colon + 1) != std::string_view::npos)
      return fail("expected <owner>:<group> (names or numbers), got '" + std::string(spec) + "'");
    const std::string owner(spec.substr(0, colon)), group(spec.substr(colon + 1));
    OwnerId id;
    id.from = where;
    if (all_digits(owner)) {
      auto v = parse_id(owner);
      if (!v) return fail("uid " + owner + " is out of range");
      id.uid = *v;
    } else {
      auto pw = lookup_passwd_user(owner);
      if (!pw) return fail("no user '" + owner + "' in this machine's passwd database");
      id.uid = pw->uid;
    }
    if (all_digits(group)) {
      auto v = parse_id(group);
      if (!v) return fail("gid " + group + " is out of range");
      id.gid = *v;
    } else {
      auto g = lookup_group(group);
      if (!g) return fail("no group '" + group + "' in this machine's group database");
      id.gid = *g;
    }
    if (user == "*") {
      if (map.fallback) return fail("a second '*' line (the first is " + map.fallback->from + ")");
      map.fallback = id;
      continue;
    }
    auto [it, added] = map.users.emplace(std::string(user), id);
    if (!added) return fail("user '" + std::string(user) + "' given twice (first on " + it->second.from + ")");
  }
  return map;
}

std::optional<OwnerId> resolve_owner(const OwnerMap& map, const std::string& cyrus_user, std::string& why) {
  why.clear();
  if (map.kind == OwnerMap::Kind::passwd) {
    if (cyrus_user.empty()) {
      why = "the shared folders belong to no passwd user (a map file's '*' line can give them one)";
      return std::nullopt;
    }
    if (auto id = lookup_passwd_user(cyrus_user)) return id;
    why = "no passwd entry '" + cyrus_user + "' on this machine" +
          (cyrus_user.find('@') != std::string::npos
               ? " (a user@domain is looked up by its full name only; map other names with --owner FILE)"
               : "");
    return std::nullopt;
  }
  if (map.kind == OwnerMap::Kind::file) {
    if (auto it = map.users.find(cyrus_user); it != map.users.end()) return it->second;
    if (map.fallback) return map.fallback;
    why = (cyrus_user.empty() ? std::string("the shared folders have") : "user '" + cyrus_user + "' has") +
          " no line in " + map.file + " and it has no '*' line";
    return std::nullopt;
  }
  why = "no --owner given";
  return std::nullopt;
}

std::string owner_refusal(uid_t effective_uid) {
  if (effective_uid == 0) return {};
  return "--owner needs root: only root can give the output to other users (running as uid " +
         std::to_string(effective_uid) + "); run as root, or leave --owner out and the output stays yours, 0700/0600";
}

OwnerWalk set_tree_owner(const fs::path& root, const std::vector<std::string>& top_level, const OwnerId& id) {
  OwnerWalk result;
  Walker w{id, result};
  const int fd = ::open(root.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    w.report(root, std::string("open: ") + std::strerror(errno));
    return result;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    w.report(root, "not a directory");
  } else {
    w.change(fd, st, root);
    w.walk(fd, root, 1, &top_level);
  }
  ::close(fd);
  if (w.left)
    result.problems.push_back(problem(Finding::Severity::error, "owner_not_set", root.string(),
                                      std::to_string(w.left) + " more entries left with their current owner"));
  return result;
}

void apply_output_owner(const OwnerMap& map, const std::string& cyrus_user, const fs::path& user_root,
                        std::vector<Finding>& findings, const std::vector<std::string>& more_entries) {
  if (!map.enabled()) return;
  struct stat st {};
  if (::lstat(user_root.c_str(), &st) != 0) return;  // nothing written for this user
  std::string why;
  const auto id = resolve_owner(map, cyrus_user, why);
  if (!id) {
    findings.push_back(problem(Finding::Severity::error, "owner_not_found", user_root.string(),
                               why + ": this output is left owned by " + std::to_string(st.st_uid) + ":" +
                                   std::to_string(st.st_gid) + ", directories 0700 and files 0600"));
    return;
  }
  std::vector<std::string> entries = user_root_entries;
  entries.insert(entries.end(), more_entries.begin(), more_entries.end());
  OwnerWalk w = set_tree_owner(user_root, entries, *id);
  for (auto& f : w.problems) {
    f.detail = "owner " + std::to_string(id->uid) + ":" + std::to_string(id->gid) + " (" + id->from + "): " + f.detail;
    findings.push_back(std::move(f));
  }
}

}  // namespace cyrconv
