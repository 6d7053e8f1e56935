#include "converter/plan/output_layout.h"
#include "converter/source/inventory.h"
#include "converter/source/source_io.h"
#include "converter/zimbra/zimbra_user_run.h"
#include "parsers/dav_resource.h"

namespace cyrconv {

namespace fs = std::filesystem;

// A calendar or addressbook: one file of all its resources (`calendars/<folder>.ics`,
// `contacts/<folder>.vcf`; Zimbra's ics and vcf imports read several objects from one body),
// posted by the import script into a folder it creates with the right view first.
void convert_zimbra_dav_folder(UserRun& run, ZimbraJob& job, const MailboxInventory& inv) {
  ConvertFolder& out = job.out;
  const MailboxRef& mb = *job.mailbox;
  const bool calendar = job.name->action == FolderAction::export_calendar;
  out.uidvalidity = inv.header.uidvalidity;
  out.uidnext = inv.header.last_uid + 1;
  const std::string sub = calendar ? "calendars" : "contacts";
  const std::string file_name = side_file_name(*job.name) + (calendar ? ".ics" : ".vcf");
  const fs::path dir = run.user.root / sub;
  out.output = run.user.root_rel + "/" + sub + "/" + file_name;
  if (job.dav_earlier) {
    // Posted from an earlier run: a second post would duplicate its contacts. Left as it is.
    out.count.messages = out.count.earlier = inv.live.size();
    for (const auto& r : inv.live) run.progress.add(r.size, 1);
    std::error_code ec;
    if (fs::exists(dir / file_name, ec))
      run.collections.push_back(ZimbraCollectionFile{job.name->path, sub + "/" + file_name, calendar});
    run.empty_folders.emplace_back(job.name->path, calendar ? "appointment" : "contact");
    const auto it = run.user.earlier_expected.find("/" + job.name->path);
    run.expected.push_back(ZimbraExpectedRow{job.name->path, calendar ? "appointment" : "contact",
                                             it == run.user.earlier_expected.end() ? 0 : it->second});
    return;
  }
  OutputFile file;
  WriteStatus fst = make_directories(dir);
  if (fst) fst = file.open(dir, file_name);
  std::uint64_t entries = 0, written_bytes = 0;
  for (const auto& r : inv.live) {
    ++out.count.messages;
    run.progress.add(r.size, 1);
    const fs::path path = message_file_path(mb, r);
    auto problem = [&](std::string kind, std::string detail) {
      ++out.count.not_converted;
      AuditMessage m;
      m.uid = r.uid;
      m.file = path.string();
      m.size = r.size;
      m.action = MessageAction::not_converted;
      m.reason = detail;
      m.findings.push_back(Finding{Finding::Severity::error, std::move(kind), path.string(), 0, r.uid, detail});
      out.messages.push_back(std::move(m));
    };
    if (!run.stream_status || !fst) {
      if (!fst) problem("output_failed", fst.message);
      else ++out.count.not_converted;
      continue;
    }
    SourceOpen f = SourceOpen::map(path);
    if (f.status == SourceOpen::Status::missing) {
      ++out.count.missing;
      continue;
    }
    if (f.status != SourceOpen::Status::ok) {
      problem("dav_resource_unreadable", f.message);
      continue;
    }
    auto body = dav_resource_body(f.file.bytes(), path.string());
    if (!body) {
      problem("dav_resource_unreadable", body.error().to_string());
      continue;
    }
    std::string_view bytes = body.value();
    WriteStatus st = file.write(bytes);
    // Objects are separated by a line end: the next BEGIN must start a line.
    if (st && !bytes.empty() && bytes.back() != '\n') st = file.write("\r\n");
    if (!st) {
      fst = st;
      problem("output_failed", st.message);
      continue;
    }
    ++out.count.written;
    ++entries;
    written_bytes += bytes.size();
  }
  if (fst && entries > 0) fst = file.commit(dir / file_name, -1, run.sync(), OutputFile::OnExisting::keep_identical);
  if (!fst) {
    // Nothing of this collection exists: what was counted as written was not.
    if (entries > 0) out.findings.push_back(zimbra_finding(Finding::Severity::error, "output_failed", fst.message, 0, fst.message));
    out.count.not_converted += out.count.written;
    out.count.written = 0;
    entries = 0;
  }
  out.bytes_written += fst ? written_bytes : 0;
  run.empty_folders.emplace_back(job.name->path, calendar ? "appointment" : "contact");  // the script creates it
  if (entries > 0) run.collections.push_back(ZimbraCollectionFile{job.name->path, sub + "/" + file_name, calendar});
  run.expected.push_back(ZimbraExpectedRow{job.name->path, calendar ? "appointment" : "contact", entries});
}

}  // namespace cyrconv
