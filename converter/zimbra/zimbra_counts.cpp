#include "converter/zimbra/zimbra_counts.h"

#include <charconv>
#include <nlohmann/json.hpp>

namespace cyrconv {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// The next blank-separated word of `s` (consumed), "" at the end.
std::string_view word(std::string_view& s) {
  s = trim(s);
  const auto end = s.find(' ');
  std::string_view w = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return w;
}

bool number(std::string_view w, std::int64_t& n) {
  auto r = std::from_chars(w.data(), w.data() + w.size(), n);
  return r.ec == std::errc() && r.ptr == w.data() + w.size();
}

void walk_json(const nlohmann::json& f, ZimbraFolderCounts& out) {
  if (!f.is_object()) return;
  if (f.contains("path") && f["path"].is_string()) {
    const char* key = f.contains("itemCount") ? "itemCount" : "messageCount";
    if (f.contains(key) && f[key].is_number_integer() && f[key].get<std::int64_t>() >= 0)
      out[f["path"].get<std::string>()] = f[key].get<std::uint64_t>();
  }
  if (f.contains("subFolders") && f["subFolders"].is_array())
    for (const auto& c : f["subFolders"]) walk_json(c, out);
}

}  // namespace

Result<ZimbraFolderCounts> parse_zimbra_folder_listing(std::string_view text, const std::string& file) {
  ZimbraFolderCounts out;
  if (!trim(text).empty() && trim(text).front() == '{') {
    auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return parse_error(file, 0, "getAllFolders -v output that is not JSON");
    walk_json(j, out);
    if (out.empty()) return parse_error(file, 0, "getAllFolders -v output without a folder \"path\" and \"itemCount\"");
    return out;
  }
  std::uint64_t offset = 0;
  bool header = false;
  while (offset < text.size()) {
    const auto nl = text.find('\n', offset);
    const std::string_view line = text.substr(offset, nl == std::string_view::npos ? std::string_view::npos : nl - offset);
    const std::uint64_t at = offset;
    offset = nl == std::string_view::npos ? text.size() : nl + 1;
    std::string_view rest = line;
    const std::string_view id = word(rest);
    if (id.empty()) continue;
    if (id == "Id" || id.find_first_not_of('-') == std::string_view::npos) {
      header = true;
      continue;
    }
    const std::string_view view = word(rest);
    std::int64_t unread = 0, count = 0;
    const bool ok = !view.empty() && number(word(rest), unread) && number(word(rest), count) && count >= 0;
    // The path: everything after the two blanks that follow the count (it may hold blanks).
    const std::string_view path = rest.size() > 2 ? rest.substr(2) : std::string_view();
    if (!ok || path.empty() || path.front() != '/')
      return parse_error(file, at,
                         "expected a getAllFolders row (id, view, unread, count, /path), found \"" + std::string(line) + "\"");
    std::string p(path);
    while (!p.empty() && p.back() == '\r') p.pop_back();
    out[p] = static_cast<std::uint64_t>(count);
  }
  if (!header || out.empty())
    return parse_error(file, 0, "not the output of zmmailbox getAllFolders (no \"Id  View  Unread  Msg Count  Path\" table)");
  return out;
}

Result<ZimbraFolderCounts> parse_zimbra_expected(std::string_view text, const std::string& file) {
  ZimbraFolderCounts out;
  std::uint64_t offset = 0;
  while (offset < text.size()) {
    const auto nl = text.find('\n', offset);
    const std::string_view line = text.substr(offset, nl == std::string_view::npos ? std::string_view::npos : nl - offset);
    const std::uint64_t at = offset;
    offset = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line.empty() || line.front() == '#') continue;
    const auto t1 = line.find('\t');
    const auto t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    std::int64_t n = 0;
    if (t2 == std::string_view::npos || line.front() != '/' || !number(line.substr(t2 + 1), n) || n < 0)
      return parse_error(file, at, "expected \"/path<TAB>view<TAB>items\", found \"" + std::string(line) + "\"");
    out[std::string(line.substr(0, t1))] = static_cast<std::uint64_t>(n);
  }
  return out;
}

std::vector<ZimbraCountDifference> compare_zimbra_counts(const ZimbraFolderCounts& expected,
                                                         const ZimbraFolderCounts& zimbra) {
  std::vector<ZimbraCountDifference> out;
  for (const auto& [path, n] : expected) {
    auto it = zimbra.find(path);
    if (it == zimbra.end())
      out.push_back(ZimbraCountDifference{path, n, std::nullopt});
    else if (it->second != n)
      out.push_back(ZimbraCountDifference{path, n, it->second});
  }
  return out;
}

}  // namespace cyrconv

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace cyrconv {

namespace {

bool read_text(const std::string& path, std::string& text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  text = s.str();
  return static_cast<bool>(in) || in.eof();
}

}  // namespace

int run_zimbra_counts_check(const std::string& listing, const std::string& expected_file, const std::string& out) {
  const std::string expected_path =
      !expected_file.empty() ? expected_file : (std::filesystem::path(out) / "zimbra-expected.tsv").string();
  std::string got_text, want_text;
  if (!read_text(listing, got_text)) {
    std::cerr << "cyrconv: --zimbra-counts: cannot read " << listing << "\n";
    return 3;
  }
  if (!read_text(expected_path, want_text)) {
    std::cerr << "cyrconv: cannot read " << expected_path
              << " (give --out OUT/<user> of a zimbra-tgz conversion, or --zimbra-expected FILE)\n";
    return 3;
  }
  auto got = parse_zimbra_folder_listing(got_text, listing);
  if (!got) {
    std::cerr << "cyrconv: " << got.error().to_string() << "\n";
    return 3;
  }
  auto want = parse_zimbra_expected(want_text, expected_path);
  if (!want) {
    std::cerr << "cyrconv: " << want.error().to_string() << "\n";
    return 3;
  }
  const auto diffs = compare_zimbra_counts(want.value(), got.value());
  for (const auto& d : diffs) {
    std::cout << "differs: " << d.path << ": expected " << d.expected << " item(s), Zimbra has ";
    if (d.got)
      std::cout << *d.got << "\n";
    else
      std::cout << "no such folder\n";
  }
  std::cout << "zimbra counts: " << want.value().size() << " folder(s) compared, " << diffs.size() << " differ\n";
  return diffs.empty() ? 0 : 1;
}

}  // namespace cyrconv
