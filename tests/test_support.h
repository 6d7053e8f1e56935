#pragma once
// Paths to fixtures and small file helpers shared by the tests.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "writers/message_log.h"

namespace cyrconv::test {

inline std::filesystem::path source_dir() { return CYRCONV_SOURCE_DIR; }
inline std::filesystem::path fixtures_dir() { return source_dir() / "fixtures"; }
// Real mailboxes written by old Cyrus releases; present in CI, may be absent elsewhere.
inline std::filesystem::path shared_fixtures_dir() { return source_dir().parent_path() / "shared" / "fixtures"; }
inline std::filesystem::path cyrconv_binary() { return CYRCONV_BINARY; }

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read test input " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Damaged copies of the cyrus36-default fixture, made by tools/damage in `dir` (`options`: the
// tool's, e.g. "--minimal" or "--only bare_lf"); returns the text of its manifest.json.
inline std::string make_damaged_spools(const std::filesystem::path& dir, const std::string& options) {
  const std::string cmd = "python3 " + (source_dir() / "tools" / "damage").string() + " " + dir.string() + " " +
                          options + " --fixture " + (fixtures_dir() / "cyrus36-default").string() + " >/dev/null";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("tools/damage failed: " + cmd);
  return read_file(dir / "manifest.json");
}

// A scratch directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cyrconv-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() { std::error_code ec; std::filesystem::remove_all(path, ec); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// A folder's report entries wherever they wait (the report's MessageLog, then memory).
template <typename Report, typename Folder>
std::vector<AuditMessage> entries(const Report& r, const Folder& f) {
  std::vector<AuditMessage> out;
  const std::string err =
      for_each_message(r.message_log.get(), f.spilled, f.messages, [&](const AuditMessage& m) { out.push_back(m); });
  if (!err.empty()) throw std::runtime_error(err);
  return out;
}

}  // namespace cyrconv::test
