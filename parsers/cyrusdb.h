#pragma once
// cyrusdb files read-only: flat text, skiplist and twoskip (mailboxes.db, seen, subscriptions,
// quotas.db). Format detected by magic, never taken from configuration.
// Layouts: ../shared/docs/cyrus-on-disk.md section 8.
#include <string>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

enum class CyrusDbFormat { flat, skiplist, twoskip, berkeley, sqlite, empty };
const char* to_string(CyrusDbFormat);
CyrusDbFormat detect_cyrusdb_format(Bytes data);

struct DbRecord {
  std::string key;
  std::string value;
};

struct CyrusDb {
  CyrusDbFormat format = CyrusDbFormat::flat;
  std::vector<DbRecord> records;      // committed records only, in the file's key order
  std::vector<ParseError> warnings;   // e.g. an uncommitted tail that was ignored
};

// Dispatches on detect_cyrusdb_format; Berkeley DB and SQLite are refused with a ParseError.
Result<CyrusDb> read_cyrusdb(Bytes data, std::string_view file);
Result<CyrusDb> read_flat_db(Bytes data, std::string_view file);      // with 2.5+ 0xFF unescaping
Result<CyrusDb> read_skiplist_db(Bytes data, std::string_view file);
Result<CyrusDb> read_twoskip_db(Bytes data, std::string_view file);

}  // namespace cyrconv
