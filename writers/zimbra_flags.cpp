#include "writers/zimbra_flags.h"

namespace cyrconv {

namespace {

std::string hits(std::size_t count) { return count <= 1 ? "#1" : "#1-" + std::to_string(count); }

std::size_t utf16_units(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;   // one per code point
    if ((c & 0xF8) == 0xF0) ++n;   // four-byte sequences are surrogate pairs
  }
  return n;
}

}  // namespace

std::string zimbra_tag_name(std::string_view keyword) {
  std::string out;
  for (unsigned char c : keyword) out += (c < 0x20 || c == 0x7f || c == ':' || c == '\\') ? '_' : static_cast<char>(c);
  while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
  std::size_t b = 0;
  while (b < out.size() && (out[b] == ' ' || out[b] == '\t')) ++b;
  out.erase(0, b);
  while (utf16_units(out) > 255) {
    out.pop_back();
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0xC0) out.pop_back();
  }
  return out.empty() ? "_" : out;
}

bool searchable(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '\\') return false;
  return true;
}

std::string zmm_quote(std::string_view arg) {
  std::string out = "\"";
  for (char c : arg) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string zmm_create_tag(std::string_view tag) { return "createTag " + zmm_quote(tag) + "\n"; }

std::string zmm_create_folder(std::string_view folder_path, std::string_view view) {
  return "createFolder -V " + std::string(view) + " " + zmm_quote("/" + std::string(folder_path)) + "\n";
}

std::string zmm_search(std::string_view folder_path, std::string_view msgid, std::size_t count) {
  const std::string query = "in:\"/" + std::string(folder_path) + "\" msgid:\"" + std::string(msgid) + "\"";
  return "search -t message -l " + std::to_string(count) + " " + zmm_quote(query) + "\n";
}

std::string zmm_modify_flags(std::size_t count, std::string_view flags) {
  return "modifyItemFlags " + zmm_quote(hits(count)) + " " + zmm_quote(flags) + "\n";
}

std::string zmm_check(std::string_view folder_path, std::string_view msgid, std::size_t count, std::string_view letters,
                      bool seen, const std::vector<std::string>& tags) {
  std::string query = "in:\"/" + std::string(folder_path) + "\" msgid:\"" + std::string(msgid) + "\"";
  for (char c : letters) {
    if (c == 'f') query += " is:flagged";
    if (c == 'r') query += " is:replied";
    if (c == 'w') query += " is:forwarded";
  }
  query += seen ? " is:read" : " is:unread";
  for (const auto& t : tags) query += " tag:\"" + t + "\"";
  return "search -t message -l " + std::to_string(count) + " " + zmm_quote(query) + "\n";
}

bool checkable_tag(std::string_view tag) {
  for (unsigned char c : tag)
    if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') return false;
  return !tag.empty();
}

std::string zmm_tag(std::size_t count, std::string_view tag) {
  return "tagMessage " + zmm_quote(hits(count)) + " " + zmm_quote(tag) + " 1\n";
}

}  // namespace cyrconv
