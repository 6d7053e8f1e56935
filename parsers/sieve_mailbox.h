#pragma once
// A Sieve script as Cyrus 3.6+ stores it: one message in the user's `#sieve` mailbox (mbtype
// 'f'), written by timsieved/JMAP with a CRLF header (Subject: the script name, Content-Type
// application/sieve) and the script source as the body, with the line ends it was uploaded
// with (bare LF in practice). The bytecode in sievedir is derived from it and not needed.
#include <string>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct SieveScriptMessage {
  std::string name;     // Subject (unfolded, trimmed)
  std::string content;  // the body, CRLF turned into LF
};

Result<SieveScriptMessage> parse_sieve_script_message(Bytes message, std::string_view file);

}  // namespace cyrconv
