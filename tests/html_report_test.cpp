// The HTML page of a report (writers/html_report.h): the report is copied into the page as data
// that no text can break out of, bytes that are not UTF-8 cannot stop it, and the page's fault
// explanations are docs/reference.md's.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <vector>
#include <sstream>

#include "writers/html_page_assets.h"
#include "writers/html_report.h"
#include "writers/utf8_repair.h"

using namespace cyrconv;

namespace {

std::string page_of(const std::string& report, std::string* error = nullptr) {
  std::istringstream in(report);
  std::ostringstream out;
  const std::string e = write_html_report(in, out, HtmlPageInfo{"0.1.0", "r.json", "", 1});
  if (error) *error = e;
  return out.str();
}

// The text of the <script type="application/json" id=ID> element.
std::string data_block(const std::string& page, const std::string& id) {
  const std::string open = "<script type=\"application/json\" id=\"" + id + "\">";
  const auto at = page.find(open);
  REQUIRE(at != std::string::npos);
  const auto from = at + open.size();
  return page.substr(from, page.find("</script>", from) - from);
}

}  // namespace

TEST_CASE("html report: hostile strings stay inside the data and read back unchanged") {
  const std::string hostile[] = {"<script>alert(1)</script>", "\"><img src=x onerror=alert(2)>",
                                 "</script><script>alert(3)</script>", "a & b \xE2\x80\xA8 \xE2\x80\xA9 <!--",
                                 std::string("nul\0x", 5), "\\\" quote"};
  nlohmann::ordered_json r = {{"schema", "cyrconv-audit"}, {"schema_version", 1}, {"users", nlohmann::json::array()}};
  for (const auto& h : hostile) r["users"].push_back({{"user", h}, {"folders", {{{"name", h}}}}});
  r["totals"] = {{"messages", 3}, {"ratio", 0.25}, {"big", 18446744073709551615ULL}, {"neg", -4}};
  std::string error;
  const std::string page = page_of(r.dump(2), &error);
  REQUIRE(error.empty());
  const std::string block = data_block(page, "cyrconv-report");
  // Nothing in the data could end the element, start markup or end a JavaScript line.
  CHECK(block.find('<') == std::string::npos);
  CHECK(block.find('>') == std::string::npos);
  CHECK(block.find('&') == std::string::npos);
  CHECK(block.find("\xE2\x80\xA8") == std::string::npos);
  CHECK(block.find("\xE2\x80\xA9") == std::string::npos);
  CHECK(page.find("<script>alert") == std::string::npos);
  CHECK(page.find("<img") == std::string::npos);
  // ... and it is the report, value for value (numbers as written).
  CHECK(nlohmann::ordered_json::parse(block) == r);
  CHECK(block.find("\"ratio\":0.25") != std::string::npos);
  CHECK(block.find("18446744073709551615") != std::string::npos);
  const auto info = nlohmann::json::parse(data_block(page, "cyrconv-page"));
  CHECK(info["exit_status"] == 1);
  CHECK(info["source"] == "r.json");
}

TEST_CASE("html report: bytes that are not UTF-8 become U+FFFD, valid text passes unchanged") {
  const std::string report = std::string("{\"schema\": \"cyrconv-scan\", \"users\": [{\"user\": \"caf\xE9\", \"x\": \"") +
                             "\xED\xA0\x80 \xC0\xAF \xF4\x90\x80\x80 \xE2\x82\xAC \xF0\x9F\x93\xA7 \xE2\x82" + "\"}]}";
  std::string error;
  const std::string page = page_of(report, &error);
  REQUIRE(error.empty());
  const auto r = nlohmann::json::parse(data_block(page, "cyrconv-report"));
  CHECK(r["users"][0]["user"] == "caf\xEF\xBF\xBD");
  // surrogate, overlong, above U+10FFFF: each byte replaced; the euro sign and emoji kept; a
  // sequence cut short by the closing quote replaced too.
  CHECK(r["users"][0]["x"] ==
        "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD "
        "\xE2\x82\xAC \xF0\x9F\x93\xA7 \xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_CASE("html report: a sequence split across the repair buffer's reads is kept") {
  std::string text(64 * 1024 - 1, 'a');
  text += "\xE2\x82\xAC tail";  // the euro sign straddles the first 64 KiB read
  std::istringstream in(text);
  Utf8RepairBuf buf(in);
  std::istream repaired(&buf);
  std::ostringstream out;
  out << repaired.rdbuf();
  CHECK(out.str() == text);
  CHECK(buf.replaced() == 0);
}

TEST_CASE("html report: what is not a cyrconv report is refused with the reason") {
  std::string error;
  page_of("{\"schema\": \"other\"}", &error);
  CHECK(error.find("not a cyrconv report") != std::string::npos);
  page_of("{\"schema\": \"cyrconv-audit\", ", &error);
  CHECK(error.find("not a JSON document") != std::string::npos);
  page_of("[1, 2]", &error);
  CHECK(error.find("not a cyrconv report") != std::string::npos);
}

TEST_CASE("html report: the page explains each fault class in the reference's words") {
  std::ifstream in(std::string(CYRCONV_SOURCE_DIR) + "/docs/reference.md");
  std::stringstream readme;
  readme << in.rdbuf();
  const std::string js(html_page::page_words_js);
  // Rows of docs/reference.md's "Fault classes" table: | `kind` | level | found by | severity | repair does |
  // (No std::regex: GCC 12's trips -Wmaybe-uninitialized under the sanitizers.)
  const std::string text = readme.str();
  auto plain = [](std::string v) {
    v.erase(std::remove(v.begin(), v.end(), '`'), v.end());
    std::string out;  // as a JS string literal in page.js: ' escaped
    for (char c : v) out += c == '\'' ? std::string("\\'") : std::string(1, c);
    return out;
  };
  int rows = 0;
  std::istringstream lines(text.substr(text.find("### Fault classes") + 3));  // up to the next heading
  for (std::string line; std::getline(lines, line) && line.rfind("#", 0) != 0;) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;  // between the bars, without the spaces around
    for (std::size_t from = 2, bar; (bar = line.find(" |", from)) != std::string::npos; from = bar + 3)
      cells.push_back(line.substr(from, bar - from));
    REQUIRE(cells.size() == 5);
    const std::string js_cells =
        "['" + plain(cells[1]) + "', '" + plain(cells[2]) + "', '" + plain(cells[3]) + "', '" + plain(cells[4]) + "']";
    std::string kinds = cells[0];
    for (std::size_t p; (p = kinds.find('`')) != std::string::npos;) {
      const auto q = kinds.find('`', p + 1);
      const std::string kind = kinds.substr(p + 1, q - p - 1);
      INFO(kind);
      CHECK(js.find("    " + kind + ": " + js_cells) != std::string::npos);
      kinds.erase(0, q + 1);
      ++rows;
    }
  }
  CHECK(rows >= 25);
}

TEST_CASE("html report: entries and findings become rows, their repeated strings a table") {
  nlohmann::json finding = {{"severity", "warning"}, {"kind", "missing_date"}, {"file", "/s/u/7."}, {"uid", 7},
                            {"detail", "no Date <field>"}};
  nlohmann::json entry = {{"uid", 7},         {"file", "/s/u/7."}, {"orphan", false},  {"size", 1234},
                          {"action", "write"}, {"findings", {finding}}, {"name_bytes", "6361"}};
  nlohmann::json entry8 = entry;
  entry8["uid"] = 8;
  entry8["file"] = "/s/u/8.";
  entry8["findings"][0]["file"] = "/s/u/8.";
  entry8["findings"][0]["uid"] = 8;
  entry8["action"] = "repair";
  entry8["changes"] = {"LF made CRLF"};
  nlohmann::json elsewhere = entry8;
  elsewhere["file"] = "/t/9.";  // another directory, and not named after its UID
  nlohmann::ordered_json r = {{"schema", "cyrconv-audit"},
                              {"findings", {finding}},
                              {"users", {{{"user", "u"}, {"folders", {{{"name", "INBOX"}, {"messages", {entry, entry8, elsewhere}}}}}}}},
                              {"totals", {{"messages", 3}}}};
  const std::string page = page_of(r.dump());
  const auto data = nlohmann::json::parse(data_block(page, "cyrconv-report"));
  const auto strings = nlohmann::json::parse(data_block(page, "cyrconv-strings"));
  REQUIRE(strings.is_array());
  auto s = [&](const nlohmann::json& v) { return v.is_number() ? strings.at(v.get<std::size_t>()) : v; };
  const auto& rows = data["users"][0]["folders"][0]["messages"];
  REQUIRE(rows.size() == 3);
  // [uid, file, orphan, size, action, changes, reason, recover_folder, findings, {other keys}]
  CHECK(rows[0][0] == 7);
  CHECK(rows[0][1] == "/s/u/7.");
  CHECK(rows[1][1].is_null());  // <uid>. beside the entry before
  CHECK(rows[2][1] == "/t/9.");
  CHECK(rows[0][2] == 0);
  CHECK(rows[0][3] == 1234);
  CHECK(s(rows[0][4]) == "write");
  CHECK(s(rows[1][4]) == "repair");
  CHECK(s(rows[1][5][0]) == "LF made CRLF");
  CHECK(rows[0][9] == nlohmann::json{{"name_bytes", "6361"}});
  // [severity, kind, file (null: the entry's), offset, uid, detail]
  const auto& f = rows[1][8][0];
  CHECK(f[0] == 1);
  CHECK(s(f[1]) == "missing_date");
  CHECK(f[2].is_null());
  CHECK(f[4] == 8);
  CHECK(s(f[5]) == "no Date <field>");
  CHECK(rows[0][8][0][1] == f[1]);  // one table string for both
  const auto& store = data["findings"][0];
  CHECK(store[2] == "/s/u/7.");  // no entry: the file is given
  CHECK(page.find("<field>") == std::string::npos);
}
