#include "converter/source/spool_layout.h"

#include <cstdint>

namespace cyrconv {

namespace fs = std::filesystem;

char dir_hash_simple(std::string_view s) {
  if (s.empty()) return 'q';
  const unsigned char c = static_cast<unsigned char>(s[0]);
  if (c >= 'A' && c <= 'Z') return static_cast<char>(c - 'A' + 'a');
  if (c >= 'a' && c <= 'z') return static_cast<char>(c);
  return 'q';
}

char dir_hash_full(std::string_view s) {
  std::uint32_t n = 0;
  for (unsigned char b : s) {
    if (b == '.') break;
    n = ((n << 3) ^ (n >> 5)) ^ b;
  }
  return static_cast<char>('A' + n % 23);
}

namespace {

// Cyrus hashes the part of the internal name after the first '.', or the whole name.
std::string hash_input(const MailboxName& name) {
  if (name.parts.size() >= 2) return name.parts[1];
  return name.parts.empty() ? std::string() : name.parts[0];
}

std::string disk_component(const std::string& part) {
  std::string s = part;
  for (char& c : s)
    if (c == '.') c = '^';  // unixhierarchysep stores a literal '.' as '^'
  return s;
}

fs::path domain_prefix(const fs::path& root, const std::string& domain, char hash) {
  if (domain.empty()) return root;
  if (hash == 0) return root / "domain" / domain;
  return root / "domain" / std::string(1, hash) / domain;
}

}  // namespace

std::vector<fs::path> legacy_mailbox_dirs(const fs::path& root, const MailboxName& name) {
  std::vector<fs::path> out;
  const std::string h = hash_input(name);
  fs::path rel;
  for (const auto& p : name.parts) rel /= disk_component(p);
  // 2.x hashed "john^doe" whole; 3.x hashes "john.doe" up to the dot.
  const char hashes[] = {dir_hash_simple(h), dir_hash_full(disk_component(h)), dir_hash_full(h), 0};
  for (char hash : hashes) {
    fs::path base = domain_prefix(root, name.domain, hash == 0 ? 0
                                                     : (hash >= 'A' && hash <= 'W') ? dir_hash_full(name.domain)
                                                                                    : dir_hash_simple(name.domain));
    fs::path p = hash == 0 ? base / rel : base / std::string(1, hash) / rel;
    bool dup = false;
    for (const auto& q : out) dup = dup || q == p;
    if (!dup) out.push_back(p);
  }
  return out;
}

fs::path uuid_mailbox_dir(const fs::path& root, std::string_view id) {
  if (id.size() < 2) return root / "uuid" / std::string(id);
  return root / "uuid" / std::string(1, id[0]) / std::string(1, id[1]) / std::string(id);
}

namespace {

bool is_hash_letter_for(const std::string& letter, const std::vector<std::string>& tail) {
  if (letter.size() != 1 || tail.empty()) return false;
  const std::string& s = tail.size() >= 2 ? tail[1] : tail[0];
  std::string dotted = s;
  for (char& c : dotted)
    if (c == '^') c = '.';
  const char l = letter[0];
  return l == dir_hash_simple(s) || l == dir_hash_full(s) || l == dir_hash_full(dotted);
}

}  // namespace

std::optional<MailboxName> name_from_legacy_path(const std::vector<std::string>& comps) {
  MailboxName name;
  std::size_t i = 0;
  if (!comps.empty() && comps[0] == "domain") {
    if (comps.size() >= 3 && comps[1].size() == 1 && comps.size() >= 4 &&
        (comps[1][0] == dir_hash_simple(comps[2]) || comps[1][0] == dir_hash_full(comps[2]))) {
      name.domain = comps[2];
      i = 3;
    } else if (comps.size() >= 3) {
      name.domain = comps[1];
      i = 2;
    } else {
      return std::nullopt;
    }
  }
  std::vector<std::string> rest(comps.begin() + static_cast<std::ptrdiff_t>(i), comps.end());
  if (rest.size() >= 2 && is_hash_letter_for(rest[0], {rest.begin() + 1, rest.end()})) rest.erase(rest.begin());
  if (rest.empty()) return std::nullopt;
  for (auto& part : rest) {
    for (char& c : part)
      if (c == '^') c = '.';
    name.parts.push_back(part);
  }
  return name;
}

std::vector<fs::path> user_db_candidates(const fs::path& config, const MailboxName& inbox,
                                         std::string_view inbox_id, std::string_view legacy_suffix,
                                         std::string_view uuid_file) {
  std::vector<fs::path> out;
  if (!inbox_id.empty() && inbox_id.size() >= 2) {
    const fs::path rel = fs::path(std::string(1, inbox_id[0])) / std::string(1, inbox_id[1]) / std::string(inbox_id);
    out.push_back(config / "user" / "uuid" / rel / std::string(uuid_file));
    out.push_back(config / "uuid" / rel / std::string(uuid_file));
  }
  if (inbox.parts.size() < 2) return out;
  const std::string& user = inbox.parts[1];  // external form: "john.doe"
  const std::string file = user + std::string(legacy_suffix);
  for (char h : {dir_hash_simple(user), dir_hash_full(user)}) {
    fs::path base = config;
    if (!inbox.domain.empty()) {
      const char d = (h >= 'A' && h <= 'W') ? dir_hash_full(inbox.domain) : dir_hash_simple(inbox.domain);
      base = config / "domain" / std::string(1, d) / inbox.domain;
    }
    out.push_back(base / "user" / std::string(1, h) / file);
  }
  out.push_back(config / "user" / file);  // 1.x: unhashed
  return out;
}

}  // namespace cyrconv
