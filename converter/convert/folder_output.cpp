#include "converter/convert/folder_output.h"
#include "converter/convert/uidlist_stream.h"

#include <cstdio>

#include "converter/convert/prior_output.h"
#include "converter/convert/run_control.h"
#include "writers/maildir.h"
#include "converter/plan/output_layout.h"

namespace cyrconv {

namespace fs = std::filesystem;

void FolderOutput::locate(const FolderNameResult& target) {
  name = &target;
  side_name = side_file_name(target);
  quarantine_dir = folder_quarantine_dir(user.root, side_name);
  manifest_path = folder_manifest_path(user.root, side_name);
  maildir = user.root / "Maildir";
  if (!target.maildirpp.empty()) maildir /= target.maildirpp;
  uidlist_path = maildir / "dovecot-uidlist";
  mbox_file = user.root / "mail" / (target.mbox_path.empty() ? std::string("INBOX") : target.mbox_path);
  job.out.output = is_mbox() ? user.root_rel + "/mail/" +
                                   (target.mbox_path.empty() ? std::string("INBOX") : target.mbox_path) +
                                   (opt.gzip ? ".gz" : "")
                             : user.root_rel + "/Maildir" + (target.maildirpp.empty() ? "" : "/" + target.maildirpp);
}

// `uidlist_base`: the earlier uidlist file (incremental run) to carry on, else a new one is begun.
// `mbox_base`: the earlier mbox file to copy first (incremental run), with its X-IMAPbase.
WriteStatus FolderOutput::open(std::uint32_t uidvalidity, std::uint32_t uidnext, const FolderKeywords& kw, bool write_keywords,
                 const fs::path* uidlist_base, const std::set<std::uint32_t>& new_uids, const fs::path* mbox_base,
                 Worker& w) {
  if (auto st = make_directories(user.root / "manifests"); !st) return st;
  if (auto st = manifest.open(manifest_path.parent_path(), side_name + ".jsonl"); !st) return st;
  if (!is_mbox()) {
    if (auto st = prepare_maildir(maildir, name->maildirpp.empty()); !st) return st;
    if (auto st = uidlist.open(maildir, "dovecot-uidlist"); !st) return st;
    // The earlier uidlist copied a piece at a time (it is not held: issue 25).
    if (auto st = uidlist_base ? copy_uidlist_with_uidnext(*uidlist_base, uidnext, new_uids, uidlist)
                               : uidlist.write(dovecot_uidlist(uidvalidity, uidnext, {}));
        !st)
      return st;
    if (write_keywords && !kw.letters_order.empty())
      if (auto st = write_small_file(maildir / "dovecot-keywords", dovecot_keywords(kw.letters_order),
                                     opt.sync == SyncPolicy::message);
          !st)
        return st;
  } else {
    if (auto st = make_directories(mbox_file.parent_path()); !st) return st;
    if (auto st = mbox.open(mbox_file.parent_path(), mbox_file.filename().string()); !st) return st;
    writer = MboxWriter(&mbox);
    mbox_state = MboxFolderState{uidvalidity, uidnext ? uidnext - 1 : 0, kw.all_used};
    if (mbox_base) return copy_earlier_mbox(*mbox_base, uidvalidity, uidnext, w);
  }
  return {};
}

WriteStatus FolderOutput::compress_as_written() {
  if (mbox.bytes_written() != 0) return {};  // an earlier mbox copied first: compressed on commit
  const fs::path gz = mbox_file.string() + ".gz";
  if (auto st = mbox_gz.open(gz.parent_path(), gz.filename().string()); !st) return st;
  if (auto st = mbox_pending.open(mbox_file.parent_path()); !st) return st;
  writer = MboxWriter(&mbox_gz, &mbox_pending);
  compressing = true;
  return {};
}

// An incremental run never changes the earlier mbox in place: it copies it (with X-IMAPbase
// carrying the new last UID, a fixed-width field) and appends, then renames the copy over it.
WriteStatus FolderOutput::copy_earlier_mbox(const fs::path& earlier, std::uint32_t uidvalidity, std::uint32_t uidnext, Worker& w) {
  bool head = true;
  WriteStatus st;
  std::string first;
  SourceStream s = stream_source_file(earlier, w.buffer, [&](std::string_view chunk) {
    if (!st) return;
    if (head) {
      first.append(chunk);
      if (first.size() < (1u << 20) && first.find("\n\n") == std::string::npos) return;
      if (auto b = find_mbox_imapbase("\n" + first); b && b->uidvalidity == uidvalidity) {
        char digits[16];
        std::snprintf(digits, sizeof digits, "%010u", uidnext ? uidnext - 1 : 0);
        first.replace(b->last_uid_offset - 1, 10, digits);
      } else {
        job.out.findings.push_back(make_finding(
            Finding::Severity::warning, "mbox_imapbase_not_updated", earlier.string(), 0,
            "no X-IMAPbase of UIDVALIDITY " + std::to_string(uidvalidity) +
                " with a 10-digit UID field in the first message: its last UID is left as it was"));
      }
      head = false;
      st = mbox.write(first);
      first.clear();
      first.shrink_to_fit();
      return;
    }
    st = mbox.write(chunk);
  });
  if (st && head && !first.empty()) st = mbox.write(first);
  if (!st) return st;
  if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
  mbox_first = mbox.bytes_written() == 0;
  return {};
}

// Keeps the original bytes of a repaired or quarantined message, with the reason beside them.
WriteStatus FolderOutput::keep_original(const fs::path& source, ScratchFile* kept, std::uint32_t uid,
                                        std::string_view label, const AuditMessage& m, Worker& w) {
  if (auto st = make_directories(quarantine_dir); !st) return st;
  OutputFile copy;
  const std::string file = std::string(label) + "-" + std::to_string(uid) + ".eml";
  if (auto st = copy.open(quarantine_dir, file); !st) return st;
  if (kept) {
    if (auto st = kept->read_all(w.buffer, [&](std::string_view chunk) { return copy.write(chunk); }); !st) return st;
  } else {  // not read (a duplicate record, a file read only in part)
    WriteStatus write_status;
    SourceStream s = stream_source_file(source, w.buffer, [&](std::string_view chunk) {
      if (write_status) write_status = copy.write(chunk);
    });
    if (!write_status) return write_status;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
  }
  // Ours to replace: a resumed run rewrites the same bytes.
  if (auto st = copy.commit(quarantine_dir / file, -1, opt.sync == SyncPolicy::message, OutputFile::OnExisting::replace);
      !st)
    return st;
  return write_small_file(quarantine_dir / (std::string(label) + "-" + std::to_string(uid) + ".reason"),
                          quarantine_reason_text(uid, source, m), opt.sync == SyncPolicy::message);
}

void FolderOutput::begin_message(Streaming& s, RangeOutput& ro, OutputEncoding enc, std::uint32_t uid,
                                 std::uint32_t flags, const std::vector<std::string>& keywords,
                                 const std::string& maildir_base, std::int64_t internaldate, Worker& w) {
  s.r = Written{};
  s.first = true;
  s.internaldate = internaldate;
  // mbox metadata goes at the end of the message's own header: a header that starts with a
  // continuation line cannot swallow it, and the message's fields stay first.
  s.trailer = is_mbox() ? mbox_metadata_headers(uid, flags, keywords, ro.mbox_first ? &mbox_state : nullptr)
                        : std::string();
  enc.header_trailer = s.trailer;
  s.encoder = MessageEncoder(enc);
  if (!is_mbox())
    s.r.write = w.message_file.open(maildir / "tmp", maildir_base);
  else
    s.r.mbox_mark = ro.mbox->bytes_written();
}

void FolderOutput::feed_message(Streaming& s, RangeOutput& ro, std::string_view chunk, Worker& w) {
  if (!s.r.write) return;
  if (s.first && is_mbox()) {
    // The From_ line needs the envelope sender, which Cyrus put in the first Return-Path.
    s.r.write = ro.mbox->write_message(mbox_from_line(envelope_sender_from_header(chunk), s.internaldate));
  }
  s.first = false;
  w.encoded.clear();
  s.encoder.encode(chunk, w.encoded, w.checker.line_ends());
  if (s.r.write) s.r.write = is_mbox() ? ro.mbox->write_message(w.encoded) : w.message_file.write(w.encoded);
}

void FolderOutput::end_message(Streaming& s, RangeOutput& ro, Worker& w) {
  Written& r = s.r;
  if (s.first && is_mbox() && r.write) r.write = ro.mbox->write_message(mbox_from_line("", s.internaldate));  // empty file
  w.encoded.clear();
  s.encoder.finish(w.encoded);
  if (r.write && !w.encoded.empty()) r.write = is_mbox() ? ro.mbox->write_message(w.encoded) : w.message_file.write(w.encoded);
  if (r.write && is_mbox()) {
    // The empty line that separates messages; a last line without its newline gets one first.
    r.added_final_newline = s.encoder.added_line_end() || s.encoder.last_output() != '\n';
    r.write = ro.mbox->write_message(r.added_final_newline ? "\n\n" : "\n");
  }
  r.size = s.encoder.output_size();
  r.vsize = s.encoder.crlf_size();
  r.renamed_headers = s.encoder.renamed_headers();
  r.quoted_lines = s.encoder.quoted_lines();
}

OutputEncoding encoding_for(const ConvertOptions& opt, bool repair, const AuditMessage* m,
                            const MessageCheckResult& check) {
  OutputEncoding enc;
  enc.crlf_to_lf = opt.format == OutputFormat::mbox || !opt.crlf;
  enc.mboxrd_quote = opt.format == OutputFormat::mbox;
  enc.rename_mbox_headers = opt.format == OutputFormat::mbox;
  if (repair && m) {
    enc.drop_nul = true;
    enc.fix_line_ends = true;
    if (check.has(MessageFault::no_blank_line_after_header))
      for (const auto& h : check.faults)
        if (h.fault == MessageFault::no_blank_line_after_header) enc.blank_line_before = static_cast<std::int64_t>(h.offset);
  }
  return enc;
}

}  // namespace cyrconv
