#pragma once
// What the message passes of convert, convert --format zimbra-tgz and audit share: the read
// buffer's size, the decision for a message whose file is missing, and the text kept beside a
// quarantined or repaired message's original.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "converter/plan/message_policy.h"
#include "converter/source/inventory.h"
#include "converter/source/prefetch.h"
#include "parsers/message_check.h"
#include "writers/manifest.h"
#include "writers/output_file.h"
#include "writers/report_model.h"

namespace cyrconv {

// Each worker's buffer for streaming message files (and prefetching them).
inline constexpr std::size_t read_buffer_size = 256 * 1024;

// Per-thread reusable state of a message pass: no heap work per message once warm. `encoded`
// and `message_file` are the writing passes' (audit writes nothing).
// A source message as convert and zimbra-tgz describe it before reading it: its file, and (into
// `me`) the file, flags, INTERNALDATE, size and keywords its record gives. An orphan (`r` null)
// takes its INTERNALDATE from the file's mtime, which Cyrus set to it on append.
struct SourceMessage {
  std::filesystem::path path;
  std::uint32_t flags = 0;
  std::int64_t internaldate = 0;
};
SourceMessage describe_source_message(const MailboxRef& source, const MailboxInventory& inv, const IndexRecord* r,
                                      std::uint32_t source_uid, ManifestEntry& me);

struct Worker {
  explicit Worker(MessageCheckOptions o) : checker(o), buffer(read_buffer_size) {}
  MessageChecker checker;
  std::vector<char> buffer;
  std::string encoded;
  OutputFile message_file;
  Prefetcher prefetch;  // --io-depth: the next message files, read ahead
};

// A live record whose message file is missing: "missing" (or "fail" under --on-corrupt fail),
// with the inventory's finding when it has one, else the standard one.
AuditMessage missing_file_message(std::uint32_t uid, const std::string& file, OnCorrupt on_corrupt,
                                  const Finding* found = nullptr);

// The `.reason` file beside a kept original: UID, source file, action, reason, changes, findings.
std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m);

}  // namespace cyrconv
