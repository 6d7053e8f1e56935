#pragma once
// Cyrus's "dlist" text syntax (2.5+): kvlists %(k v ...), lists (v ...), NIL, atoms,
// quoted strings and {n} literals. Used by 3.6+ cyrus.header and mailboxes.db values.
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct DlistValue {
  enum class Kind { nil, string, list, kvlist };
  Kind kind = Kind::nil;
  std::string text;                // Kind::string
  std::vector<std::string> keys;   // Kind::kvlist: keys, parallel to items
  std::vector<DlistValue> items;   // Kind::list items or Kind::kvlist values

  // The value of `key` in a kvlist, or nullptr (also when this is not a kvlist).
  const DlistValue* find(std::string_view key) const;
  // The string value of `key`, or "" when absent, NIL or not a string.
  std::string_view string_at(std::string_view key) const;
};

// Parses one dlist value from the start of `text`. `base_offset` is added to offsets in errors
// (the position of `text` inside `file`). Trailing bytes after the value (e.g. LF) are allowed.
Result<DlistValue> parse_dlist(Bytes text, std::string_view file, std::uint64_t base_offset = 0);

}  // namespace cyrconv
