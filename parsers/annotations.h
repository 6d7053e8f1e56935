#pragma once
// Cyrus annotation records (RFC 5464 METADATA): the global annotations.db (mailbox and server
// entries) and the per-mailbox cyrus.annotations (message entries), from cyrusdb records.
//
// Key:   FIRST NUL ENTRY NUL USERID NUL
//        FIRST is, in annotations.db, the mailbox unique id (3.6+; checked against real files and
//        imap/annotate.c make_key) or the internal mailbox name (before 3.6); "" for server
//        entries. In cyrus.annotations it is the message UID in decimal.
//        ENTRY has no /shared or /private prefix ("/specialuse", "/comment", "/vendor/...").
//        USERID is "" for a shared value, a user id for that user's private value, and in 3.6+
//        "[.OwNeR.]" for the mailbox owner's private value.
// Value: LENGTH VALUE NUL CONTENT-TYPE NUL MODIFIEDSINCE [MODSEQ FLAGS]
//        LENGTH and MODIFIEDSINCE are a C `unsigned long` holding htonl(n): 8 bytes on 64-bit
//        hosts (big-endian n then 4 zero bytes on little-endian ones), 4 on 32-bit hosts; the
//        width is detected per record. MODSEQ is 8 bytes big-endian; FLAGS bit 0 = deleted.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/bytes.h"
#include "parsers/cyrusdb.h"
#include "parsers/parse_result.h"

namespace cyrconv {

inline constexpr std::string_view kAnnotationOwnerUserid = "[.OwNeR.]";

struct Annotation {
  std::string mailbox;       // unique id (3.6+), internal name (older), UID (cyrus.annotations), "" = server
  std::string entry;         // "/specialuse", "/comment", ...
  std::string userid;        // "" = shared; kAnnotationOwnerUserid = the owner's private value (3.6+)
  std::string value;         // empty for a deleted entry
  std::uint64_t modseq = 0;  // 0 when the record has none (written before 2.5)
  bool deleted = false;      // tombstone kept for replication (FLAGS bit 0); Cyrus does not serve it
  bool shared() const { return userid.empty(); }
  bool owner_private() const { return userid == kAnnotationOwnerUserid; }
};

struct AnnotationsDb {
  std::vector<Annotation> entries;      // in the file's key order, deleted ones included
  std::vector<ParseError> bad_entries;  // records that could not be read; the rest still are
};

// One record (key and value as stored).
Result<Annotation> parse_annotation_record(Bytes key, Bytes value, std::string_view file);
// Every record of annotations.db or cyrus.annotations (records from read_cyrusdb). Fails only
// when there are records and none could be read.
Result<AnnotationsDb> parse_annotations_db(const std::vector<DbRecord>& records, std::string_view file);

}  // namespace cyrconv
