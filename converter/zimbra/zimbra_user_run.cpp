#include "converter/zimbra/zimbra_user_run.h"

#include "converter/source/source_io.h"
#include "writers/maildir.h"

namespace cyrconv {

namespace fs = std::filesystem;

Finding zimbra_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

WriteStatus UserRun::add_entry(const std::string& name, ScratchFile& scratch, std::int64_t mtime, std::uint32_t mode) {
  if (!stream_status) return stream_status;
  if (ZimbraArchive::entry_bytes(TarEntry{name, scratch.size(), mtime, mode}) > ZimbraArchive::tar_budget(opt.zimbra_part_size))
    user.findings.push_back(zimbra_finding(
        Finding::Severity::warning, "zimbra_part_oversize", (user.root / name).string(), 0,
        std::to_string(scratch.size()) + " bytes, more than a part of --zimbra-part-size " +
            std::to_string(opt.zimbra_part_size) + " holds: written as a part of its own, larger than the others"));
  WriteStatus st = archive.begin(TarEntry{name, scratch.size(), mtime, mode});
  if (st) st = scratch.read_all(w.buffer, [&](std::string_view b) { return archive.write(b); });
  if (st) st = archive.end();
  if (!st) stream_failed(st);
  return st;
}

WriteStatus UserRun::add_entry(const std::string& name, std::string_view bytes, std::int64_t mtime, std::uint32_t mode) {
  if (!stream_status) return stream_status;
  WriteStatus st = archive.begin(TarEntry{name, bytes.size(), mtime, mode});
  if (st) st = archive.write(bytes);
  if (st) st = archive.end();
  if (!st) stream_failed(st);
  return st;
}

void UserRun::zmm_line(const std::string& line) {
  if (!stream_status) return;
  if (auto st = zmm.write(line); !st) stream_failed(st);
}

void UserRun::check_line(const std::string& line) {
  if (!stream_status) return;
  if (auto st = check.write(line); !st) stream_failed(st);
}

WriteStatus keep_zimbra_original(UserRun& run, const fs::path& dir, const fs::path& source, ScratchFile* scratch,
                                 std::uint32_t uid, std::string_view label, const AuditMessage& m) {
  if (auto st = make_directories(dir); !st) return st;
  const std::string name = std::string(label) + "-" + std::to_string(uid) + ".eml";
  OutputFile copy;
  if (auto st = copy.open(dir, name); !st) return st;
  if (scratch) {
    if (auto st = scratch->read_all(run.w.buffer, [&](std::string_view b) { return copy.write(b); }); !st) return st;
  } else {
    WriteStatus ws;
    SourceStream s = stream_source_file(source, run.w.buffer, [&](std::string_view b) {
      if (ws) ws = copy.write(b);
    });
    if (!ws) return ws;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
  }
  if (auto st = copy.commit(dir / name, -1, run.sync(), OutputFile::OnExisting::replace); !st) return st;
  return write_small_file(dir / (std::string(label) + "-" + std::to_string(uid) + ".reason"),
                          quarantine_reason_text(uid, source, m), run.sync());
}

}  // namespace cyrconv
