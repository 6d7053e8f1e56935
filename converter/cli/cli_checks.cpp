#include "converter/cli/cli_checks.h"

#include <algorithm>
#include <charconv>
#include <string_view>
#include <vector>

namespace cyrconv {

CLI::Validator whole_number(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& s) -> std::string {
        long long v = 0;
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (ec == std::errc::result_out_of_range || (ec == std::errc{} && end == s.data() + s.size() && (v < lo || v > hi)))
          return "expects a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " + s;
        if (ec != std::errc{} || end != s.data() + s.size())
          return "expects a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got '" + s + "'";
        return {};
      },
      "", "whole_number");
}

CLI::Validator size_value() {
  const CLI::Validator to_bytes = CLI::AsSizeValue(false);
  return CLI::Validator(
      [to_bytes](std::string& s) -> std::string {
        std::size_t digits = 0;
        while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
        std::string unit;
        for (std::size_t i = digits; i < s.size(); ++i)
          if (s[i] != ' ') unit += static_cast<char>(s[i] | 0x20);
        static const char* const units[] = {"",  "b",   "k", "kb", "ki", "kib", "m", "mb", "mi",
                                            "mib", "g", "gb", "gi", "gib", "t",  "tb", "ti", "tib"};
        const bool known = std::any_of(std::begin(units), std::end(units), [&](const char* u) { return unit == u; });
        if (digits == 0 || !known) return "expects a size in bytes such as 256M, 1G or 0, got '" + s + "'";
        return to_bytes(s);
      },
      "", "size_value");
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest of `known` to `word`: a prefix either way, or at most a third of it misspelled.
std::string closest(const std::string& word, const std::vector<std::string>& known) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (const auto& k : known) {
    std::size_t d = edit_distance(word, k);
    if (k.size() > 3 && word.size() > 3 && (k.rfind(word, 0) == 0 || word.rfind(k, 0) == 0)) d = std::min<std::size_t>(d, 1);
    if (d < best_d) {
      best_d = d;
      best = k;
    }
  }
  return best;
}

std::vector<std::string> option_names(const CLI::App& cmd) {
  std::vector<std::string> names;
  for (const CLI::Option* o : cmd.get_options())
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
  return names;
}

}  // namespace

std::string suggest_for_unknown(const CLI::App& app, int argc, char** argv) {
  const CLI::App* cmd = &app;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.rfind("-", 0) == 0) {
      const std::string name = arg.substr(0, arg.find('='));
      if (name.rfind("--", 0) != 0) continue;
      bool known = false;
      for (const auto& n : option_names(*cmd)) known = known || n == name;
      if (known) continue;
      const std::string near = closest(name, option_names(*cmd));
      const std::string where = path.empty() ? "" : " for " + path;
      return near.empty() ? "" : "unknown option " + name + where + ": did you mean " + near + "?";
    }
    bool entered = false;
    std::vector<std::string> subs;
    for (const CLI::App* sub : cmd->get_subcommands([](const CLI::App*) { return true; })) {
      subs.push_back(sub->get_name());
      if (sub->get_name() == arg) {
        cmd = sub;
        path += (path.empty() ? "" : " ") + arg;
        entered = true;
        break;
      }
    }
    if (entered) continue;
    if (!subs.empty()) {
      const std::string near = closest(arg, subs);
      if (!near.empty()) return "unknown subcommand " + arg + ": did you mean " + near + "?";
    }
    // An option's value or a positional argument: go on.
  }
  return {};
}

}  // namespace cyrconv
