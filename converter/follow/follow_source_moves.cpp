#include "converter/follow/follow_source_moves.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "converter/convert/journal.h"
#include "converter/convert/prior_output.h"
#include "writers/crash_test_point.h"
#include "converter/plan/output_layout.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

Finding finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

fs::path pending_file(const fs::path& user_root) { return journal_dir(user_root) / "follow-source.pending"; }

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

const char* kind_name(FollowMove::Kind k) {
  switch (k) {
    case FollowMove::Kind::message: return "message";
    case FollowMove::Kind::folder_deleted: return "folder_deleted";
    case FollowMove::Kind::replace_recreated: return "replace_recreated";
    case FollowMove::Kind::rename: return "rename";
  }
  return "message";
}

std::optional<FollowMove::Kind> kind_from(const std::string& s) {
  for (auto k : {FollowMove::Kind::message, FollowMove::Kind::folder_deleted, FollowMove::Kind::replace_recreated,
                 FollowMove::Kind::rename})
    if (s == kind_name(k)) return k;
  return std::nullopt;
}

// Moves `from` to `to` unless that happened already; "" when it is (now) there or there is
// nothing to move, else why not. Never replaces anything at `to`.
std::string move_once(const fs::path& from, const fs::path& to) {
  const bool src = exists_no_follow(from), dst = exists_no_follow(to);
  if (!src) return {};
  if (dst) return to.string() + ": exists already; " + from.string() + " is left where it is";
  if (auto st = make_directories(to.parent_path()); !st) return st.message;
  if (::rename(from.c_str(), to.c_str()) != 0) return "rename " + from.string() + " -> " + to.string() + ": " + std::strerror(errno);
  crash_test_point();
  return {};
}

// The entry of `dir` named `base` or `base:...` (Dovecot keeps the base name and changes the flags).
std::optional<std::string> find_by_base(const fs::path& dir, const std::string& base) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return std::nullopt;
  std::optional<std::string> found;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n == base || (n.size() > base.size() && n.substr(0, base.size()) == base && n[base.size()] == ':')) {
      found = std::string(n);
      break;
    }
  }
  ::closedir(d);
  return found;
}

std::string base_name(const std::string& file) { return file.substr(0, file.find(':')); }

// The S= field of a cyrconv Maildir name: the size written.
std::optional<std::uint64_t> written_size(const std::string& name) {
  const auto at = name.find(",S=");
  if (at == std::string::npos) return std::nullopt;
  std::uint64_t v = 0;
  const char* b = name.data() + at + 3;
  const auto [p, ec] = std::from_chars(b, name.data() + name.size(), v);
  if (ec != std::errc() || p == b) return std::nullopt;
  return v;
}

// The subscription of the folder at `output` dropped (our own format only: a file Dovecot
// rewrote is the user's).
void drop_subscription(const FollowInput& in, const std::string& output, FollowResult& r) {
  const fs::path file = in.maildir ? in.user_root / "Maildir" / "subscriptions" : in.user_root / "mail" / ".subscriptions";
  std::string name = output.substr(output.find('/') + 1);
  if (in.maildir && !name.empty() && name[0] == '.') name.erase(0, 1);
  std::string error;
  auto text = read_output_text(file, error);
  if (!text || text->rfind("V\t", 0) == 0) return;
  std::string kept;
  std::size_t pos = 0;
  while (pos < text->size()) {
    std::size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    const std::string line = text->substr(pos, eol - pos);
    if (!line.empty() && line != name) kept += line + "\n";
    pos = eol + 1;
  }
  if (kept == *text) return;
  if (auto st = write_small_file(file, kept, in.sync); !st)
    r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", file.string(), 0, st.message));
}

void add_error(FollowResult& r, const std::string& file, const std::string& why);

// The folder's dovecot-uidlist without the lines of files moved away, as Dovecot drops an
// expunged message's line (its header, and every other line, Dovecot's own too, kept).
void drop_uidlist_lines(const FollowInput& in, const std::string& message, const std::set<std::string>& bases,
                        FollowResult& r) {
  const fs::path file = (in.user_root / message).parent_path().parent_path() / "dovecot-uidlist";
  std::string error;
  auto text = read_output_text(file, error);
  if (!text) return;
  std::string kept;
  std::size_t pos = 0;
  bool first = true;
  while (pos < text->size()) {
    std::size_t eol = text->find('\n', pos);
    if (eol == std::string::npos) eol = text->size();
    const std::string line = text->substr(pos, eol - pos);
    pos = eol + 1;
    const auto colon = line.find(" :");
    if (!first && colon != std::string::npos && bases.count(base_name(line.substr(colon + 2)))) continue;
    first = false;
    kept += line + "\n";
  }
  if (kept != *text)
    if (auto st = write_small_file(file, kept, in.sync); !st) add_error(r, file.string(), st.message);
}

void add_error(FollowResult& r, const std::string& file, const std::string& why) {
  if (!why.empty()) r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", file, 0, why));
}

// A whole folder into the holding area, with its manifest, quarantine and journal entry.
void move_folder_to_holding(const FollowInput& in, const FollowMove& m, const fs::path& holding, FollowResult& r) {
  const fs::path from = in.user_root / m.from;
  const std::size_t errors = r.findings.size();
  if (in.maildir) {
    add_error(r, from.string(), move_once(from, holding));
  } else {
    for (const std::string ext : {"", ".gz"}) {
      const fs::path f = in.user_root / (m.from + ext);
      add_error(r, f.string(), move_once(f, holding / (f.filename().string())));
    }
  }
  add_error(r, m.side, move_once(folder_manifest_path(in.user_root, m.side), holding / "manifest.jsonl"));
  add_error(r, m.side, move_once(folder_quarantine_dir(in.user_root, m.side), holding / "quarantine"));
  add_error(r, m.side, move_once(journal_dir(in.user_root) / (m.side + ".pending"), holding / "journal.pending"));
  add_error(r, m.side, move_once(journal_dir(in.user_root) / (m.side + ".done"), holding / "journal.done"));
  if (r.findings.size() != errors) return;
  if (m.kind == FollowMove::Kind::folder_deleted) {
    drop_subscription(in, m.from, r);
    ++r.folders_moved;
    r.findings.push_back(finding(Finding::Severity::info, "moved_to_holding", holding.string(), 0,
                                 "folder deleted in the source (" + m.detail + "): " + m.from + " moved here whole"));
  } else {
    ++r.folders_replaced;
    r.findings.push_back(finding(Finding::Severity::info, "replaced_recreated_folder", holding.string(), 0,
                                 "folder re-created in the source (" + m.detail + "): the earlier " + m.from +
                                     " moved here whole; the new one is written under its name"));
  }
}

// A manifest line with its output_file moved from `from` to `to` (a path or a prefix ending in '/').
std::string with_output_moved(const std::string& line, const std::vector<std::pair<std::string, std::string>>& moves) {
  auto j = nlohmann::ordered_json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.contains("output_file") || !j["output_file"].is_string()) return line;
  std::string of = j["output_file"].get<std::string>();
  for (const auto& [from, to] : moves)
    if (of == from || (!from.empty() && from.back() == '/' && of.rfind(from, 0) == 0)) {
      of = to + of.substr(from.size());
      break;
    }
  j["output_file"] = of;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void rename_folder(const FollowInput& in, const FollowMove& m, FollowResult& r) {
  const std::size_t errors = r.findings.size();
  for (const std::string& ext : in.maildir ? std::vector<std::string>{""} : std::vector<std::string>{"", ".gz"})
    add_error(r, m.from, move_once(in.user_root / (m.from + ext), in.user_root / (m.to + ext)));
  const fs::path old_manifest = folder_manifest_path(in.user_root, m.side);
  const fs::path new_manifest = folder_manifest_path(in.user_root, m.new_side);
  if (exists_no_follow(old_manifest)) {
    const EarlierManifest em = read_earlier_manifest(old_manifest);
    if (!em.error.empty()) return add_error(r, old_manifest.string(), em.error);
    const std::vector<std::pair<std::string, std::string>> prefixes = {
        {m.from + "/", m.to + "/"}, {m.from, m.to}, {m.from + ".gz", m.to + ".gz"},
        {"quarantine/" + m.side + "/", "quarantine/" + m.new_side + "/"}};
    std::string text;
    for (const auto& l : em.lines) text += with_output_moved(l, prefixes) + "\n";
    // Until the old manifest is gone it is the one that counts: a new one there is this move's own,
    // made before a kill (the plan refused a rename onto an existing folder or journal entry).
    if (auto st = write_small_file(new_manifest, text, in.sync); !st) return add_error(r, new_manifest.string(), st.message);
    crash_test_point();
    ::unlink(old_manifest.c_str());  // its lines are all in the new one
  }
  add_error(r, m.side, move_once(folder_quarantine_dir(in.user_root, m.side), folder_quarantine_dir(in.user_root, m.new_side)));
  std::string error;
  if (auto done = read_folder_done(in.user_root, m.side, error)) {
    done->folder = m.new_folder;
    done->target = m.new_target;
    done->output = m.to;
    if (!m.new_uniqueid.empty()) done->uniqueid = m.new_uniqueid;
    if (auto st = write_folder_done(in.user_root, m.new_side, *done, in.sync); !st)
      return add_error(r, m.new_side, st.message);
    crash_test_point();
    ::unlink((journal_dir(in.user_root) / (m.side + ".done")).c_str());  // now under its new name
  }
  remove_folder_pending(in.user_root, m.side);
  if (r.findings.size() != errors) return;
  drop_subscription(in, m.from, r);
  ++r.folders_renamed;
  r.findings.push_back(finding(Finding::Severity::info, "renamed_folder", (in.user_root / m.to).string(), 0,
                               "renamed in the source (" + m.detail + "): " + m.from + " -> " + m.to +
                                   (in.maildir ? " with its keywords, uidlist, manifest and journal entry" : " with its manifest and journal entry")));
}

// The expunged messages of one folder into its holding folder, then its manifest without them.
void move_messages(const FollowInput& in, const std::string& side, const std::vector<const FollowMove*>& ms,
                   const fs::path& holding, FollowResult& r) {
  std::set<std::string> moved_lines, moved_bases;
  std::string holding_manifest;
  for (const FollowMove* m : ms) {
    const fs::path written = in.user_root / m->from;
    const fs::path dir = written.parent_path();
    const std::string sub = dir.filename().string();  // cur
    const std::string base = base_name(written.filename().string());
    std::string why;
    if (auto name = find_by_base(dir, base)) {
      const fs::path file = dir / *name;
      struct stat st {};
      const auto size = written_size(*name);
      if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !size || static_cast<std::uint64_t>(st.st_size) != *size) {
        ++r.impossible;
        r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", file.string(), m->uid,
                                     "expunged in the source, but not the bytes cyrconv wrote: left where it is"));
        continue;
      }
      why = move_once(file, holding / sub / *name);
      if (!why.empty()) {
        add_error(r, file.string(), why);
        continue;
      }
    } else if (!find_by_base(holding / sub, base)) {
      continue;  // expunged in the target as well: its line stays, nothing to move
    }
    moved_lines.insert(m->line);
    moved_bases.insert(base);
    holding_manifest += m->line + "\n";
    ++r.messages_moved;
    r.findings.push_back(finding(Finding::Severity::info, "moved_to_holding", (holding / sub / base).string(), m->uid,
                                 "expunged in the source: moved out of " + dir.parent_path().lexically_relative(in.user_root).string()));
  }
  if (moved_lines.empty()) return;
  if (auto st = write_small_file(holding / "manifest.jsonl", holding_manifest, in.sync); !st)
    return add_error(r, (holding / "manifest.jsonl").string(), st.message);
  crash_test_point();
  const fs::path manifest = in.user_root / "manifests" / (side + ".jsonl");
  const EarlierManifest em = read_earlier_manifest(manifest);
  if (!em.error.empty()) return add_error(r, manifest.string(), em.error);
  std::string text;
  std::uint64_t lines = 0;
  for (const auto& l : em.lines)
    if (!moved_lines.count(l)) {
      text += l + "\n";
      ++lines;
    }
  if (auto st = write_small_file(manifest, text, in.sync); !st) return add_error(r, manifest.string(), st.message);
  drop_uidlist_lines(in, ms.front()->from, moved_bases, r);
  std::string error;
  if (auto done = read_folder_done(in.user_root, side, error); done && done->manifest_lines != lines) {
    done->manifest_lines = lines;
    if (auto st = write_folder_done(in.user_root, side, *done, in.sync); !st) add_error(r, side, st.message);
  }
}

}  // namespace

std::optional<PendingMoves> read_pending_moves(const fs::path& user_root, std::string& error) {
  auto text = read_output_text(pending_file(user_root), error);
  if (!text) return std::nullopt;
  try {
    const auto j = nlohmann::json::parse(*text);
    PendingMoves p;
    p.stamp = j.at("stamp").get<std::string>();
    for (const auto& o : j.at("moves")) {
      FollowMove m;
      const auto k = kind_from(o.at("kind").get<std::string>());
      if (!k) throw std::runtime_error("unknown kind " + o.at("kind").get<std::string>());
      m.kind = *k;
      m.side = o.at("side").get<std::string>();
      m.from = o.at("from").get<std::string>();
      m.to = o.value("to", std::string());
      m.line = o.value("line", std::string());
      m.uid = o.value("uid", 0u);
      m.new_side = o.value("new_side", std::string());
      m.new_folder = o.value("new_folder", std::string());
      m.new_target = o.value("new_target", std::string());
      m.new_uniqueid = o.value("new_uniqueid", std::string());
      m.detail = o.value("detail", std::string());
      p.moves.push_back(std::move(m));
    }
    return p;
  } catch (const std::exception& e) {
    error = pending_file(user_root).string() + ": " + e.what();
    return std::nullopt;
  }
}

WriteStatus write_pending_moves(const fs::path& user_root, const PendingMoves& p, bool sync) {
  nlohmann::ordered_json j;
  j["stamp"] = p.stamp;
  j["moves"] = nlohmann::ordered_json::array();
  for (const auto& m : p.moves) {
    nlohmann::ordered_json o;
    o["kind"] = kind_name(m.kind);
    o["side"] = m.side;
    o["from"] = m.from;
    if (!m.to.empty()) o["to"] = m.to;
    if (!m.line.empty()) o["line"] = m.line;
    if (m.uid) o["uid"] = m.uid;
    if (!m.new_side.empty()) o["new_side"] = m.new_side;
    if (!m.new_folder.empty()) o["new_folder"] = m.new_folder;
    if (!m.new_target.empty()) o["new_target"] = m.new_target;
    if (!m.new_uniqueid.empty()) o["new_uniqueid"] = m.new_uniqueid;
    if (!m.detail.empty()) o["detail"] = m.detail;
    j["moves"].push_back(std::move(o));
  }
  if (auto st = make_directories(journal_dir(user_root)); !st) return st;
  return write_small_file(pending_file(user_root), j.dump(1) + "\n", sync);
}

void remove_pending_moves(const fs::path& user_root) { ::unlink(pending_file(user_root).c_str()); }

void execute_moves(const FollowInput& in, const PendingMoves& p, FollowResult& r) {
  const fs::path base = in.user_root / holding_dir_name / p.stamp;
  std::map<std::string, std::vector<const FollowMove*>> messages;  // by side
  for (const auto& m : p.moves) {
    if (m.kind == FollowMove::Kind::message) {
      messages[m.side].push_back(&m);
      continue;
    }
    if (m.kind == FollowMove::Kind::rename)
      rename_folder(in, m, r);
    else
      move_folder_to_holding(in, m, base / m.side, r);
  }
  for (const auto& [side, ms] : messages)
    if (in.maildir)
      move_messages(in, side, ms, base / side, r);
    else
      move_mbox_messages(in, side, ms, base / side, r);
}

namespace {

// Whether a file directly in `folder` (an mbox the holding area keeps) has a From_ line at `offset`.
bool mbox_message_at(const fs::path& folder, std::uint64_t offset) {
  std::error_code ec;
  for (fs::directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (!it->is_regular_file(ec) || n == "manifest.jsonl" || n.rfind("journal.", 0) == 0) continue;
    std::ifstream f(it->path(), std::ios::binary);
    char head[5] = {};
    if (offset && !f.seekg(static_cast<std::streamoff>(offset - 1))) continue;
    const std::size_t want = offset ? 6 : 5;
    char buf[6] = {};
    if (!f.read(buf, static_cast<std::streamsize>(want))) continue;
    std::memcpy(head, buf + (offset ? 1 : 0), 5);
    if ((!offset || buf[0] == '\n') && std::string_view(head, 5) == "From ") return true;
  }
  return false;
}

}  // namespace

HoldingCensus census_holding_area(const fs::path& user_root) {
  HoldingCensus c;
  const fs::path root = user_root / holding_dir_name;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return c;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().filename() != "manifest.jsonl") continue;
    const fs::path folder = it->path().parent_path();
    const EarlierManifest m = read_earlier_manifest(it->path());
    if (!m.error.empty()) {
      c.missing.push_back(m.error);
      continue;
    }
    for (const auto& rec : m.records) {
      if (rec.kind != Disposition::written && rec.kind != Disposition::repaired) continue;
      ++c.messages;
      const fs::path written(rec.output_file);
      bool found = false;
      if (rec.output_file.empty() && rec.mbox_offset) {
        // An mbox line (no output_file): a message starts at its offset in an mbox file there.
        found = mbox_message_at(folder, *rec.mbox_offset);
      } else if (!written.has_parent_path() || written.parent_path().filename() != "cur") {
        // An mbox folder moved whole: its file is in the holding folder.
        found = exists_no_follow(folder / written.filename()) || exists_no_follow(folder / (written.filename().string() + ".gz"));
      } else {
        found = find_by_base(folder / "cur", base_name(written.filename().string())).has_value() ||
                find_by_base(folder / "new", base_name(written.filename().string())).has_value();
      }
      if (found)
        ++c.present;
      else
        c.missing.push_back(it->path().string() + ": uid " + std::to_string(rec.uid) + ": " + rec.output_file +
                            " is not in " + folder.string());
    }
  }
  return c;
}

}  // namespace cyrconv
