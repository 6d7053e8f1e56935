#include "writers/sieve_export.h"

#include <algorithm>

namespace cyrconv {

namespace {

struct Token {
  enum Kind { identifier, tag, string, multiline, number, punct } kind;
  std::size_t begin = 0, end = 0;  // bytes of the token in the script
  std::string value;               // identifier/tag lower-cased; string unescaped; punct char
};

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
std::string lower(std::string_view s) {
  std::string o(s);
  for (auto& c : o)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  return o;
}

// RFC 5228 section 8.1 lexical tokens; false with `error` on anything else.
bool tokenize(std::string_view s, std::vector<Token>& out, std::string& error) {
  std::size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
      const std::size_t e = s.find("*/", i + 2);
      if (e == std::string_view::npos) return error = "unterminated comment at byte " + std::to_string(i), false;
      i = e + 2;
    } else if (c == '"') {
      Token t{Token::string, i, 0, {}};
      ++i;
      bool closed = false;
      while (i < s.size()) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          t.value += s[i + 1];
          i += 2;
        } else if (s[i] == '"') {
          closed = true;
          ++i;
          break;
        } else {
          t.value += s[i++];
        }
      }
      if (!closed) return error = "unterminated string at byte " + std::to_string(t.begin), false;
      t.end = i;
      out.push_back(std::move(t));
    } else if (is_alpha(c)) {
      std::size_t b = i;
      while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]))) ++i;
      std::string id = lower(s.substr(b, i - b));
      if (id == "text" && i < s.size() && s[i] == ':') {  // multi-line string up to a lone "."
        const std::size_t eol = s.find('\n', i);
        if (eol == std::string_view::npos) return error = "unterminated text: at byte " + std::to_string(b), false;
        std::size_t p = eol + 1;
        Token t{Token::multiline, b, 0, {}};
        bool closed = false;
        while (p < s.size()) {
          std::size_t e = s.find('\n', p);
          std::string_view line = s.substr(p, (e == std::string_view::npos ? s.size() : e) - p);
          if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
          p = e == std::string_view::npos ? s.size() : e + 1;
          if (line == ".") {
            closed = true;
            break;
          }
          if (!line.empty() && line.front() == '.') line.remove_prefix(1);  // dot-stuffing
          t.value += std::string(line) + "\n";
        }
        if (!closed) return error = "unterminated text: at byte " + std::to_string(b), false;
        t.end = p;
        i = p;
        out.push_back(std::move(t));
      } else {
        out.push_back(Token{Token::identifier, b, i, std::move(id)});
      }
    } else if (c == ':' && i + 1 < s.size() && is_alpha(s[i + 1])) {
      std::size_t b = i++;
      while (i < s.size() && (is_alpha(s[i]) || is_digit(s[i]))) ++i;
      out.push_back(Token{Token::tag, b, i, lower(s.substr(b, i - b))});
    } else if (is_digit(c)) {
      std::size_t b = i;
      while (i < s.size() && is_digit(s[i])) ++i;
      if (i < s.size() && (s[i] == 'K' || s[i] == 'M' || s[i] == 'G' || s[i] == 'k' || s[i] == 'm' || s[i] == 'g')) ++i;
      out.push_back(Token{Token::number, b, i, std::string(s.substr(b, i - b))});
    } else if (c == '[' || c == ']' || c == ',' || c == '(' || c == ')' || c == '{' || c == '}' || c == ';') {
      out.push_back(Token{Token::punct, i, i + 1, std::string(1, c)});
      ++i;
    } else {
      return error = std::string("unexpected character '") + c + "' at byte " + std::to_string(i), false;
    }
  }
  return true;
}

std::string quote(std::string_view v) {
  std::string o = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

bool is_string(const Token& t) { return t.kind == Token::string || t.kind == Token::multiline; }

}  // namespace

SieveRewriteResult rewrite_sieve_folders(std::string_view script,
                                         const std::function<std::optional<std::string>(std::string_view)>& map_folder) {
  SieveRewriteResult r;
  r.script = std::string(script);
  std::vector<Token> toks;
  auto unsafe = [&](std::string why) {
    r.safe = false;
    r.error = std::move(why);
    r.script = std::string(script);
    r.rewrites.clear();
    r.unresolved.clear();
    return r;
  };
  if (!tokenize(script, toks, r.error)) return unsafe(r.error);

  struct Edit {
    const Token* tok;
    std::string command;
  };
  std::vector<Edit> targets;
  for (std::size_t k = 0; k < toks.size(); ++k) {
    const Token& t = toks[k];
    if (t.kind == Token::tag && t.value == ":fcc") {
      if (k + 1 >= toks.size() || !is_string(toks[k + 1]))
        return unsafe(":fcc at byte " + std::to_string(t.begin) + " is not followed by a folder name");
      std::string cmd = ":fcc";
      for (std::size_t b = k; b-- > 0;)  // the command it belongs to: the identifier before it
        if (toks[b].kind == Token::identifier) {
          cmd = toks[b].value + " :fcc";
          break;
        }
      targets.push_back({&toks[k + 1], cmd});
      continue;
    }
    if (t.kind != Token::identifier || t.value != "fileinto") continue;
    // fileinto [:copy] [:create] [:flags <string-list>] [:specialuse <string>] [:mailboxid <string>] <folder>;
    std::vector<const Token*> positional;
    std::size_t j = k + 1;
    for (; j < toks.size() && !(toks[j].kind == Token::punct && toks[j].value == ";"); ++j) {
      const Token& a = toks[j];
      if (a.kind == Token::tag) {
        if (a.value == ":flags" || a.value == ":specialuse" || a.value == ":mailboxid") {
          ++j;  // its argument: a string or a string list
          if (j < toks.size() && toks[j].kind == Token::punct && toks[j].value == "[") {
            while (j < toks.size() && !(toks[j].kind == Token::punct && toks[j].value == "]")) ++j;
          }
          if (j >= toks.size()) break;
        }
        continue;
      }
      if (is_string(a)) {
        positional.push_back(&a);
        continue;
      }
      return unsafe("fileinto at byte " + std::to_string(t.begin) + " has an argument that is not a folder name");
    }
    if (j >= toks.size()) return unsafe("fileinto at byte " + std::to_string(t.begin) + " has no ';'");
    if (positional.size() != 1)
      return unsafe("fileinto at byte " + std::to_string(t.begin) + " does not have exactly one folder name");
    targets.push_back({positional[0], "fileinto"});
  }

  std::vector<std::pair<const Token*, std::string>> edits;  // token -> replacement text
  for (const auto& e : targets) {
    const std::size_t line = 1 + static_cast<std::size_t>(std::count(script.begin(), script.begin() + e.tok->begin, '\n'));
    const std::string& from = e.tok->value;
    auto to = map_folder(from);
    if (!to) {
      r.unresolved.push_back({line, e.command, from, from});
      continue;
    }
    if (*to == from) continue;
    if (e.tok->kind == Token::multiline)
      return unsafe("the folder name at line " + std::to_string(line) + " is a text: block, not rewritten");
    r.rewrites.push_back({line, e.command, from, *to});
    edits.push_back({e.tok, quote(*to)});
  }
  std::sort(edits.begin(), edits.end(), [](const auto& a, const auto& b) { return a.first->begin > b.first->begin; });
  for (const auto& [tok, text] : edits) r.script.replace(tok->begin, tok->end - tok->begin, text);
  return r;
}

}  // namespace cyrconv
