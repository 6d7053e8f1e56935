// Quota values (docs/cyrus-on-disk.md 7.4): the historical "USED LIMIT [NAME USED LIMIT]..."
// numbers (lines or spaces) and the newer dlist %(S (USED LIMIT) M (...) AS (...) NF (...)).
#include "parsers/quota.h"

#include <charconv>
#include <string>
#include <vector>

#include "parsers/dlist.h"

namespace cyrconv {

namespace {

bool to_int64(std::string_view s, std::int64_t& out) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

std::optional<std::int64_t> limit_of(std::int64_t v) {
  if (v < 0) return std::nullopt;  // -1 (QUOTA_UNLIMITED) means no limit
  return v;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// Resource slot for a name used in either form: S, M, AS, NF (case-insensitive, as Cyrus).
std::optional<QuotaResource>* slot(QuotaValue& q, std::optional<QuotaResource>& storage, std::string_view name) {
  if (iequals(name, "S")) return &storage;
  if (iequals(name, "M")) return &q.messages;
  if (iequals(name, "AS")) return &q.annotation_storage;
  if (iequals(name, "NF")) return &q.folders;
  return nullptr;
}

struct Token { std::string_view text; std::uint64_t offset; };

Result<QuotaValue> parse_numbers(Bytes value, std::string_view file) {
  std::vector<Token> t;
  for (std::size_t i = 0; i < value.size();) {
    if (value[i] == ' ' || value[i] == '\n' || value[i] == '\r' || value[i] == '\t') { ++i; continue; }
    const std::size_t s = i;
    while (i < value.size() && !(value[i] == ' ' || value[i] == '\n' || value[i] == '\r' || value[i] == '\t')) ++i;
    t.push_back({value.substr(s, i - s), s});
  }
  QuotaValue q;
  std::optional<QuotaResource> storage;
  std::optional<QuotaResource>* target = &storage;
  std::size_t i = 0;
  while (true) {
    if (i + 2 > t.size())
      return parse_error(file, i < t.size() ? t[i].offset : value.size(), "expected USED and LIMIT numbers in quota value");
    QuotaResource r;
    std::int64_t limit = 0;
    if (!to_int64(t[i].text, r.used)) return parse_error(file, t[i].offset, "expected decimal USED in quota value");
    if (!to_int64(t[i + 1].text, limit)) return parse_error(file, t[i + 1].offset, "expected decimal LIMIT in quota value");
    r.limit = limit_of(limit);
    *target = r;
    i += 2;
    std::int64_t scratch = 0;
    if (i < t.size() && to_int64(t[i].text, scratch)) ++i;  // leftover of an interrupted "quota -f"
    if (i == t.size()) break;
    target = slot(q, storage, t[i].text);
    if (!target || target == &storage)
      return parse_error(file, t[i].offset, "expected a quota resource name (M, AS or NF), found '" + std::string(t[i].text) + "'");
    ++i;
  }
  q.storage = *storage;
  return q;
}

}  // namespace

Result<QuotaValue> parse_quota_value(Bytes value, std::string_view file) {
  if (value.empty() || value[0] != '%') return parse_numbers(value, file);
  auto dl = parse_dlist(value, file);
  if (!dl) return dl.error();
  const DlistValue& root = dl.value();
  if (root.kind != DlistValue::Kind::kvlist) return parse_error(file, 0, "expected a %(...) quota kvlist");
  QuotaValue q;
  std::optional<QuotaResource> storage;
  for (std::size_t k = 0; k < root.keys.size(); ++k) {
    std::optional<QuotaResource>* target = slot(q, storage, root.keys[k]);
    if (!target) continue;  // MODSEQ, SCAN and future keys are not needed
    const DlistValue& item = root.items[k];
    if (item.kind != DlistValue::Kind::list || item.items.empty() || item.items[0].kind != DlistValue::Kind::string)
      return parse_error(file, 0, "quota resource " + root.keys[k] + ": expected (USED LIMIT)");
    QuotaResource r;
    if (!to_int64(item.items[0].text, r.used)) return parse_error(file, 0, "quota resource " + root.keys[k] + ": USED is not a number");
    if (item.items.size() >= 2 && item.items[1].kind == DlistValue::Kind::string) {
      std::int64_t limit = 0;
      if (!to_int64(item.items[1].text, limit)) return parse_error(file, 0, "quota resource " + root.keys[k] + ": LIMIT is not a number");
      r.limit = limit_of(limit);
    }
    *target = r;
  }
  if (storage) q.storage = *storage;
  return q;
}

}  // namespace cyrconv
