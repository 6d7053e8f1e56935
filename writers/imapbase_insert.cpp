#include "writers/imapbase_insert.h"

#include <algorithm>

namespace cyrconv {

namespace {
constexpr std::string_view needle = "\nX-UID: ";
}

WriteStatus ImapbaseInserter::feed(std::string_view chunk) {
  if (inserted_) return out_(chunk);
  carry_.append(chunk);
  const std::size_t at = carry_.find(needle);
  if (at == std::string::npos) {
    // Keep what could still be the start of the needle.
    const std::size_t keep = std::min(carry_.size(), needle.size() - 1);
    if (auto w = out_(std::string_view(carry_).substr(0, carry_.size() - keep)); !w) return w;
    consumed_ += carry_.size() - keep;
    carry_.erase(0, carry_.size() - keep);
    return {};
  }
  if (auto w = out_(std::string_view(carry_).substr(0, at + 1)); !w) return w;
  inserted_at_ = consumed_ + at + 1;
  inserted_ = true;
  if (auto w = out_(line_); !w) return w;
  const WriteStatus w = out_(std::string_view(carry_).substr(at + 1));
  carry_.clear();
  return w;
}

WriteStatus ImapbaseInserter::finish() {
  if (carry_.empty()) return {};
  const WriteStatus w = out_(carry_);
  carry_.clear();
  return w;
}

}  // namespace cyrconv
