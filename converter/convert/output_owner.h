#pragma once
// `convert --owner`: who owns each user's output when cyrconv runs as root (README "Output
// owner"). Output is written root-owned, 0700/0600; once a user's output is complete, one walk
// of that user's tree gives every directory and file the user's uid and gid. The walk goes
// through directory descriptors and O_PATH handles (openat with O_NOFOLLOW, fchownat with
// AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW), so a symlink, or a directory swapped for one while we
// walk, is never followed; modes are never changed. Because the walk covers the whole tree,
// files an earlier or a resumed run wrote get the owner as well.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/parse_result.h"
#include "writers/report_model.h"

namespace cyrconv {

struct OwnerId {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string from;  // where it came from: "FILE line 3", "passwd entry fred"
};

// --owner passwd | --owner FILE.
struct OwnerMap {
  enum class Kind { none, passwd, file };
  Kind kind = Kind::none;
  std::string file;                        // the map file, for messages
  std::map<std::string, OwnerId> users;    // Cyrus user ("fred", "fred@example.com") -> owner
  std::optional<OwnerId> fallback;         // the '*' line: every user (and the shared folders) without a line
  bool enabled() const { return kind != Kind::none; }
};

// A map file: one "<cyrus user> <owner>:<group>" per line, separated by blanks (the owner part
// is the last field, so a user name may hold blanks); owner and group are numbers (all digits)
// or names looked up now in this machine's passwd and group databases; "*" as the user is the
// default; '#' starts a comment line. Refused with the line named: a malformed line, an unknown
// name, a user (or '*') given twice.
Result<OwnerMap> parse_owner_map(std::string_view text, std::string_view file);

// The passwd entry of `name` (getpwnam_r): its uid and primary gid.
std::optional<OwnerId> lookup_passwd_user(const std::string& name);

// The owner of one Cyrus user's output ("" = the shared folders), or nullopt with `why` set.
// passwd: the full Cyrus name only ("fred@example.com" is looked up as such, never as "fred":
// the same local part in two domains would otherwise share one account); the shared folders
// have no passwd entry. File: the user's line, else the '*' line.
std::optional<OwnerId> resolve_owner(const OwnerMap& map, const std::string& cyrus_user, std::string& why);

// Why --owner cannot be used by this process ("" when it can): only root may give files away.
std::string owner_refusal(uid_t effective_uid);

struct OwnerWalk {
  std::uint64_t entries = 0;  // directories and files seen
  std::uint64_t changed = 0;  // given the owner by this walk (the others had it already)
  std::vector<Finding> problems;
};

// Gives `root` and the entries below it that `top_level` names (every entry below those) the
// owner `id`. Directories, regular files and symlinks (the link itself) are changed; a device,
// FIFO or socket, and a regular file with more than one hard link not already owned by `id`,
// are left as they are and reported (a hard link could be a file outside the tree).
OwnerWalk set_tree_owner(const std::filesystem::path& root, const std::vector<std::string>& top_level, const OwnerId& id);

// What the converters call once a user's output is complete: resolves the owner and walks the
// user's tree (Maildir, mail, calendars, addressbooks, manifests, quarantine, journal, the
// Zimbra archive and command file). Findings: owner_not_found (the output stays root-owned,
// 0700/0600) and owner_not_set (entries the walk left or could not change).
void apply_output_owner(const OwnerMap& map, const std::string& cyrus_user, const std::filesystem::path& user_root,
                        std::vector<Finding>& findings,
                        const std::vector<std::string>& more_entries = {});

}  // namespace cyrconv
