#include "writers/html_rows.h"

#include "writers/html_report.h"

#include <sstream>

namespace cyrconv {

using nlohmann::json;

void write_script_safe_json(std::ostream& out, const json& v) {
  switch (v.type()) {
    case json::value_t::object: {
      out << '{';
      bool first = true;
      for (const auto& [k, x] : v.items()) {
        if (!first) out << ',';
        first = false;
        write_script_safe_json_string(out, k);
        out << ':';
        write_script_safe_json(out, x);
      }
      out << '}';
      break;
    }
    case json::value_t::array: {
      out << '[';
      for (std::size_t i = 0; i < v.size(); ++i) {
        if (i) out << ',';
        write_script_safe_json(out, v[i]);
      }
      out << ']';
      break;
    }
    case json::value_t::string:
      write_script_safe_json_string(out, v.get_ref<const std::string&>());
      break;
    default:
      out << v.dump();  // numbers, booleans, null: no text of the report's
  }
}

json PageRows::ref(const json& s) {
  if (!s.is_string()) return s;
  const auto& text = s.get_ref<const std::string&>();
  if (auto it = index_.find(text); it != index_.end()) return it->second;
  if (text.size() > max_interned || order_.size() >= max_strings) return s;
  auto [it, added] = index_.emplace(text, order_.size());
  order_.push_back(&it->first);
  return it->second;
}

namespace {

// Takes `key` out of `rest` (the keys without a column), or null.
json take(json& rest, const char* key) {
  auto it = rest.find(key);
  if (it == rest.end()) return nullptr;
  json v = std::move(*it);
  rest.erase(it);
  return v;
}

}  // namespace

json PageRows::finding_row(const json& finding, const std::string* entry_file) {
  if (!finding.is_object()) return finding;
  json rest = finding;
  json severity = take(rest, "severity");
  json row = json::array();
  if (severity == "info") row.push_back(0);
  else if (severity == "warning") row.push_back(1);
  else if (severity == "error") row.push_back(2);
  else row.push_back(std::move(severity));
  row.push_back(ref(take(rest, "kind")));
  json file = take(rest, "file");
  const bool same = entry_file && file.is_string() && file.get_ref<const std::string&>() == *entry_file;
  row.push_back(same ? json() : std::move(file));
  row.push_back(take(rest, "offset"));
  row.push_back(take(rest, "uid"));
  row.push_back(ref(take(rest, "detail")));
  if (!rest.empty()) row.push_back(std::move(rest));
  return row;
}

void PageRows::write_finding(std::ostream& out, const json& finding) {
  write_script_safe_json(out, finding_row(finding, nullptr));
}

void PageRows::write_entry(std::ostream& out, const json& entry) {
  if (!entry.is_object()) {
    write_script_safe_json(out, entry);
    return;
  }
  json rest = entry;
  json row = json::array();
  json uid = take(rest, "uid");
  row.push_back(uid);
  json file = take(rest, "file");
  std::string full;
  if (file.is_string()) {
    full = file.get<std::string>();
    if (!last_dir_.empty() && uid.is_number_unsigned() &&
        full == last_dir_ + "/" + std::to_string(uid.get<std::uint64_t>()) + ".") {
      row.push_back(nullptr);  // the message file <uid>. in the directory of the entry before
    } else {
      const auto slash = full.rfind('/');
      last_dir_ = slash != std::string::npos && slash > 0 ? full.substr(0, slash) : std::string();
      row.push_back(std::move(file));
    }
  } else {
    row.push_back(std::move(file));
  }
  json orphan = take(rest, "orphan");
  row.push_back(orphan.is_boolean() ? json(orphan.get<bool>() ? 1 : 0) : std::move(orphan));
  row.push_back(take(rest, "size"));
  row.push_back(ref(take(rest, "action")));
  json changes = take(rest, "changes");
  if (changes.is_array())
    for (auto& c : changes) c = ref(c);
  row.push_back(std::move(changes));
  row.push_back(ref(take(rest, "reason")));
  row.push_back(ref(take(rest, "recover_folder")));
  json findings = take(rest, "findings");
  if (findings.is_array())
    for (auto& f : findings) f = finding_row(f, full.empty() ? nullptr : &full);
  row.push_back(std::move(findings));
  if (!rest.empty()) row.push_back(std::move(rest));
  write_script_safe_json(out, row);
}

void PageRows::write_table(std::ostream& out) const {
  out << '[';
  for (std::size_t i = 0; i < order_.size(); ++i) {
    if (i) out << ',';
    write_script_safe_json_string(out, *order_[i]);
  }
  out << ']';
}

}  // namespace cyrconv
