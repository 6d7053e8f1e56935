#include "converter/cli/preflight.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

struct LabelledTree {
  std::string label;  // "--spool DIR" as the user would write it
  fs::path real;
};

std::vector<LabelledTree> input_trees(const SourceInputs& in) {
  std::vector<LabelledTree> out;
  for (const auto& [name, dir] : in.partitions)
    out.push_back({name == "default" ? "--spool " + dir.string() : "--partition " + name + "=" + dir.string(),
                   resolved_path(dir)});
  for (const auto& [name, dir] : in.archive_partitions)
    out.push_back({"--archive-partition " + name + "=" + dir.string(), resolved_path(dir)});
  if (in.config_dir) out.push_back({"--config " + in.config_dir->string(), resolved_path(*in.config_dir)});
  return out;
}

// `inner` equal to or below `outer` (both resolved).
bool within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

std::string os_error(int e) { return std::strerror(e); }

// Creates and removes a file in `dir`: the only honest test of "can write here" (root, ACLs,
// read-only mounts, quotas all answer it). "" or why not.
std::string probe_directory(const fs::path& dir) {
  const fs::path probe = dir / (".cyrconv-probe-" + std::to_string(::getpid()));
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return os_error(errno);
  ::close(fd);
  ::unlink(probe.c_str());
  return {};
}

// The nearest existing ancestor of `p` (p itself when it exists).
fs::path existing_ancestor(const fs::path& p) {
  std::error_code ec;
  fs::path cur = fs::absolute(p).lexically_normal();
  while (!cur.empty() && !fs::exists(cur, ec)) {
    if (cur == cur.parent_path()) break;
    cur = cur.parent_path();
  }
  return cur;
}

// `dirs`: the run's directory outputs; a file inside one may name a directory the run creates.
std::string check_writable(const PreflightPath& o, const std::vector<fs::path>& dirs) {
  std::error_code ec;
  const fs::path abs = fs::absolute(o.path).lexically_normal();
  if (o.kind == PreflightPath::Kind::directory) {
    if (fs::exists(abs, ec) && !fs::is_directory(abs, ec))
      return o.option + " " + o.path.string() + " exists and is not a directory: give a directory";
    const fs::path base = existing_ancestor(abs);
    if (!fs::is_directory(base, ec))
      return o.option + " " + o.path.string() + ": " + base.string() + " is not a directory, so it cannot be created";
    if (auto why = probe_directory(base); !why.empty())
      return o.option + " " + o.path.string() + ": cannot " + (base == abs ? "write in " : "create it in ") +
             base.string() + " (" + why + "): choose a location you may write, or fix its permissions";
    return {};
  }
  if (fs::is_directory(abs, ec)) return o.option + " " + o.path.string() + " is a directory: give a file name";
  const fs::path parent = abs.parent_path();
  const fs::path real_parent = resolved_path(parent);
  // E.g. --report OUT/report.json or --report X/report.json with --out X/out: convert makes OUT
  // and its missing parents first (and OUT was checked as an output itself).
  if (!fs::exists(parent, ec) && std::any_of(dirs.begin(), dirs.end(), [&](const fs::path& d) {
        return within(real_parent, d) || within(d, real_parent);
      }))
    return {};
  if (!fs::is_directory(parent, ec))
    return o.option + " " + o.path.string() + ": directory " + parent.string() + " does not exist: create it first";
  if (fs::exists(abs, ec)) {
    const int fd = ::open(abs.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
      return o.option + " " + o.path.string() + ": cannot write it (" + os_error(errno) + ")";
    ::close(fd);
    return {};
  }
  if (auto why = probe_directory(parent); !why.empty())
    return o.option + " " + o.path.string() + ": cannot create a file in " + parent.string() + " (" + why +
           "): choose a location you may write";
  return {};
}

// Whether a cyrus.header lies below `dir` within `depth` levels, skipping the children named in
// `skip`. Stops at the first: a real spool answers after a few directories.
bool holds_mailbox(const fs::path& dir, int depth, const std::vector<fs::path>& skip = {}) {
  std::error_code ec;
  if (fs::exists(dir / "cyrus.header", ec)) return true;
  if (depth == 0) return false;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code e2;
    if (!it->is_directory(e2) || it->is_symlink(e2)) continue;
    bool skipped = false;
    for (const auto& s : skip) skipped = skipped || it->path() == s;
    if (!skipped && holds_mailbox(it->path(), depth - 1)) return true;
  }
  return false;
}

// Deep enough for domain/O/example.org/C/user/carl/sub/folder and uuid/a/b/<id>.
constexpr int mailbox_search_depth = 10;

// --spool X that holds no mailbox itself, but whose spool/ or partition-*/ does (an rsync target
// holding spool/ and config/): "did you mean --spool X/spool?".
// `option`: how the user names a partition directory ("--spool D", "--partition NAME=D").
std::string spool_too_high(const std::function<std::string(const fs::path&)>& option, const fs::path& dir) {
  std::error_code ec;
  std::vector<fs::path> candidates;
  fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    std::error_code e2;
    if ((name == "spool" || name == "mail" || name.rfind("partition-", 0) == 0) && it->is_directory(e2))
      candidates.push_back(it->path());
  }
  if (candidates.empty() || holds_mailbox(dir, mailbox_search_depth, candidates)) return {};
  for (const auto& c : candidates)
    if (!fs::exists(c / "cyrus.header", ec) && holds_mailbox(c, mailbox_search_depth))
      return option(dir) + " holds no mailbox, but " + c.string() + " does: did you mean " + option(c) + "?";
  return {};
}

}  // namespace

fs::path resolved_path(const fs::path& p) {
  const fs::path abs = fs::absolute(p).lexically_normal();
  const fs::path base = existing_ancestor(abs);
  std::error_code ec;
  fs::path real = fs::canonical(base, ec);
  if (ec) real = base;
  return (real / abs.lexically_relative(base)).lexically_normal();
}

PreflightResult preflight(const PreflightRequest& req) {
  PreflightResult r;
  std::vector<LabelledTree> trees;
  if (req.inputs) trees = input_trees(*req.inputs);

  for (const auto& o : req.outputs) {
    const fs::path real = resolved_path(o.path);
    for (const auto& t : trees) {
      if (within(real, t.real))
        return {o.option + " " + o.path.string() + " is " + (real == t.real ? "the" : "inside the") +
                    " input tree " + t.label + ": give a path outside the source (cyrconv never writes there)",
                {}};
      if (o.kind == PreflightPath::Kind::directory && within(t.real, real))
        return {"input " + t.label + " is inside the output " + o.option + " " + o.path.string() +
                    ": give an output directory that does not contain the source",
                {}};
    }
  }
  if (req.inputs) {
    for (const auto& [name, dir] : req.inputs->partitions) {
      auto option = [&name = name](const fs::path& d) {
        return name == "default" ? "--spool " + d.string() : "--partition " + name + "=" + d.string();
      };
      if (auto why = spool_too_high(option, dir); !why.empty())
        return {why, {}};
      std::error_code ec;
      if (!req.inputs->config_dir && fs::is_directory(dir / "uuid", ec))
        return {option(dir) +
                    " uses the uuid layout of Cyrus 3.x, whose folder names are only in mailboxes.db: give --config "
                    "DIR (the copy of Cyrus's configdirectory)",
                {}};
    }
    if (!req.inputs->config_dir)
      r.warnings.push_back(
          "warning: no --config: subscriptions, quotas, Sieve scripts, special-use annotations and the seen state "
          "kept outside the index (Cyrus before 2.4, and other users' seen state) will be missing; add --config DIR "
          "(the copy of Cyrus's configdirectory, e.g. /var/lib/imap)");
  }
  std::vector<fs::path> dirs;
  for (const auto& o : req.outputs)
    if (o.kind == PreflightPath::Kind::directory) dirs.push_back(resolved_path(o.path));
  for (const auto& o : req.outputs)
    if (auto why = check_writable(o, dirs); !why.empty()) return {why, {}};
  return r;
}

}  // namespace cyrconv
