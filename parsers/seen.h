#pragma once
// Seen state: UID sets, 2.0+ seen database values, and the 1.x per-mailbox cyrus.seen file.
#include <cstdint>
#include <string>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/cyrusdb.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct UidRange {
  std::uint32_t first = 0;
  std::uint32_t last = 0;  // inclusive
  bool operator==(const UidRange&) const = default;
};
struct UidSet {
  std::vector<UidRange> ranges;  // ascending, as Cyrus writes them
  bool contains(std::uint32_t uid) const;
};
// "1:16239,16241:17015,17019"; empty text is the empty set. `offset` locates text in `file`.
Result<UidSet> parse_uid_set(std::string_view text, std::string_view file, std::uint64_t offset = 0);

struct SeenEntry {
  std::string key;            // seen DB: mailbox unique id; cyrus.seen: user id
  std::uint32_t lastread = 0;
  std::uint32_t lastuid = 0;  // UIDs above it were \Recent for that user
  std::uint32_t lastchange = 0;
  UidSet seen;
};
// A 2.0+ seen DB value: "1 LASTREAD LASTUID LASTCHANGE SEENUIDS".
Result<SeenEntry> parse_seen_value(std::string_view key, std::string_view value, std::string_view file);
// Every record of a per-user seen DB (records from read_cyrusdb).
Result<std::vector<SeenEntry>> parse_seen_db(const std::vector<DbRecord>& records, std::string_view file);
// 1.x cyrus.seen: "USER TAB LASTREAD SP LASTUID [SP LASTCHANGE] SP SEENUIDS <pad> LF" lines.
Result<std::vector<SeenEntry>> parse_cyrus_seen_file(Bytes data, std::string_view file);

}  // namespace cyrconv
