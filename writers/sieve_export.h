#pragma once
// Rewrites the folder names a Sieve script (RFC 5228) files into, for scripts moved to a
// server whose folder names differ: the mailbox argument of `fileinto` and the `:fcc` argument
// (RFC 8580, e.g. of `vacation`). Only those string tokens change; every other byte of the
// script is kept. A small lexer (comments, quoted and multi-line strings, tags, numbers) finds
// them; a script it cannot tokenize, or whose fileinto it cannot read unambiguously, is
// reported unsafe and must be copied unchanged.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cyrconv {

struct SieveFolderRewrite {
  std::size_t line = 0;     // 1-based line of the string
  std::string command;      // "fileinto", "vacation :fcc"
  std::string from, to;     // the folder name before and after (string values, unescaped)
};

struct SieveRewriteResult {
  bool safe = true;         // false: `script` is the input unchanged; `error` says why
  std::string error;
  std::string script;
  std::vector<SieveFolderRewrite> rewrites;
  std::vector<SieveFolderRewrite> unresolved;  // folder names map_folder did not know (kept)
};

// `map_folder(name)`: the new name of the folder the script calls `name`, or nullopt when it
// names no known folder (left as written and listed in `unresolved`).
SieveRewriteResult rewrite_sieve_folders(std::string_view script,
                                         const std::function<std::optional<std::string>(std::string_view)>& map_folder);

}  // namespace cyrconv
