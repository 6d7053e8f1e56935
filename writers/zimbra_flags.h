#pragma once
// Lines of a zmmailbox command file (`zmmailbox -z -m USER -f FILE`) that put back what a bare
// archive entry cannot carry: Zimbra tags for keywords, and the flags beyond unread.
//
// Every command and option used is one ZMailboxUtil declares (zm-mailbox,
// store/src/java/com/zimbra/cs/zclient/ZMailboxUtil.java, enum Command):
//   createTag {tag-name}                        CREATE_TAG
//   createFolder {folder-path}  -V view         CREATE_FOLDER, O_VIEW
//   search {query}  -t types  -l limit          SEARCH, O_TYPES, O_LIMIT
//   modifyItemFlags {item-ids} {item-flags}     MODIFY_ITEM_FLAGS ("replaces the flags")
//   tagMessage {msg-ids} {tag-name} [0|1*]      TAG_MESSAGE
// Item ids "#1" / "#1-3" name the hits of the last search (ZMailboxUtil.id(), mIndexToId, filled
// by dumpSearch from 1); a search with no hit clears them, so the next command fails with
// "unknown index" instead of touching another message. In file mode an error is printed and the
// next line runs (ZMailboxUtil.interactive). Arguments are double-quoted with `\"` and `\\`
// escapes (zm-common StringUtil.parseLine; that file is not in the stored sources, so values
// needing an escape are avoided where it matters: see searchable()).
// Flag letters are Flag.FlagInfo's: u unread, f flagged, r replied, w forwarded, x deleted.
// \Draft is a system flag Zimbra sets only on delivery (Flag.FLAGS_SYSTEM; MailItem.setTags keeps
// system flags as they are), so it becomes the tag `draft_tag` instead.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

inline constexpr std::string_view zimbra_draft_tag = "Draft (Cyrus)";

// A keyword as a Zimbra tag name (Tag.validateItemName): control characters, ':' and '\'
// become '_', trailing and leading blanks go, at most 255 UTF-16 units, never empty.
std::string zimbra_tag_name(std::string_view keyword);

// A value usable inside a quoted Zimbra query term and a quoted zmmailbox argument without
// any escape: not empty, no '"', '\', whitespace or control character.
bool searchable(std::string_view value);

std::string zmm_quote(std::string_view arg);
std::string zmm_create_tag(std::string_view tag);
// view: "message", "appointment", "contact" (O_VIEW's values).
std::string zmm_create_folder(std::string_view folder_path, std::string_view view);
// Finds the `count` messages with Message-ID `msgid` (brackets removed) in `folder_path`.
std::string zmm_search(std::string_view folder_path, std::string_view msgid, std::size_t count);
std::string zmm_modify_flags(std::size_t count, std::string_view flags);
std::string zmm_tag(std::size_t count, std::string_view tag);

// The read-back of a message group after its flags were set: the search of zmm_search narrowed
// by the state the messages must have (BuiltInQuery's is:flagged, is:replied, is:forwarded,
// is:read / is:unread, and tag:"T" per tag), so it finds all `count` messages only when every
// flag and tag stuck. `letters` as for zmm_modify_flags ('x' and 'u' are not searched for: a
// \Deleted item is hidden from zmmailbox's search, and read state is `seen`). Tags must be
// searchable inside quotes (no '"' or '\').
std::string zmm_check(std::string_view folder_path, std::string_view msgid, std::size_t count, std::string_view letters,
                      bool seen, const std::vector<std::string>& tags);
// Whether a tag name can go into zmm_check's query without an escape.
bool checkable_tag(std::string_view tag);

}  // namespace cyrconv
