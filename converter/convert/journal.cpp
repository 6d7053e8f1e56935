#include "converter/convert/journal.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "parsers/utf8.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr int journal_version = 1;

fs::path done_path(const fs::path& root, const std::string& side) { return journal_dir(root) / (side + ".done"); }
fs::path pending_path(const fs::path& root, const std::string& side) {
  return journal_dir(root) / (side + ".pending");
}

// Parses a journal file; nullopt (and `error`) when absent or malformed.
std::optional<nlohmann::json> read_json(const fs::path& p, std::string& error) {
  error.clear();
  auto text = read_output_text(p, error);
  if (!text) return std::nullopt;
  try {
    auto j = nlohmann::json::parse(*text);
    if (!j.is_object() || j.value("version", 0) != journal_version) {
      error = p.string() + ": not a version " + std::to_string(journal_version) + " cyrconv journal file";
      return std::nullopt;
    }
    return j;
  } catch (const std::exception& e) {
    error = p.string() + ": " + e.what();
    return std::nullopt;
  }
}

WriteStatus write_json(const fs::path& p, nlohmann::ordered_json j, bool sync) {
  if (auto st = make_directories(p.parent_path()); !st) return st;
  return write_small_file(p, j.dump(1) + "\n", sync);
}

}  // namespace

fs::path journal_dir(const fs::path& user_root) { return user_root / "journal"; }

std::optional<std::string> read_output_text(const fs::path& path, std::string& error) {
  error.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno != ENOENT) error = path.string() + ": cannot open: " + std::strerror(errno);
    return std::nullopt;
  }
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = path.string() + ": read: " + std::strerror(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

std::optional<JournalOptions> read_journal_options(const fs::path& user_root, std::string& error) {
  auto j = read_json(journal_dir(user_root) / "options.json", error);
  if (!j) return std::nullopt;
  try {
    JournalOptions o;
    o.format = j->at("format").get<std::string>();
    o.eol = j->at("eol").get<std::string>();
    o.profile = j->at("profile").get<std::string>();
    o.on_corrupt = j->at("on_corrupt").get<std::string>();
    o.skip_deleted = j->at("skip_deleted").get<bool>();
    o.gzip = j->at("gzip").get<bool>();
    return o;
  } catch (const std::exception& e) {
    error = (journal_dir(user_root) / "options.json").string() + ": " + e.what();
    return std::nullopt;
  }
}

WriteStatus write_journal_options(const fs::path& user_root, const JournalOptions& o, bool sync) {
  nlohmann::ordered_json j;
  j["version"] = journal_version;
  j["format"] = o.format;
  j["eol"] = o.eol;
  j["profile"] = o.profile;
  j["on_corrupt"] = o.on_corrupt;
  j["skip_deleted"] = o.skip_deleted;
  j["gzip"] = o.gzip;
  return write_json(journal_dir(user_root) / "options.json", std::move(j), sync);
}

std::string describe_options_change(const JournalOptions& was, const JournalOptions& now) {
  std::string d;
  auto differ = [&](const char* option, const std::string& a, const std::string& b) {
    if (a == b) return;
    if (!d.empty()) d += "; ";
    d += std::string(option) + " " + b + " (this output was made with " + a + ")";
  };
  differ("--format", was.format, now.format);
  differ("--eol", was.eol, now.eol);
  differ("--profile", was.profile, now.profile);
  differ("--on-corrupt", was.on_corrupt, now.on_corrupt);
  differ("--skip-deleted", was.skip_deleted ? "on" : "off", now.skip_deleted ? "on" : "off");
  differ("--gzip", was.gzip ? "on" : "off", now.gzip ? "on" : "off");
  return d;
}

std::optional<FolderDone> read_folder_done(const fs::path& user_root, const std::string& side, std::string& error) {
  auto j = read_json(done_path(user_root, side), error);
  if (!j) return std::nullopt;
  try {
    FolderDone d;
    d.folder = j->at("folder").get<std::string>();
    d.target = j->at("target").get<std::string>();
    d.uidvalidity = j->at("uidvalidity").get<std::uint32_t>();
    d.source_uidnext = j->at("source_uidnext").get<std::uint32_t>();
    d.target_uidnext = j->at("target_uidnext").get<std::uint32_t>();
    d.manifest_lines = j->at("manifest_lines").get<std::uint64_t>();
    d.output = j->value("output", std::string());
    d.uniqueid = j->value("uniqueid", std::string());
    return d;
  } catch (const std::exception& e) {
    error = done_path(user_root, side).string() + ": " + e.what();
    return std::nullopt;
  }
}

WriteStatus write_folder_done(const fs::path& user_root, const std::string& side, const FolderDone& d, bool sync) {
  nlohmann::ordered_json j;
  j["version"] = journal_version;
  // For people reading the journal only; a name that is not UTF-8 is kept escaped (\xHH).
  j["folder"] = escape_invalid_utf8(d.folder);
  j["target"] = escape_invalid_utf8(d.target);
  j["uidvalidity"] = d.uidvalidity;
  j["source_uidnext"] = d.source_uidnext;
  j["target_uidnext"] = d.target_uidnext;
  j["manifest_lines"] = d.manifest_lines;
  if (!d.output.empty()) j["output"] = d.output;
  if (!d.uniqueid.empty()) j["uniqueid"] = d.uniqueid;
  return write_json(done_path(user_root, side), std::move(j), sync);
}

std::optional<FolderPending> read_folder_pending(const fs::path& user_root, const std::string& side,
                                                 std::string& error) {
  auto j = read_json(pending_path(user_root, side), error);
  if (!j) return std::nullopt;
  try {
    FolderPending p;
    p.uidvalidity = j->at("uidvalidity").get<std::uint32_t>();
    p.source_uidnext = j->at("source_uidnext").get<std::uint32_t>();
    p.first_free_uid = j->at("first_free_uid").get<std::uint32_t>();
    return p;
  } catch (const std::exception& e) {
    error = pending_path(user_root, side).string() + ": " + e.what();
    return std::nullopt;
  }
}

WriteStatus write_folder_pending(const fs::path& user_root, const std::string& side, const FolderPending& p,
                                 bool sync) {
  nlohmann::ordered_json j;
  j["version"] = journal_version;
  j["uidvalidity"] = p.uidvalidity;
  j["source_uidnext"] = p.source_uidnext;
  j["first_free_uid"] = p.first_free_uid;
  return write_json(pending_path(user_root, side), std::move(j), sync);
}

void remove_folder_pending(const fs::path& user_root, const std::string& side) {
  ::unlink(pending_path(user_root, side).c_str());
}

}  // namespace cyrconv
