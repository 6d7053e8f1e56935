#pragma once
// Pass 5 (finish), per user: what a mailbox owner had besides messages (README "What is
// carried besides messages"):
//   special-use  folder roles (annotation, else name) -> OUT/<user>/dovecot-special-use.conf
//   Sieve        scripts of the #sieve mailbox (3.6+) or sievedir *.script (older) ->
//                OUT/<user>/sieve/<name>.sieve, the active one linked from .dovecot.sieve;
//                fileinto / :fcc folder names rewritten where the target names differ
//   ACLs         every folder's ACL into the report and OUT/<user>/acl.tsv; Maildir: a
//                dovecot-acl file in each folder whose ACL is not just "the owner has all"
//   quota        the user's quota root -> Maildir/maildirsize with the usage written
// Re-runs: files cyrconv wrote are recorded in journal/extras.tsv (path and content hash); a
// file there that is not cyrconv's (absent from the record, or changed since) is left alone
// and reported.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "converter/source/discover.h"
#include "converter/plan/folder_naming.h"
#include "converter/source/inventory.h"
#include "writers/convert_report.h"
#include "writers/output_file.h"

namespace cyrconv {

struct ExtrasFolder {
  const MailboxRef* mailbox = nullptr;
  const FolderNameResult* name = nullptr;  // null when naming failed
  const MailboxInventory* inventory = nullptr;
  ConvertFolder* out = nullptr;            // report entry: gets special_use, acl, acl_file
};

struct ExtrasUser {
  std::string owner;                        // "" for the shared folders
  std::filesystem::path root;               // absolute output root of the user
  std::string root_rel;                     // relative to --out
  std::vector<ExtrasFolder> folders;
  std::vector<Finding>* findings = nullptr;  // the user's report findings
  CarriedExtras* report = nullptr;
};

struct ExtrasOptions {
  bool maildir = true;                       // --format maildir (mbox: no dovecot-acl, no maildirsize)
  bool sync = true;
  std::optional<std::filesystem::path> config_dir;  // Cyrus configdirectory: sieve/, quota/, quotas.db
  CaretMeaning caret = CaretMeaning::dot;            // Discovery::caret: folder names as Sieve scripts give them
};

void carry_extras(const ExtrasOptions& options, ExtrasUser& user);

// Usage of a Maildir++ tree as Dovecot counts it (message files in cur/ and new/ of the root and
// of each ".folder", sizes from ",S="): for maildirsize, and again by `report merge` once the
// UID ranges other shards wrote are joined.
void maildir_usage(const std::filesystem::path& maildir, std::uint64_t& bytes, std::uint64_t& count);
// Replaces a file this pass wrote (recorded in journal/extras.tsv with the hash of what is
// there now) with `content`, and its record; a file that is not ours any more is left alone
// (an error says so).
WriteStatus replace_owned_extras_file(const std::filesystem::path& user_root, const std::string& rel,
                                      const std::string& content, bool sync);

// The folder a Sieve script names, as the user's target calls it, or nullopt when it names none
// of `folders`. Cyrus reads fileinto names as modified UTF-7 (sieve_utf8fileinto: no, the
// default) or UTF-8, with '/' (unixhierarchysep) or '.' between levels and an optional INBOX
// prefix; each reading is tried. `folders`: (Cyrus path as users saw it in UTF-8, '/'-separated,
// "INBOX" for the inbox; target path).
std::optional<std::string> sieve_folder_target(std::string_view name,
                                               const std::vector<std::pair<std::string, std::string>>& folders);

}  // namespace cyrconv
