#include "writers/report_json.h"

#include "parsers/hex.h"
#include "parsers/utf8.h"

namespace cyrconv {

nlohmann::ordered_json finding_json(const Finding& f) {
  nlohmann::ordered_json j;
  j["severity"] = to_string(f.severity);
  j["kind"] = f.kind;
  j["file"] = escape_invalid_utf8(f.file);
  if (f.offset) j["offset"] = f.offset;
  if (f.uid) j["uid"] = f.uid;
  j["detail"] = escape_invalid_utf8(f.detail);
  if (!valid_utf8(f.file)) j["file_bytes"] = to_hex(f.file);
  return j;
}

void add_name_json(nlohmann::ordered_json& j, const std::string& name, const std::string& name_raw) {
  j["name"] = escape_invalid_utf8(name);
  j["name_raw"] = escape_invalid_utf8(name_raw);
  if (!valid_utf8(name_raw)) j["name_bytes"] = to_hex(name_raw);
}

nlohmann::ordered_json findings_json(const std::vector<Finding>& findings) {
  nlohmann::ordered_json a = nlohmann::ordered_json::array();
  for (const auto& f : findings) a.push_back(finding_json(f));
  return a;
}

namespace {
std::string dump_value(const nlohmann::ordered_json& v) {
  return v.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

void PrettyJsonStream::before_item() {
  if (after_key_) {  // the value of a member: its name is already written
    after_key_ = false;
    return;
  }
  if (open_.empty()) return;
  Level& l = open_.back();
  out_ << (l.empty ? "\n" : ",\n") << std::string(2 * open_.size(), ' ');
  l.empty = false;
}

void PrettyJsonStream::begin_object() {
  before_item();
  out_ << '{';
  open_.push_back(Level{true, true});
}

void PrettyJsonStream::begin_array() {
  before_item();
  out_ << '[';
  open_.push_back(Level{false, true});
}

void PrettyJsonStream::end() {
  const Level l = open_.back();
  open_.pop_back();
  if (!l.empty) out_ << '\n' << std::string(2 * open_.size(), ' ');
  out_ << (l.object ? '}' : ']');
}

void PrettyJsonStream::key(std::string_view k) {
  before_item();
  out_ << dump_value(nlohmann::ordered_json(std::string(k))) << ": ";
  after_key_ = true;
}

void PrettyJsonStream::value(const nlohmann::ordered_json& v) {
  before_item();
  const std::string text = dump_value(v);
  // Nested lines move right by this value's depth (strings hold no raw newline: JSON escapes it).
  const std::string indent(2 * open_.size(), ' ');
  std::size_t from = 0;
  for (std::size_t nl; (nl = text.find('\n', from)) != std::string::npos; from = nl + 1)
    out_.write(text.data() + from, static_cast<std::streamsize>(nl + 1 - from)) << indent;
  out_.write(text.data() + from, static_cast<std::streamsize>(text.size() - from));
}

void PrettyJsonStream::members(const nlohmann::ordered_json& obj) {
  for (const auto& [k, v] : obj.items()) {
    key(k);
    value(v);
  }
}

void write_folder_with_entries(PrettyJsonStream& js, const nlohmann::ordered_json& members, const MessageLog* log,
                               const std::vector<MessageLogSpan>& spilled, const std::vector<AuditMessage>& pending,
                               const std::function<nlohmann::ordered_json(const AuditMessage&)>& entry,
                               std::string& unread) {
  js.begin_object();
  js.members(members);
  js.key("messages");
  js.begin_array();
  auto e = for_each_message(log, spilled, pending, [&](const AuditMessage& m) { js.value(entry(m)); });
  if (!e.empty() && unread.empty()) unread = std::move(e);
  js.end();
  js.end();
}

void add_files_json(nlohmann::ordered_json& j, const AuditAccounting& c) {
  j["files"] = c.files;
  j["files_listed"] = c.files_listed;
  j["files_orphans"] = c.files_orphans;
  j["files_expunged"] = c.files_expunged;
  j["files_left_out"] = c.files_left_out;
  j["recovered_without_index"] = c.recovered_without_index;
  j["files_balanced"] = c.files_balanced();
}

std::string files_line(const AuditAccounting& c) {
  std::string s = std::to_string(c.files) + " files on disk = " + std::to_string(c.files_listed) + " of records + " +
                  std::to_string(c.files_orphans) + " orphans + " + std::to_string(c.files_expunged) + " expunged + " +
                  std::to_string(c.files_left_out) + " left out";
  if (c.recovered_without_index) s += " (" + std::to_string(c.recovered_without_index) + " recovered without an index)";
  if (!c.files_balanced()) s += "  ** FILES DO NOT ADD UP **";
  return s;
}

}  // namespace cyrconv
