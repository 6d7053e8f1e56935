#pragma once
// A Maildir folder's dovecot-uidlist and cur/ listing for verify, held compactly: per message a
// fixed-size entry in memory (24 bytes) and its name in a scratch file (scratch_store.h), so a
// folder of a million messages costs tens of MB, not hundreds (issue 25). Lookups by UID
// (uidlist) and by base name (cur/) read the name back and compare it exactly.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "converter/verify/scratch_store.h"

namespace cyrconv::verify {

// dovecot-uidlist read as a stream, with the header values and errors parse_dovecot_uidlist
// gives for the same text (output_reader.h).
class UidlistIndex {
 public:
  struct Entry {
    std::uint64_t base_at = 0;  // in the scratch store
    std::uint64_t hash = 0;     // of the base
    std::uint32_t uid = 0;
    std::uint32_t base_size : 31;
    std::uint32_t matched : 1;  // a source message looked for it
  };
  void reserve(std::size_t entries) { entries_.reserve(entries), entry_lines_.reserve(entries); }  // as expected
  void feed(std::string_view chunk);
  void finish();  // after the last chunk: errors in line order, entries by UID (first of a UID wins)

  std::uint32_t version = 0, uidvalidity = 0, uidnext = 0;
  std::vector<std::string> errors;

  Entry* find(std::uint32_t uid);
  std::string base(const Entry& e) const;
  std::vector<Entry>& entries() { return entries_; }  // by UID

 private:
  void take_line(std::string_view line);
  ScratchStore bases_;
  std::vector<Entry> entries_;
  std::vector<std::uint32_t> entry_lines_;  // line of each entry, until finish()
  std::vector<std::pair<std::size_t, std::string>> line_errors_;  // (line number, text)
  std::string pending_, header_;
  std::size_t line_no_ = 0;
  bool sorted_ = true;
  mutable std::string buffer_;
};

// The regular files of cur/ by base name (the name up to ':'); of several files with one base
// the first by name counts, as in a sorted listing.
class CurListing {
 public:
  struct Entry {
    std::uint64_t hash = 0;  // of the base
    std::uint64_t name_at = 0;
    std::uint32_t name_size = 0;
    std::uint32_t base_size = 0;
  };
  // "" or "<dir>: cannot list directory: ..." (list_directory's words).
  std::string list(const std::filesystem::path& dir);
  void reserve(std::size_t entries) { entries_.reserve(entries); }  // as many as expected, before list()
  // The file name of `base`, if cur/ has one.
  std::optional<std::string> find(std::string_view base) const;
  std::string name(const Entry& e) const;
  const std::vector<Entry>& entries() const { return entries_; }  // by hash of the base

 private:
  ScratchStore names_;
  std::vector<Entry> entries_;
};

std::uint64_t base_hash(std::string_view base);

}  // namespace cyrconv::verify
