#include "converter/convert/dav_export.h"

#include <map>

#include "converter/source/source_io.h"
#include "parsers/dav_resource.h"
#include "writers/output_file.h"

namespace cyrconv {

namespace fs = std::filesystem;

void export_dav_collection(const MailboxRef& mb, const MailboxInventory& inv, const fs::path& file, ConvertFolder& out,
                           bool sync) {
  const bool calendar = mb.kind == MailboxKind::calendar;
  out.uidvalidity = inv.header.uidvalidity;
  out.uidnext = inv.header.last_uid + 1;
  std::string merged;
  std::map<std::string, std::string> timezones;  // TZID -> block, once each
  std::string components;
  auto problem = [&](const IndexRecord& r, const std::string& path, std::string detail) {
    ++out.count.not_converted;
    AuditMessage m;
    m.uid = r.uid;
    m.file = path;
    m.size = r.size;
    m.action = MessageAction::not_converted;
    m.reason = detail;
    m.findings.push_back(Finding{Finding::Severity::error, "dav_resource_unreadable", path, 0, r.uid, detail});
    out.messages.push_back(std::move(m));
  };
  for (const auto& r : inv.live) {
    ++out.count.messages;
    const fs::path path = message_file_path(mb, r);
    SourceOpen f = SourceOpen::map(path);
    if (f.status == SourceOpen::Status::missing) {
      ++out.count.missing;
      continue;
    }
    if (f.status != SourceOpen::Status::ok) {
      problem(r, path.string(), f.message);
      continue;
    }
    auto body = dav_resource_body(f.file.bytes(), path.string());
    if (!body) {
      problem(r, path.string(), body.error().to_string());
      continue;
    }
    if (!calendar) {
      merged += body.value();
      if (!merged.empty() && merged.back() != '\n') merged += "\r\n";
      ++out.count.written;
      continue;
    }
    auto parts = split_vcalendar(body.value(), path.string());
    if (!parts) {
      problem(r, path.string(), parts.error().to_string());
      continue;
    }
    for (const auto& [tzid, block] : parts.value().timezones) timezones.emplace(tzid, std::string(block));
    for (auto c : parts.value().components) components += c;
    ++out.count.written;
  }
  if (calendar) {
    merged = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//cyrconv//Cyrus export//EN\r\n";
    for (const auto& [tzid, block] : timezones) merged += block;
    merged += components;
    merged += "END:VCALENDAR\r\n";
  }
  if (auto st = make_directories(file.parent_path()); !st) {
    out.failed = true;
    out.fail_reason = st.message;
    return;
  }
  if (auto st = write_small_file(file, merged, sync); !st) {
    out.failed = true;
    out.fail_reason = st.message;
    out.count.not_converted += out.count.written;
    out.count.written = 0;
  }
  out.bytes_written += merged.size();
}

}  // namespace cyrconv
