#pragma once
// What the message passes of convert, convert --format zimbra-tgz and audit share: the read
// buffer's size and the text kept beside a quarantined or repaired message's original.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "writers/report_model.h"

namespace cyrconv {

// Each worker's buffer for streaming message files (and prefetching them).
inline constexpr std::size_t read_buffer_size = 256 * 1024;

// The `.reason` file beside a kept original: UID, source file, action, reason, changes, findings.
std::string quarantine_reason_text(std::uint32_t uid, const std::filesystem::path& source, const AuditMessage& m);

}  // namespace cyrconv
