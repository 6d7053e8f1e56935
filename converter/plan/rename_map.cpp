// Rename map file (format in rename_map.h and README "Folder names").
#include "converter/plan/rename_map.h"

#include <set>

namespace cyrconv {

namespace {

std::string escape_field(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

bool unescape_field(std::string_view s, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return false;
    switch (s[i]) {
      case '\\': out += '\\'; break;
      case 't': out += '\t'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      default: return false;
    }
  }
  return true;
}

std::string describe(const RenameMapEntry& e) {
  return "line " + std::to_string(e.line) + " (" + (e.user.empty() ? "shared" : e.user) + ": " + e.internal_name +
         " -> \"" + e.target + "\")";
}

}  // namespace

Result<RenameMap> parse_rename_map(std::string_view text, std::string_view file) {
  RenameMap map;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    const std::size_t line_start = pos;
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
      const std::size_t tab = line.find('\t', start);
      std::string f;
      if (!unescape_field(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start), f))
        return parse_error(file, line_start, "line " + std::to_string(line_no) + ": bad '\\' escape");
      fields.push_back(std::move(f));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (fields.size() < 4 || fields.size() > 5)
      return parse_error(file, line_start, "line " + std::to_string(line_no) +
                                               ": expected user, profile, internal name, target [, reasons] separated by TAB");
    if (!parse_naming_profile(fields[1]))
      return parse_error(file, line_start, "line " + std::to_string(line_no) + ": unknown profile \"" + fields[1] + "\"");
    if (fields[2].empty() || fields[3].empty())
      return parse_error(file, line_start, "line " + std::to_string(line_no) + ": empty internal name or target");
    RenameMapEntry e{fields[0], fields[1], fields[2], fields[3], fields.size() == 5 ? fields[4] : "", line_no};
    map.entries.push_back(std::move(e));
  }
  return map;
}

std::string format_rename_map_header() {
  return "# cyrconv rename map 1\n# user\tprofile\tcyrus internal name\ttarget path\treasons\n";
}

std::string format_rename_map_lines(std::string_view user, NamingProfile profile, const NamingOutcome& naming,
                                    bool all_folders) {
  std::string out;
  for (const auto& f : naming.folders) {
    if (f.action == FolderAction::skip || (!f.renamed && !all_folders)) continue;
    std::string reasons;
    for (auto r : f.reasons) reasons += (reasons.empty() ? "" : ",") + std::string(to_string(r));
    out += escape_field(user) + '\t' + to_string(profile) + '\t' + escape_field(f.internal_name) + '\t' +
           escape_field(f.path) + '\t' + escape_field(reasons) + '\n';
  }
  return out;
}

std::vector<std::string> check_rename_map(const RenameMap& map, NamingProfile profile) {
  std::vector<std::string> errors;
  std::map<std::pair<std::string, std::string>, const RenameMapEntry*> by_folder;
  std::map<std::string, std::vector<const RenameMapEntry*>> by_user;
  for (const auto& e : map.entries) {
    if (e.profile != to_string(profile)) continue;
    auto [it, fresh] = by_folder.emplace(std::make_pair(e.user, e.internal_name), &e);
    if (!fresh) {
      errors.push_back("rename map: " + describe(e) + " names the same folder as " + describe(*it->second));
      continue;
    }
    by_user[e.user].push_back(&e);
  }
  // Each user's overrides go through the naming function alone: it validates every target and
  // refuses two that collide after folding/escaping; the messages are mapped back to lines.
  for (const auto& [user, entries] : by_user) {
    std::vector<FolderNameInput> in;
    std::map<std::string, std::string> ov;
    for (const auto* e : entries) {
      FolderNameInput f = folder_name_input(parse_internal_name(e->internal_name), MailboxKind::email);
      if (!f.levels.empty() && f.levels[0].size() > 0 && f.levels[0][0] == '#') {
        // DAV collections: checked in their own tree by the naming pass itself.
        f.cls = f.levels[0] == "#addressbooks" ? FolderClass::addressbook : FolderClass::calendar;
      }
      in.push_back(std::move(f));
      ov[e->internal_name] = e->target;
    }
    const NamingOutcome out = name_folders(in, profile, ov);
    for (const auto& err : out.errors) {
      std::string msg = err;
      for (const auto* e : entries) {
        const std::string tag = "override of " + e->internal_name;
        if (msg.find(" " + e->internal_name + " ") != std::string::npos && msg.find(tag) == std::string::npos)
          msg = "rename map: " + describe(*e) + ": " + err;
      }
      for (const auto* e : entries) {
        const std::string tag = "override of " + e->internal_name;
        if (const std::size_t at = msg.find(tag); at != std::string::npos) msg.replace(at, tag.size(), describe(*e));
      }
      errors.push_back(msg);
    }
    // A target of the map that no name of the profile can hold is the map's fault: refused.
    for (const auto& [internal, why] : out.unnamed)
      for (const auto* e : entries)
        if (e->internal_name == internal) errors.push_back("rename map: " + describe(*e) + ": " + why);
  }
  return errors;
}

std::map<std::string, std::string> overrides_for(const RenameMap& map, std::string_view user, NamingProfile profile) {
  std::map<std::string, std::string> out;
  for (const auto& e : map.entries)
    if (e.user == user && e.profile == to_string(profile)) out.emplace(e.internal_name, e.target);
  return out;
}

}  // namespace cyrconv
