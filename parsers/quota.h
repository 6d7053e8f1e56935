#pragma once
// Quota values (quotalegacy files and quotas.db): old "USED\nLIMIT" numbers or the newer
// dlist %(S (USED LIMIT) M (...) AS (...) NF (...)). Limits in KiB for storage; -1 = none.
#include <cstdint>
#include <optional>

#include "parsers/bytes.h"
#include "parsers/parse_result.h"

namespace cyrconv {

struct QuotaResource {
  std::int64_t used = 0;
  std::optional<std::int64_t> limit;  // nullopt = unlimited
};
struct QuotaValue {
  QuotaResource storage;              // used in bytes, limit in KiB
  std::optional<QuotaResource> messages;
  std::optional<QuotaResource> annotation_storage;
  std::optional<QuotaResource> folders;
};
Result<QuotaValue> parse_quota_value(Bytes value, std::string_view file);

}  // namespace cyrconv
