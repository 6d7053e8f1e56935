#include "writers/html_report.h"
#include "parsers/hex.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "writers/html_page_assets.h"  // generated from writers/html_page/ (CMakeLists.txt)
#include "writers/html_rows.h"
#include "writers/utf8_repair.h"

namespace cyrconv {

void write_script_safe_json_string(std::ostream& out, std::string_view s) {
  out << '"';
  std::size_t plain = 0;  // start of the run of bytes copied as they are
  auto flush = [&](std::size_t to) { out.write(s.data() + plain, static_cast<std::streamsize>(to - plain)); };
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const char* esc = nullptr;
    char u[7] = {'\\', 'u', '0', '0', 0, 0, 0};
    if (c == '"') {
      esc = "\\\"";
    } else if (c == '\\') {
      esc = "\\\\";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      u[4] = hex_digits[c >> 4];
      u[5] = hex_digits[c & 15];
      esc = u;
    } else if (c == 0xE2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80 &&
               (static_cast<unsigned char>(s[i + 2]) == 0xA8 || static_cast<unsigned char>(s[i + 2]) == 0xA9)) {
      // U+2028 and U+2029 end a line in older JavaScript; JSON allows them raw.
      flush(i);
      out << (s[i + 2] == '\xA8' ? "\\u2028" : "\\u2029");
      i += 2;
      plain = i + 1;
      continue;
    }
    if (!esc) continue;
    flush(i);
    out << esc;
    plain = i + 1;
  }
  flush(s.size());
  out << '"';
}

namespace {

// Builds one value from SAX events: a single entry or finding, turned into a row when complete.
class ValueBuilder {
 public:
  bool active() const { return !stack_.empty(); }
  void key(const std::string& k) { key_ = k; }
  void value(nlohmann::json v) { slot() = std::move(v); }
  void open(nlohmann::json empty) {
    nlohmann::json& s = stack_.empty() ? (root_ = std::move(empty)) : (slot() = std::move(empty));
    stack_.push_back(&s);
  }
  bool close() {  // true when the value is complete
    stack_.pop_back();
    return stack_.empty();
  }
  nlohmann::json take() { return std::move(root_); }

 private:
  nlohmann::json& slot() {  // where the next value goes in the innermost open container
    nlohmann::json& c = *stack_.back();
    if (c.is_object()) return c[key_];
    c.push_back(nullptr);
    return c.back();
  }
  nlohmann::json root_;
  std::vector<nlohmann::json*> stack_;  // each points into its parent, which does not grow meanwhile
  std::string key_;
};

// Copies the report as compact JSON, value by value as the parser meets them, except that each
// element of a "messages" or "findings" array becomes a row (writers/html_rows.h). Holds the
// nesting, one entry or finding at a time, the string table and the top-level "schema".
class CopyToPage : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit CopyToPage(std::ostream& out) : out_(out) {}
  std::string schema;
  std::string error;
  PageRows rows;

  bool null() override { return scalar(nullptr, "null"); }
  bool boolean(bool v) override { return scalar(v, v ? "true" : "false"); }
  bool number_integer(number_integer_t v) override { return scalar(v, std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v, std::to_string(v)); }
  bool number_float(number_float_t v, const string_t& text) override { return scalar(v, text); }
  bool string(string_t& v) override {
    if (row_.active()) {
      row_.value(v);
      return true;
    }
    if (depth() == 1 && last_key_ == "schema") schema = v;
    before_value();
    write_script_safe_json_string(out_, v);
    return true;
  }
  bool binary(binary_t&) override { return scalar(nullptr, "null"); }  // JSON text has none
  bool start_object(std::size_t) override {
    if (row_.active() || (!open_.empty() && open_.back().list != List::none)) {
      if (!row_.active()) before_value();
      row_.open(nlohmann::json::object());
      return true;
    }
    return open('{', List::none);
  }
  bool end_object() override {
    if (row_.active()) {
      if (row_.close()) {
        if (open_.back().list == List::entries) rows.write_entry(out_, row_.take());
        else rows.write_finding(out_, row_.take());
      }
      return true;
    }
    return close('}');
  }
  bool start_array(std::size_t) override {
    if (row_.active()) {
      row_.open(nlohmann::json::array());
      return true;
    }
    List list = List::none;
    if (after_key_ && pending_key_ == "messages") list = List::entries;
    if (after_key_ && pending_key_ == "findings") list = List::findings;
    if (list == List::entries) rows.start_entry_list();
    return open('[', list);
  }
  bool end_array() override {
    if (row_.active()) {
      row_.close();
      return true;
    }
    return close(']');
  }
  bool key(string_t& k) override {
    if (row_.active()) {
      row_.key(k);
      return true;
    }
    if (!open_.back().first) out_ << ',';
    open_.back().first = false;
    write_script_safe_json_string(out_, k);
    out_ << ':';
    after_key_ = true;
    pending_key_ = k;
    if (depth() == 1) last_key_ = k;
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    error = "not a JSON document at byte " + std::to_string(position) + ": " + e.what();
    return false;
  }

 private:
  enum class List { none, entries, findings };
  struct Open {
    bool first = true;  // nothing written into it yet
    List list = List::none;
  };
  std::size_t depth() const { return open_.size(); }
  void before_value() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!open_.empty()) {
      if (!open_.back().first) out_ << ',';
      open_.back().first = false;
    }
  }
  bool scalar(nlohmann::json v, std::string_view text) {
    if (row_.active()) {
      row_.value(std::move(v));
      return true;
    }
    before_value();
    out_ << text;
    return true;
  }
  bool open(char c, List list) {
    before_value();
    out_ << c;
    open_.push_back(Open{true, list});
    return true;
  }
  bool close(char c) {
    open_.pop_back();
    out_ << c;
    return true;
  }
  std::ostream& out_;
  std::vector<Open> open_;
  ValueBuilder row_;
  bool after_key_ = false;
  std::string pending_key_;  // the key the next value belongs to
  std::string last_key_;     // the last key of the top-level object
};

// The page's script (and style) as a Content-Security-Policy source: only that script may run,
// so even a mistake in escaping could not run script from the data (no event handler may).
std::string hash_source(std::string_view text) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), md.data(), &len, EVP_sha256(), nullptr);
  std::array<unsigned char, 4 * EVP_MAX_MD_SIZE / 3 + 4> b64{};
  const int n = EVP_EncodeBlock(b64.data(), md.data(), static_cast<int>(len));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(b64.data()), static_cast<std::size_t>(n)) + "'";
}

void write_page_info(std::ostream& out, const HtmlPageInfo& info) {
  out << "{\"tool_version\":";
  write_script_safe_json_string(out, info.tool_version);
  out << ",\"source\":";
  write_script_safe_json_string(out, info.source);
  out << ",\"report_time\":";
  write_script_safe_json_string(out, info.report_time);
  out << ",\"exit_status\":" << (info.exit_status ? std::to_string(*info.exit_status) : "null") << '}';
}

// The page's one script: README's words, then the code that draws the page.
const std::string& page_script() {
  static const std::string script = std::string(html_page::page_words_js) + std::string(html_page::page_js);
  return script;
}

bool known_schema(std::string_view s) {
  return s == "cyrconv-scan" || s == "cyrconv-audit" || s == "cyrconv-convert" || s == "cyrconv-verify";
}

}  // namespace

std::string write_html_report(std::istream& report, std::ostream& out, const HtmlPageInfo& info) {
  // page.html holds @@NAME@@ markers where the parts go, in this order.
  std::string_view page = html_page::page_html;
  std::string error;
  CopyToPage copy(out);
  for (std::string_view marker :
       {"@@CSP_STYLE@@", "@@CSP_SCRIPT@@", "@@CSS@@", "@@PAGE@@", "@@REPORT@@", "@@STRINGS@@", "@@JS@@"}) {
    const auto at = page.find(marker);
    if (at == std::string_view::npos) return std::string("internal: page.html lacks ") + std::string(marker);
    out << page.substr(0, at);
    page.remove_prefix(at + marker.size());
    if (marker == "@@CSP_STYLE@@") {
      out << hash_source(html_page::page_css);
    } else if (marker == "@@CSP_SCRIPT@@") {
      out << hash_source(page_script());
    } else if (marker == "@@CSS@@") {
      out << html_page::page_css;
    } else if (marker == "@@PAGE@@") {
      write_page_info(out, info);
    } else if (marker == "@@REPORT@@") {
      Utf8RepairBuf repaired(report);
      std::istream in(&repaired);
      const bool ok = nlohmann::json::sax_parse(in, &copy, nlohmann::json::input_format_t::json, true);
      if (!ok) return copy.error.empty() ? "not a JSON document" : copy.error;
      if (!known_schema(copy.schema))
        return "not a cyrconv report (\"schema\" is \"" + copy.schema +
               "\", expected cyrconv-scan, cyrconv-audit, cyrconv-convert or cyrconv-verify)";
    } else if (marker == "@@STRINGS@@") {
      copy.rows.write_table(out);
    } else {
      out << page_script();
    }
  }
  out << page;
  return out ? "" : "write error";
}

std::string write_html_report_file(const std::string& report_file, const std::string& html_file,
                                   const HtmlPageInfo& info) {
  std::ifstream in(report_file, std::ios::binary);
  if (!in) return "cannot read " + report_file;
  const std::string tmp = html_file + ".tmp-" + std::to_string(::getpid());
  std::string error;
  {
    std::vector<char> buffer(1 << 20);
    std::ofstream out;
    out.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    out.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return "cannot write " + tmp;
    error = write_html_report(in, out, info);
    if (error.empty()) {
      out.flush();
      if (!out) error = "cannot write " + tmp;
    } else {
      error = report_file + ": " + error;
    }
  }
  std::error_code ec;
  if (error.empty()) {
    std::filesystem::rename(tmp, html_file, ec);
    if (ec) error = "cannot rename " + tmp + " to " + html_file + ": " + ec.message();
  }
  if (!error.empty()) std::filesystem::remove(tmp, ec);
  return error;
}

}  // namespace cyrconv
