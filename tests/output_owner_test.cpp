// Issue 9, `convert --owner`: the map file, the passwd lookup, the refusals, and (as root) every
// path of a converted tree checked with lstat for its uid, gid and mode in every format,
// including files a later run adds and hostile entries planted in the output.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>

#include "converter/convert/convert.h"
#include "converter/convert/output_owner.h"
#include "writers/convert_report.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

const fs::path legacy_spool() { return test::fixtures_dir() / "cyrus36-legacy" / "spool"; }

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream out(p, std::ios::binary);
  out << bytes;
}

struct Owned {
  uid_t uid;
  gid_t gid;
};

// Every path below `root` (and root itself): the expected owner, directories 0700, files 0600,
// nothing else. Returns how many paths were checked.
std::size_t check_tree(const fs::path& root, Owned want) {
  std::size_t n = 0;
  auto check = [&](const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    INFO(p.string() << " " << st.st_uid << ":" << st.st_gid << " mode " << std::oct << (st.st_mode & 07777));
    CHECK(st.st_uid == want.uid);
    CHECK(st.st_gid == want.gid);
    CHECK((S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)));
    CHECK((st.st_mode & 07777) == (S_ISDIR(st.st_mode) ? 0700u : 0600u));
    ++n;
  };
  check(root);
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) check(it->path());
  return n;
}

Owned owner_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::lstat(p.c_str(), &st) == 0);
  return {st.st_uid, st.st_gid};
}

std::vector<const Finding*> user_findings(const ConvertReport& r, const std::string& user, const std::string& kind) {
  std::vector<const Finding*> out;
  for (const auto& u : r.users)
    if (u.user == user)
      for (const auto& f : u.findings)
        if (f.kind == kind) out.push_back(&f);
  return out;
}

// Runs cyrconv with `args`, as uid/gid `as` when given (fork, setgid/setuid, exec).
struct Run {
  int status = -1;
  std::string out;
};
Run run_cyrconv(const std::vector<std::string>& args, std::optional<uid_t> as = std::nullopt) {
  int pipefd[2];
  REQUIRE(::pipe(pipefd) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipefd[1], 1);
    ::dup2(pipefd[1], 2);
    ::close(pipefd[0]);
    if (as && (::setgroups(0, nullptr) != 0 || ::setgid(*as) != 0 || ::setuid(*as) != 0)) ::_exit(120);
    std::vector<std::string> argv_s = {test::cyrconv_binary().string()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(121);
  }
  ::close(pipefd[1]);
  Run r;
  std::array<char, 4096> buf{};
  for (ssize_t n; (n = ::read(pipefd[0], buf.data(), buf.size())) > 0;) r.out.append(buf.data(), static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

ConvertReport convert_with(const fs::path& out, OutputFormat format, const OwnerMap& owner) {
  SourceInputs in;
  in.partitions.emplace_back("default", legacy_spool());
  ConvertOptions o;
  o.format = format;
  o.out = out;
  o.quiet = true;
  o.check_space = false;
  o.owner = owner;
  if (format == OutputFormat::zimbra_tgz) o.profile = NamingProfile::zimbra;
  return run_convert(in, o);
}

}  // namespace

TEST_CASE("owner map: lines, comments, names, numbers and the '*' default") {
  auto r = parse_owner_map("# cyrconv owner map\n\ncarl 4201:4301\n  anna@example.org\troot:root  \r\n"
                           "user with blanks 7:8\n* 65534:65534\n",
                           "owners.map");
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
  const OwnerMap& m = r.value();
  CHECK(m.kind == OwnerMap::Kind::file);
  REQUIRE(m.users.size() == 3);
  CHECK(m.users.at("carl").uid == 4201);
  CHECK(m.users.at("carl").gid == 4301);
  CHECK(m.users.at("carl").from == "owners.map line 3");
  CHECK(m.users.at("anna@example.org").uid == 0);  // root's entry, looked up by name
  CHECK(m.users.at("anna@example.org").gid == 0);
  CHECK(m.users.at("user with blanks").uid == 7);
  REQUIRE(m.fallback);
  CHECK(m.fallback->uid == 65534);

  std::string why;
  CHECK(resolve_owner(m, "carl", why)->uid == 4201);
  CHECK(resolve_owner(m, "bob@example.net", why)->uid == 65534);  // the default
  CHECK(resolve_owner(m, "", why)->uid == 65534);                 // shared folders too

  auto no_default = parse_owner_map("carl 1:2\n", "m");
  REQUIRE(no_default.ok());
  CHECK_FALSE(resolve_owner(no_default.value(), "bob", why));
  CHECK(why.find("no line in m") != std::string::npos);
}

TEST_CASE("owner map: malformed lines, unknown names and repeats are refused with the line") {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const Case& c : {Case{"carl\n", "line 1: expected '<cyrus user> <owner>:<group>'"},
                        Case{"carl 4201\n", "line 1: expected <owner>:<group>"},
                        Case{"\ncarl 1:2:3\n", "line 2: expected <owner>:<group>"},
                        Case{"carl :5\n", "expected <owner>:<group>"},
                        Case{"carl 5:\n", "expected <owner>:<group>"},
                        Case{"carl 4294967295:1\n", "uid 4294967295 is out of range"},
                        Case{"carl 1:99999999999\n", "gid 99999999999 is out of range"},
                        Case{"carl no-such-user-cyrconv:1\n", "no user 'no-such-user-cyrconv'"},
                        Case{"carl 1:no-such-group-cyrconv\n", "no group 'no-such-group-cyrconv'"},
                        Case{"carl 1:1\n# x\ncarl 2:2\n", "line 3: user 'carl' given twice (first on m line 1)"},
                        Case{"* 1:1\n* 2:2\n", "line 2: a second '*' line"}}) {
    auto r = parse_owner_map(c.text, "m");
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().to_string().find(c.expect) != std::string::npos);
  }
}

TEST_CASE("owner passwd: full names only, user@domain never falls back to the local part") {
  OwnerMap m;
  m.kind = OwnerMap::Kind::passwd;
  std::string why;
  auto root = resolve_owner(m, "root", why);
  REQUIRE(root);
  CHECK(root->uid == 0);
  auto daemon = lookup_passwd_user("daemon");
  if (daemon) {
    auto d = resolve_owner(m, "daemon", why);
    REQUIRE(d);
    CHECK(d->uid == daemon->uid);
    CHECK(d->gid == daemon->gid);  // the primary group
  }
  CHECK_FALSE(resolve_owner(m, "root@example.com", why));  // "root" exists; the domain user is not it
  CHECK(why.find("full name only") != std::string::npos);
  CHECK_FALSE(resolve_owner(m, "", why));
  CHECK(why.find("shared folders") != std::string::npos);
}

TEST_CASE("--owner is refused unless running as root") {
  CHECK(owner_refusal(0).empty());
  const std::string why = owner_refusal(1000);
  CHECK(why.find("--owner needs root") != std::string::npos);
  CHECK(why.find("uid 1000") != std::string::npos);
  if (::geteuid() != 0) {
    Run r = run_cyrconv({"convert", "--spool", legacy_spool().string(), "--format", "maildir", "--out", "/nonexistent/x",
                         "--owner", "passwd"});
    CHECK(r.status == 2);
    CHECK(r.out.find("--owner needs root") != std::string::npos);
  }
}

TEST_CASE("--owner: the command line refuses non-root, unreadable and malformed maps before writing") {
  if (::geteuid() != 0) {
    MESSAGE("not root: the refusal is checked by the test above");
    return;
  }
  test::TempDir tmp;
  ::chmod(tmp.path.c_str(), 0755);  // the unprivileged child must reach its output path to be refused for --owner alone
  const fs::path out = tmp.path / "out";
  const std::vector<std::string> base = {"convert", "--spool", legacy_spool().string(), "--format", "maildir",
                                         "--quiet", "--out", out.string()};
  auto with = [&](std::vector<std::string> extra) {
    auto a = base;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  // As nobody: exit 2, one clear line, nothing written.
  Run r = run_cyrconv(with({"--owner", "passwd"}), 65534);
  CHECK(r.status == 2);
  CHECK(r.out.find("--owner needs root") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  r = run_cyrconv(with({"--owner", (tmp.path / "absent.map").string()}));
  CHECK(r.status == 3);
  CHECK(r.out.find("--owner: cannot read") != std::string::npos);
  write_file(tmp.path / "bad.map", "carl 4201:4301\ncarl 1:1\n");
  r = run_cyrconv(with({"--owner", (tmp.path / "bad.map").string()}));
  CHECK(r.status == 3);
  CHECK(r.out.find("line 2: user 'carl' given twice") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  // And the same command with a good map, as root, gives carl's tree away.
  write_file(tmp.path / "good.map", "carl 4201:4301\n");
  r = run_cyrconv(with({"--owner", (tmp.path / "good.map").string()}));
  CHECK(r.status <= 1);
  CHECK(owner_of(out / "carl" / "Maildir").uid == 4201);
}

TEST_CASE("--owner FILE as root: every path of a mapped user's tree, every format, others stay root's 0700/0600") {
  if (::geteuid() != 0) {
    MESSAGE("not root: --owner cannot be exercised; skipped");
    return;
  }
  auto parsed = parse_owner_map("carl 4201:4301\nanna@example.org 4202:4302\n", "owners.map");
  REQUIRE(parsed.ok());
  const OwnerMap map = parsed.value();
  for (OutputFormat format : {OutputFormat::maildir, OutputFormat::mbox, OutputFormat::zimbra_tgz}) {
    CAPTURE(static_cast<int>(format));
    test::TempDir tmp;
    const fs::path out = tmp.path / "out";
    ConvertReport r = convert_with(out, format, map);
    REQUIRE_FALSE(r.fatal);
    CHECK(check_tree(out / "carl", {4201, 4301}) > 3);
    CHECK(check_tree(out / "example.org" / "anna", {4202, 4302}) > 3);
    // Not in the map: root-owned, private, and reported.
    check_tree(out / "example.net" / "bob", {0, 0});
    check_tree(out / "_shared", {0, 0});
    CHECK(user_findings(r, "bob@example.net", "owner_not_found").size() == 1);
    CHECK(user_findings(r, "", "owner_not_found").size() == 1);
    CHECK(user_findings(r, "carl", "owner_not_found").empty());
    CHECK(user_findings(r, "carl", "owner_not_set").empty());
    // Directories several users share are never given away.
    CHECK(owner_of(out / "example.org").uid == 0);
    CHECK(owner_of(out).uid == 0);
    CHECK(owner_of(out / "rename-map.tsv").uid == 0);
  }
}

TEST_CASE("--owner: files a later run writes get the owner, planted links, FIFOs and hard links are not followed") {
  if (::geteuid() != 0) {
    MESSAGE("not root: --owner cannot be exercised; skipped");
    return;
  }
  auto parsed = parse_owner_map("* 4201:4301\n", "owners.map");
  REQUIRE(parsed.ok());
  test::TempDir tmp;
  const fs::path out = tmp.path / "out";
  // A first run without --owner: everything root's.
  ConvertReport first = convert_with(out, OutputFormat::maildir, OwnerMap{});
  REQUIRE_FALSE(first.fatal);
  check_tree(out / "carl", {0, 0});
  // Take one folder's output away, so the next run writes it anew (after the earlier files).
  fs::remove_all(out / "carl" / "Maildir" / ".Sent");
  fs::remove(out / "carl" / "journal" / "Sent.done");
  fs::remove(out / "carl" / "manifests" / "Sent.jsonl");
  // Hostile entries in the tree: a symlink to a root file outside it, a FIFO, a hard link.
  const fs::path victim = tmp.path / "victim";
  write_file(victim, "root's file\n");
  ::chmod(victim.c_str(), 0600);
  fs::create_symlink(victim, out / "carl" / "Maildir" / "link-to-victim");
  fs::create_directory_symlink(tmp.path, out / "carl" / "manifests" / "dir-link");
  REQUIRE(::mkfifo((out / "carl" / "Maildir" / "fifo").c_str(), 0600) == 0);
  REQUIRE(::link(victim.c_str(), (out / "carl" / "journal" / "hardlink").c_str()) == 0);

  ConvertReport second = convert_with(out, OutputFormat::maildir, parsed.value());
  REQUIRE_FALSE(second.fatal);
  // The re-written folder, the earlier files and the shared tree all carry the owner now.
  CHECK(owner_of(out / "carl" / "Maildir" / ".Sent" / "cur").uid == 4201);
  CHECK(owner_of(out / "carl" / "journal" / "Sent.done").uid == 4201);
  CHECK(owner_of(out / "carl" / "manifests" / "INBOX.jsonl").uid == 4201);
  check_tree(out / "example.org" / "anna", {4201, 4301});
  check_tree(out / "_shared", {4201, 4301});
  // The links themselves were given the owner; what they point at was not touched.
  CHECK(owner_of(out / "carl" / "Maildir" / "link-to-victim").uid == 4201);
  CHECK(owner_of(out / "carl" / "manifests" / "dir-link").uid == 4201);
  CHECK(owner_of(victim).uid == 0);
  CHECK(owner_of(tmp.path).uid == 0);
  // The FIFO and the hard-linked file are left and reported.
  CHECK(owner_of(out / "carl" / "Maildir" / "fifo").uid == 0);
  CHECK(owner_of(out / "carl" / "journal" / "hardlink").uid == 0);
  const auto left = user_findings(second, "carl", "owner_not_set");
  CHECK(left.size() == 2);
  std::string details;
  for (const auto* f : left) details += f->file + ": " + f->detail + "\n";
  CHECK(details.find("fifo: owner 4201:4301 (owners.map line 1): not a directory, regular file or symlink") !=
        std::string::npos);
  CHECK(details.find("hardlink: owner 4201:4301 (owners.map line 1): a regular file with 2 hard links") !=
        std::string::npos);
  // Every other path of carl's tree: owner and private modes.
  fs::remove(out / "carl" / "Maildir" / "link-to-victim");
  fs::remove(out / "carl" / "manifests" / "dir-link");
  fs::remove(out / "carl" / "Maildir" / "fifo");
  fs::remove(out / "carl" / "journal" / "hardlink");
  CHECK(check_tree(out / "carl", {4201, 4301}) > 10);
}

TEST_CASE("set_tree_owner: only the named top-level entries, so a user root inside another keeps its owner") {
  if (::geteuid() != 0) {
    MESSAGE("not root; skipped");
    return;
  }
  test::TempDir tmp;
  // User "example.com" has OUT/example.com; user fred@example.com has OUT/example.com/fred.
  fs::create_directories(tmp.path / "example.com" / "Maildir" / "cur");
  fs::create_directories(tmp.path / "example.com" / "fred" / "Maildir");
  write_file(tmp.path / "example.com" / "Maildir" / "cur" / "1", "x");
  OwnerWalk w = set_tree_owner(tmp.path / "example.com", {"Maildir"}, OwnerId{4300, 4300, "test"});
  CHECK(w.problems.empty());
  CHECK(w.entries == 4);  // the root, Maildir, cur, the file
  CHECK(w.changed == 4);
  CHECK(owner_of(tmp.path / "example.com" / "Maildir" / "cur" / "1").uid == 4300);
  CHECK(owner_of(tmp.path / "example.com" / "fred").uid == 0);
  CHECK(owner_of(tmp.path / "example.com" / "fred" / "Maildir").uid == 0);
  // A second walk finds nothing to change.
  OwnerWalk again = set_tree_owner(tmp.path / "example.com", {"Maildir"}, OwnerId{4300, 4300, "test"});
  CHECK(again.changed == 0);
}
