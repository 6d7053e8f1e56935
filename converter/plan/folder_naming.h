#pragma once
// Plan pass, folder naming: maps every folder of ONE user to a name its target accepts.
// Pure: no file system, no global state. The result depends only on the set of folders given
// (never on their order, other users or shards), so every run and every shard agrees.
//
// Use (per user):
//   std::vector<FolderNameInput> in;            // every folder of the user, any order
//   for (auto& m : user_mailboxes) in.push_back(folder_name_input(m.name, m.kind, annotation));
//   NamingOutcome out = name_folders(in, NamingProfile::dovecot, overrides_for_user);
//   if (!out.errors.empty()) -> refuse before writing anything
//   out.folders: one FolderNameResult per input (sorted by internal name) with the target name,
//                every on-disk form, the export file of calendars/addressbooks, and why renamed.
//
// Profiles (README "Folder names"):
//   dovecot  Dovecot 2.3 Maildir++ / LAYOUT=fs / mbox, names in modified UTF-7, `.`, `\` and a
//            leading `~` escaped as Dovecot's listescape plugin writes them (`\2e`, `\5c`, `\7e`);
//            needs `mail_plugins = $mail_plugins listescape` and namespace `separator = /`.
//            Case-sensitive uniqueness. Special-use folders keep their names.
//   zimbra   Zimbra folder paths (UTF-8): system folders Inbox/Sent/Drafts/Trash/Junk/Calendar/
//            Contacts..., forbidden `:` `"` `/` and control characters, 255 UTF-16 units per level,
//            case-insensitive uniqueness, mail/calendar/addressbook folders in one namespace.
//   generic  dovecot's on-disk forms with case-insensitive uniqueness, so the tree also survives a
//            copy onto a case-insensitive file system.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/mailbox_name.h"
#include "parsers/mailboxes_db.h"

namespace cyrconv {

enum class NamingProfile { dovecot, zimbra, generic };
const char* to_string(NamingProfile);
std::optional<NamingProfile> parse_naming_profile(std::string_view);

enum class FolderClass { email, calendar, addressbook, other_dav };

struct FolderNameInput {
  std::string internal_name;              // Cyrus internal name: the identity ("user.fred.Sent")
  std::vector<std::string> levels;        // mUTF-7 levels below the user (empty = INBOX),
                                          // a literal '.' as '.'; shared folders: all levels
  FolderClass cls = FolderClass::email;
  std::optional<std::string> special_use; // "\Sent" "\Trash" "\Drafts" "\Junk" (annotation), if known
};

// Builds the input from a discovered name: drops "user.<name>" (and keeps "INBOX.x" of altnamespace
// as levels {"INBOX","x"}, which name as children of INBOX).
// `caret`: what a '^' of the internal name was to users (Discovery::caret).
FolderNameInput folder_name_input(const MailboxName& name, MailboxKind kind,
                                  std::optional<std::string> special_use = std::nullopt,
                                  CaretMeaning caret = CaretMeaning::dot);

enum class FolderAction {
  mail_folder,         // written as a mail folder
  export_calendar,     // written as one .ics file (export_file)
  export_addressbook,  // written as one .vcf file (export_file)
  skip,                // DAV containers, scheduling Inbox/Outbox, other DAV collections
};
const char* to_string(FolderAction);

enum class RenameReason {
  override_map,      // --rename-map said so
  special_use,       // mapped onto the target's own Sent/Trash/Drafts/Junk/Inbox/Calendar/Contacts
  invalid_mutf7,     // the Cyrus name is not valid modified UTF-7: its raw text is used
  forbidden_char,    // control characters, '/', and for zimbra ':' '"' replaced by '_'
  trailing_space,    // zimbra trims trailing spaces
  outside_bmp,       // zimbra: characters beyond U+FFFF (emoji) do not fit MySQL utf8: written "U+XXXXX"
  reserved_name,     // ".", "..", empty, or (dovecot/generic) cur/new/tmp which LAYOUT=fs refuses
  too_long,          // zimbra 255 UTF-16 units per level; on disk 255 bytes per name
  collision,         // equal to an earlier name (after case folding and escaping): suffix " (N)"
  system_folder,     // equal to a target system folder (zimbra Calendar, Contacts, ...): suffix
  parent_renamed,    // only moved because an ancestor was renamed
};
const char* to_string(RenameReason);

struct FolderNameResult {
  std::string internal_name;
  FolderAction action = FolderAction::mail_folder;
  std::vector<std::string> levels;   // target levels, UTF-8; {"INBOX"} (zimbra {"Inbox"}) for INBOX
  std::string path;                  // levels joined with '/': the name users see, the rename map's
  // On-disk forms (mail folders; relative to the user's mail root):
  std::string maildirpp;             // ".Archiv.Entw&APw-rfe"; "" = INBOX is the root itself
  std::string fs_path;               // "Archiv/Entw&APw-rfe" (LAYOUT=fs); "" for INBOX
  std::string mbox_path;             // "Archiv.sbd/Entw&APw-rfe": a folder's file is `X`, its
                                     // children live in `X.sbd/`, so file and directory never clash
  std::string export_file;           // "calendars/Arbeit.ics", "addressbooks/Default.vcf"
  std::string special_use;           // role on the target ("\Sent" ...) or ""
  bool renamed = false;              // path differs from the Cyrus name (UTF-8, '/' separated)
  std::vector<RenameReason> reasons;
  std::string why;                   // one sentence for the report
};

struct NamingOutcome {
  std::vector<FolderNameResult> folders;  // one per input that got a name, sorted by internal name
  std::vector<std::string> errors;        // refused overrides: write nothing
  // Folders no name of the profile can hold (too long or too deep): each is left out and
  // reported by itself; the rest of the user's folders are converted.
  std::vector<std::pair<std::string, std::string>> unnamed;  // internal name, why
};

// Overrides: Cyrus internal name -> target path (UTF-8, '/' between levels), applied before the
// collision rule. Overrides that collide with each other or are invalid for the profile are errors.
NamingOutcome name_folders(const std::vector<FolderNameInput>& folders, NamingProfile profile,
                           const std::map<std::string, std::string>& overrides = {});

// The Cyrus name as users saw it (UTF-8, '/' separated, "INBOX" for the inbox); invalid mUTF-7
// levels are kept raw. Used for "renamed".
std::string source_path(const FolderNameInput& in);

// Case folding used for zimbra/generic uniqueness: ASCII, Latin-1, Latin Extended-A, Greek and
// Cyrillic capitals to lower case; other code points unchanged (documented limit).
std::string fold_case(std::string_view utf8);

// Encodes one UTF-8 level as Dovecot 2.3 with listescape stores it: modified UTF-7, then '\' ->
// "\5c", a leading '~' -> "\7e", and (maildirpp) '.' -> "\2e".
std::string dovecot_storage_level(std::string_view utf8_level, bool maildirpp);

}  // namespace cyrconv
