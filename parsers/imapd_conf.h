#pragma once
// imapd.conf as Cyrus's lib/libconfig.c reads it: one `key: value` per line, keys lower-cased,
// blank lines and lines starting with '#' ignored, booleans yes/on/true/t/1 and no/off/false/f/0.
// Only the settings that say where a store lives and how its names read are kept.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parsers/parse_result.h"

namespace cyrconv {

struct ImapdConf {
  std::vector<std::pair<std::string, std::string>> partitions;          // partition-NAME: path as written
  std::vector<std::pair<std::string, std::string>> archive_partitions;  // archivepartition-NAME: path
  std::optional<std::string> configdirectory;
  std::optional<bool> unixhierarchysep, altnamespace, hashimapspool, fulldirhash;
  std::optional<std::string> virtdomains;  // "off", "userid", "on" (yes/no read as userid/off)
  std::vector<std::string> ignored;        // lines not followed, "line N: why" (@include, bad values)
};

// A malformed line (no ':' after a key) is an error naming its line's offset; a known key with an
// unusable value is listed in `ignored` and left unset.
Result<ImapdConf> parse_imapd_conf(std::string_view text, std::string_view file);

}  // namespace cyrconv
