#include "converter/verify/maildir_listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

#include "converter/source/source_io.h"
#include "converter/verify/output_reader.h"

namespace cyrconv::verify {

std::uint64_t base_hash(std::string_view base) { return std::hash<std::string_view>{}(base); }

void UidlistIndex::feed(std::string_view chunk) {
  std::size_t at = 0;
  while (at < chunk.size()) {
    const std::size_t eol = chunk.find('\n', at);
    if (eol == std::string_view::npos) {
      pending_.append(chunk.substr(at));
      return;
    }
    if (pending_.empty()) {
      take_line(chunk.substr(at, eol - at));
    } else {
      pending_.append(chunk.substr(at, eol - at));
      take_line(pending_);
      pending_.clear();
    }
    at = eol + 1;
  }
}

void UidlistIndex::take_line(std::string_view l) {
  if (++line_no_ == 1) {
    header_ = std::string(l) + "\n";  // the header alone, as parse_dovecot_uidlist reads it
    return;
  }
  if (l.empty()) return;
  const auto entry = parse_uidlist_entry(l);
  if (!entry) {
    line_errors_.emplace_back(line_no_, "line " + std::to_string(line_no_) + ": not '<uid> :<file name>'");
    return;
  }
  if (!entries_.empty() && entry->uid <= entries_.back().uid) sorted_ = false;  // also a UID twice
  Entry e;
  e.base_at = bases_.append(entry->base);
  e.hash = base_hash(entry->base);
  e.uid = entry->uid;
  e.base_size = static_cast<std::uint32_t>(entry->base.size());
  e.matched = 0;
  entries_.push_back(e);
  entry_lines_.push_back(static_cast<std::uint32_t>(line_no_));
}

void UidlistIndex::finish() {
  if (!pending_.empty()) take_line(pending_);
  pending_.clear();
  const ParsedUidlist head = parse_dovecot_uidlist(line_no_ ? header_ : std::string());
  version = head.version;
  uidvalidity = head.uidvalidity;
  uidnext = head.uidnext;
  errors = head.errors;
  // Out of order (not as convert writes it): sorted here; the first line of a UID wins, later
  // ones are "listed twice" (in order, as convert writes it, no two entries have one UID).
  if (!sorted_) {
    std::vector<std::size_t> idx(entries_.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return entries_[a].uid < entries_[b].uid; });
    std::vector<Entry> sorted;
    for (std::size_t i : idx) {
      const Entry& e = entries_[i];
      if (!sorted.empty() && sorted.back().uid == e.uid) {
        const std::size_t line = entry_lines_[i];
        line_errors_.emplace_back(line, "line " + std::to_string(line) + ": UID " + std::to_string(e.uid) + " listed twice");
        continue;
      }
      sorted.push_back(e);
    }
    entries_ = std::move(sorted);
    std::stable_sort(line_errors_.begin(), line_errors_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  entry_lines_ = {};
  for (auto& [line, text] : line_errors_) errors.push_back(std::move(text));
  line_errors_ = {};
  entries_.shrink_to_fit();
}

UidlistIndex::Entry* UidlistIndex::find(std::uint32_t uid) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), uid, [](const Entry& e, std::uint32_t u) { return e.uid < u; });
  return it != entries_.end() && it->uid == uid ? &*it : nullptr;
}

std::string UidlistIndex::base(const Entry& e) const {
  bases_.read(e.base_at, e.base_size, buffer_);
  return buffer_;
}

std::string CurListing::list(const std::filesystem::path& dir) {
  std::string error = for_each_directory_entry(dir, [this](std::string_view name, DirEntry::Type type) {
    if (type != DirEntry::Type::file) return;
    const std::string_view base = name.substr(0, name.find(':'));
    entries_.push_back(Entry{base_hash(base), names_.append(name), static_cast<std::uint32_t>(name.size()),
                             static_cast<std::uint32_t>(base.size())});
  });
  if (!error.empty()) return error;
  // By hash, and within one hash by name; of equal bases only the first name stays.
  std::sort(entries_.begin(), entries_.end(), [&](const Entry& a, const Entry& b) {
    if (a.hash != b.hash) return a.hash < b.hash;
    return name(a) < name(b);
  });
  // In place (no second vector of a folder's entries): entries_[0, kept) are the kept ones.
  std::size_t kept = 0;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    bool repeated = false;
    for (std::size_t j = kept; j-- > 0 && entries_[j].hash == entries_[i].hash && !repeated;) {
      const std::string a = name(entries_[j]), b = name(entries_[i]);
      repeated = std::string_view(a).substr(0, entries_[j].base_size) == std::string_view(b).substr(0, entries_[i].base_size);
    }
    if (!repeated) entries_[kept++] = entries_[i];
  }
  entries_.resize(kept);
  return {};
}

std::optional<std::string> CurListing::find(std::string_view base) const {
  const std::uint64_t h = base_hash(base);
  auto it = std::lower_bound(entries_.begin(), entries_.end(), h, [](const Entry& e, std::uint64_t v) { return e.hash < v; });
  for (; it != entries_.end() && it->hash == h; ++it) {
    std::string n = name(*it);
    if (std::string_view(n).substr(0, it->base_size) == base) return n;
  }
  return std::nullopt;
}

std::string CurListing::name(const Entry& e) const {
  std::string out;
  names_.read(e.name_at, e.name_size, out);
  return out;
}

}  // namespace cyrconv::verify
