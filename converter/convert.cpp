#include "converter/convert.h"

#include <sys/stat.h>
#include <unistd.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "converter/convert_zimbra.h"
#include "converter/dav_export.h"
#include "converter/inventory.h"
#include "converter/output_layout.h"
#include "converter/plan_names.h"
#include "converter/progress.h"
#include "converter/scan.h"
#include "converter/source_io.h"
#include "converter/user_state.h"
#include "parsers/message_check.h"
#include "writers/gzip_file.h"
#include "writers/maildir.h"
#include "writers/manifest.h"
#include "writers/mbox.h"
#include "writers/message_encoder.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t read_buffer_size = 256 * 1024;

// Per-thread reusable state: no heap work per message once warm.
struct Worker {
  explicit Worker(MessageCheckOptions o) : checker(o), buffer(read_buffer_size) {}
  MessageChecker checker;
  std::vector<char> buffer;
  std::string encoded;
  OutputFile message_file;
};

struct FolderJob {
  const MailboxRef* mailbox = nullptr;     // null for a recovery folder of orphans
  const MailboxRef* orphans_of = nullptr;  // recovery folder: the folder whose orphans it holds
  std::size_t inventory = 0;               // index into the inventories
  std::size_t user = 0;
  const FolderNameResult* name = nullptr;
  std::uint64_t bytes = 0;
  ConvertFolder out;
};

struct UserPlan {
  std::string owner;
  fs::path root;   // absolute output root of this user
  std::string root_rel;
  const UserState* state = nullptr;
  NamingOutcome naming;
  std::vector<Finding> findings;
};

Finding make_finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

// One folder's output: a Maildir directory or an mbox file, plus manifest and quarantine.
struct FolderOutput {
  const ConvertOptions& opt;
  const UserPlan& user;
  FolderJob& job;
  fs::path maildir;        // Maildir folder directory
  fs::path mbox_file;      // mbox folder file
  OutputFile mbox;         // the folder's mbox, committed at the end
  OutputFile uidlist;
  OutputFile manifest;
  fs::path manifest_path, uidlist_path;
  fs::path quarantine_dir;
  std::string side_name;
  bool mbox_first = true;
  MboxFolderState mbox_state;

  FolderOutput(const ConvertOptions& o, const UserPlan& u, FolderJob& j) : opt(o), user(u), job(j) {}

  bool is_mbox() const { return opt.format == OutputFormat::mbox; }

  WriteStatus open(std::uint32_t uidvalidity, std::uint32_t uidnext, const FolderKeywords& kw) {
    side_name = side_file_name(*job.name);
    quarantine_dir = user.root / "quarantine" / side_name;
    if (auto st = make_directories(user.root / "manifests"); !st) return st;
    manifest_path = user.root / "manifests" / (side_name + ".jsonl");
    if (auto st = manifest.open(manifest_path.parent_path(), side_name + ".jsonl"); !st) return st;
    if (!is_mbox()) {
      maildir = user.root / "Maildir";
      if (!job.name->maildirpp.empty()) maildir /= job.name->maildirpp;
      job.out.output = user.root_rel + "/Maildir" + (job.name->maildirpp.empty() ? "" : "/" + job.name->maildirpp);
      if (auto st = prepare_maildir(maildir, job.name->maildirpp.empty()); !st) return st;
      uidlist_path = maildir / "dovecot-uidlist";
      if (auto st = uidlist.open(maildir, "dovecot-uidlist"); !st) return st;
      if (auto st = uidlist.write(dovecot_uidlist(uidvalidity, uidnext, {})); !st) return st;
      if (!kw.letters_order.empty())
        if (auto st = write_small_file(maildir / "dovecot-keywords", dovecot_keywords(kw.letters_order), false); !st)
          return st;
    } else {
      const std::string rel = job.name->mbox_path.empty() ? "INBOX" : job.name->mbox_path;
      mbox_file = user.root / "mail" / rel;
      job.out.output = user.root_rel + "/mail/" + rel + (opt.gzip ? ".gz" : "");
      if (auto st = make_directories(mbox_file.parent_path()); !st) return st;
      if (auto st = mbox.open(mbox_file.parent_path(), mbox_file.filename().string()); !st) return st;
      mbox_state = MboxFolderState{uidvalidity, uidnext ? uidnext - 1 : 0, kw.all_used};
    }
    return {};
  }

  // Keeps the original bytes of a repaired or quarantined message, with the reason beside them.
  WriteStatus keep_original(const fs::path& source, std::uint32_t uid, std::string_view label, const AuditMessage& m,
                            Worker& w) {
    if (auto st = make_directories(quarantine_dir); !st) return st;
    OutputFile copy;
    const std::string name = std::string(label) + "-" + std::to_string(uid) + ".eml";
    if (auto st = copy.open(quarantine_dir, name); !st) return st;
    WriteStatus write_status;
    SourceStream s = stream_source_file(source, w.buffer, [&](std::string_view chunk) {
      if (write_status) write_status = copy.write(chunk);
    });
    if (!write_status) return write_status;
    if (s.status != SourceOpen::Status::ok) return WriteStatus{false, s.message};
    if (auto st = copy.commit(quarantine_dir / name, -1, opt.sync != SyncPolicy::none, true); !st) return st;
    return write_small_file(quarantine_dir / (std::string(label) + "-" + std::to_string(uid) + ".reason"),
                            reason_text(uid, source, m), opt.sync != SyncPolicy::none);
  }

  static std::string reason_text(std::uint32_t uid, const fs::path& source, const AuditMessage& m) {
    std::string s = "uid: " + std::to_string(uid) + "\nsource: " + source.string() + "\naction: " + m.action + "\n";
    if (!m.reason.empty()) s += "reason: " + m.reason + "\n";
    for (const auto& c : m.changes) s += "change: " + c + "\n";
    for (const auto& f : m.findings) s += "finding: " + f.kind + ": " + f.detail + "\n";
    return s;
  }

  // Streams one message file into the output with `enc`; returns the check of the bytes read.
  struct Written {
    SourceStream read;
    MessageCheckResult check;
    std::uint64_t size = 0, vsize = 0;
    std::uint64_t renamed_headers = 0, quoted_lines = 0;
    std::uint64_t mbox_mark = 0;
    bool added_final_newline = false;
    WriteStatus write;
  };

  Written stream_message(const fs::path& source, OutputEncoding enc, std::uint32_t uid, std::uint32_t flags,
                         const std::vector<std::string>& keywords, const std::string& maildir_base, Worker& w) {
    Written r;
    // mbox metadata goes at the end of the message's own header: a header that starts with a
    // continuation line cannot swallow it, and the message's fields stay first.
    const std::string trailer =
        is_mbox() ? mbox_metadata_headers(uid, flags, keywords, mbox_first ? &mbox_state : nullptr) : std::string();
    enc.header_trailer = trailer;
    MessageEncoder encoder(enc);
    w.checker.reset();
    if (!is_mbox()) {
      r.write = w.message_file.open(maildir / "tmp", maildir_base);
    } else {
      r.mbox_mark = mbox.bytes_written();
    }
    bool first = true;
    r.read = stream_source_file(source, w.buffer, [&](std::string_view chunk) {
      w.checker.feed(chunk);
      if (!r.write) return;
      if (first && is_mbox()) {
        // The From_ line needs the envelope sender, which Cyrus put in the first Return-Path.
        r.write = mbox.write(mbox_from_line(envelope_sender_from_header(chunk), job_internaldate));
      }
      first = false;
      w.encoded.clear();
      encoder.encode(chunk, w.encoded);
      if (r.write) r.write = is_mbox() ? mbox.write(w.encoded) : w.message_file.write(w.encoded);
    });
    if (first && is_mbox() && r.write) r.write = mbox.write(mbox_from_line("", job_internaldate));  // empty file
    w.encoded.clear();
    encoder.finish(w.encoded);
    if (r.write && !w.encoded.empty()) r.write = is_mbox() ? mbox.write(w.encoded) : w.message_file.write(w.encoded);
    if (r.write && is_mbox()) {
      // The empty line that separates messages; a last line without its newline gets one first.
      r.added_final_newline = encoder.added_line_end() || encoder.last_output() != '\n';
      r.write = mbox.write(r.added_final_newline ? "\n\n" : "\n");
    }
    r.check = w.checker.finish();
    r.size = encoder.output_size();
    r.vsize = encoder.crlf_size();
    r.renamed_headers = encoder.renamed_headers();
    r.quoted_lines = encoder.quoted_lines();
    return r;
  }

  std::int64_t job_internaldate = 0;  // INTERNALDATE of the message being streamed (mbox From_)
};

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

void convert_folder(const ConvertOptions& opt, const UserPlan& user, FolderJob& job, const MailboxInventory& inv,
                    const std::vector<std::uint32_t>& orphan_uids, tbb::enumerable_thread_specific<Worker>& workers,
                    Progress& progress) {
  Worker& w = workers.local();
  ConvertFolder& out = job.out;
  const bool recovery = job.orphans_of != nullptr;
  const MailboxRef& source = recovery ? *job.orphans_of : *job.mailbox;
  const std::uint32_t uidvalidity = inv.header.uidvalidity;  // a recovery folder takes its source's
  const std::uint32_t uidnext =
      recovery ? static_cast<std::uint32_t>(orphan_uids.size() + 1) : inv.header.last_uid + 1;
  out.uidvalidity = uidvalidity;
  out.uidnext = uidnext;
  const FolderKeywords kw = recovery ? FolderKeywords{} : plan_keywords(inv);

  FolderOutput fo(opt, user, job);
  if (auto st = fo.open(uidvalidity, uidnext, kw); !st) {
    out.failed = true;
    out.fail_reason = st.message;
    out.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
    if (!recovery) out.count.messages = out.count.not_converted = inv.live.size();
    return;
  }
  const bool sync_each = opt.sync == SyncPolicy::message;

  // The messages to write: live records in UID order, or the orphan files of the source folder.
  struct Item {
    const IndexRecord* record;
    std::uint32_t source_uid;
    std::uint32_t target_uid;
  };
  std::vector<Item> items;
  if (recovery) {
    std::uint32_t next = 1;
    for (std::uint32_t uid : orphan_uids) items.push_back(Item{nullptr, uid, next++});
  } else {
    for (const auto& r : inv.live) items.push_back(Item{&r, r.uid, r.uid});
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.source_uid < b.source_uid; });
  }

  std::set<std::uint32_t> missing;
  for (const auto& f : inv.findings)
    if (f.kind == "message_file_missing") missing.insert(f.uid);

  std::uint32_t previous_uid = 0;
  for (const Item& item : items) {
    const IndexRecord* r = item.record;
    const fs::path path = r ? message_file_path(source, *r) : source.dir / (std::to_string(item.source_uid) + ".");
    ManifestEntry me;
    me.uid = item.target_uid;
    me.source_file = path.string();
    std::uint32_t flags = 0;
    std::int64_t internaldate = 0;
    if (r) {
      flags = converted_system_flags(r->system_flags);
      internaldate = r->internaldate;
      me.size = r->size;
      me.keywords = record_keywords(*r, inv);
    } else {
      // An orphan has no record: Cyrus set its file's mtime to the INTERNALDATE on append.
      struct stat st {};
      if (::lstat(path.c_str(), &st) == 0) internaldate = st.st_mtime;
    }
    me.flags = system_flag_names(flags);
    me.internaldate = internaldate;

    AuditMessage m;
    const bool duplicate = r && item.source_uid == previous_uid;
    previous_uid = item.source_uid;
    if (recovery)
      ++out.count.orphans;
    else
      ++out.count.messages;
    if (out.failed) {
      ++out.count.not_converted;
      me.disposition = "not_converted";
      (void)fo.manifest.write(manifest_line(me, fo.is_mbox()));
      progress.add(r ? r->size : 0, 1);
      continue;
    }
    if (r && opt.skip_deleted && (flags & imapflag::deleted)) {
      ++out.skipped_deleted;
      me.disposition = "skipped_deleted";
      (void)fo.manifest.write(manifest_line(me, fo.is_mbox()));
      progress.add(r->size, 1);
      continue;
    }
    if (r && !duplicate && missing.count(item.source_uid)) {
      m.uid = item.source_uid;
      m.file = path.string();
      m.action = opt.on_corrupt == OnCorrupt::fail ? "fail" : "missing";
      m.reason = "message file missing";
      m.findings.push_back(make_finding(Finding::Severity::error, "message_file_missing", path.string(), m.uid,
                                        "the index lists a live message but its file is missing"));
    }

    // Stream: read once, check and encode in the same pass.
    const std::string base = maildir_base_name(uidvalidity, item.target_uid, internaldate);
    fo.job_internaldate = internaldate;
    const std::vector<std::string>& kws = me.keywords;
    const std::string letters = r ? record_keyword_letters(*r, kw) : std::string();

    FolderOutput::Written wr;
    bool streamed = false;
    if (m.action.empty() && !duplicate) {
      wr = fo.stream_message(path, encoding_for(opt, false, nullptr, MessageCheckResult{}), item.target_uid, flags,
                             kws, base, w);
      streamed = true;
      me.sha1 = wr.check.sha1;
      me.sha1_known = wr.read.status == SourceOpen::Status::ok;
      if (!r) me.size = wr.check.size;
      out.bytes_written += wr.size;
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.index_version = inv.header.minor_version;
      subject.read_failed = wr.read.status != SourceOpen::Status::ok;
      subject.read_error = wr.read.message;
      m = decide_message(subject, &wr.check, opt.on_corrupt, job.out.name);
      // This is the recovery folder: a recovered orphan is written, with the repairs it needs.
      if (m.action == "recover") m.action = m.changes.empty() ? "write" : "repair";
    } else if (duplicate) {
      MessageSubject subject;
      subject.record = r;
      subject.uid = item.source_uid;
      subject.file = path.string();
      subject.duplicate_record = true;
      m = decide_message(subject, nullptr, opt.on_corrupt, job.out.name);
    }

    auto undo_stream = [&]() {
      if (!streamed) return;
      if (fo.is_mbox())
        (void)fo.mbox.rewind_to(wr.mbox_mark);
      else
        w.message_file.abort();
      out.bytes_written -= wr.size;
    };
    auto fail_write = [&](const WriteStatus& st) {
      out.failed = true;
      out.fail_reason = st.message;
      out.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, item.source_uid, st.message));
    };
    auto commit_message = [&](const FolderOutput::Written& done) -> bool {
      if (!done.write) {
        fail_write(done.write);
        return false;
      }
      if (fo.is_mbox()) {
        fo.mbox_first = false;
        me.mbox_offset = done.mbox_mark;
        if (done.quoted_lines)
          me.changes.push_back("mboxrd: " + std::to_string(done.quoted_lines) + " line(s) matching ^>*From  got one more '>'");
        if (done.added_final_newline) me.changes.push_back("mbox: added the line end the last line lacked");
        if (done.renamed_headers)
          me.changes.push_back("renamed " + std::to_string(done.renamed_headers) +
                               " header field(s) mbox readers take as their own to X-Cyrconv-Orig-*");
        return true;
      }
      const std::string name = maildir_file_name(base, done.size, done.vsize, maildir_info_flags(flags, letters));
      if (auto st = w.message_file.commit(fo.maildir / "cur" / name, internaldate, sync_each, false); !st) {
        fail_write(st);
        return false;
      }
      me.output_file = out.output.substr(user.root_rel.size() + 1) + "/cur/" + name;
      // Dovecot matches uidlist entries on the whole name before ":2,", S= and W= included.
      (void)fo.uidlist.write(std::to_string(item.target_uid) + " :" + name.substr(0, name.find(':')) + "\n");
      return true;
    };

    if (m.action == "write") {
      if (commit_message(wr)) {
        ++out.count.written;
        me.disposition = "written";
      } else {
        undo_stream();
        ++out.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "repair") {
      undo_stream();
      const auto kept = fo.keep_original(path, item.source_uid, "original", m, w);
      FolderOutput::Written fixed =
          fo.stream_message(path, encoding_for(opt, true, &m, wr.check), item.target_uid, flags, kws, base, w);
      out.bytes_written += fixed.size;
      if (kept && commit_message(fixed)) {
        ++out.count.repaired;
        me.disposition = "repaired";
        me.changes.insert(me.changes.begin(), m.changes.begin(), m.changes.end());
      } else {
        if (!kept) fail_write(kept);
        ++out.count.not_converted;
        me.disposition = "not_converted";
      }
    } else if (m.action == "quarantine" || m.action == "fail") {
      undo_stream();
      if (m.action == "fail") {
        out.failed = true;
        out.fail_reason = "UID " + std::to_string(item.source_uid) + ": " + m.reason;
        ++out.count.not_converted;
        me.disposition = "not_converted";
      } else {
        const auto kept = fo.keep_original(path, item.source_uid, "quarantined", m, w);
        if (!kept) {
          fail_write(kept);
          ++out.count.not_converted;
          me.disposition = "not_converted";
        } else {
          ++out.count.quarantined;
          me.disposition = "quarantined";
          me.reason = m.reason;
        }
      }
    } else if (m.action == "missing") {
      ++out.count.missing;
      me.disposition = "missing";
      me.reason = m.reason;
    }
    if (recovery) {
      if (me.disposition == "written" || me.disposition == "repaired")
        ++out.count.orphans_recovered;
      else
        ++out.count.orphans_quarantined;
    }
    (void)fo.manifest.write(manifest_line(me, fo.is_mbox()));
    progress.add(r ? r->size : 0, 1);
    if (!m.findings.empty() || m.action != "write") out.messages.push_back(std::move(m));
  }
  if (recovery) {
    // Orphans are counted against their source folder's accounting, not as index messages.
    out.count.written = out.count.repaired = out.count.quarantined = 0;
  }

  // Finish: uidlist, the mbox file, the manifest.
  const bool sync_folder = opt.sync != SyncPolicy::none;
  auto fail_write = [&](const WriteStatus& st) {
    out.failed = true;
    out.fail_reason = st.message;
    out.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  };
  if (!fo.is_mbox()) {
    if (auto st = fo.uidlist.commit(fo.uidlist_path, -1, sync_folder, true); !st) fail_write(st);
    if (sync_folder)
      if (auto st = sync_directory(fo.maildir / "cur"); !st) fail_write(st);
  } else {
    if (!opt.gzip) {
      if (auto st = fo.mbox.commit(fo.mbox_file, -1, sync_folder, false); !st) fail_write(st);
    } else {
      // Commit the plain file under a temporary name, then compress it into place.
      fs::path plain = fo.mbox_file;
      plain.replace_filename("." + fo.mbox_file.filename().string() + ".cyrconv-plain");
      ::unlink(plain.c_str());
      if (auto st = fo.mbox.commit(plain, -1, false, false); !st) {
        fail_write(st);
      } else if (auto gz = gzip_into_place(plain, fs::path(fo.mbox_file.string() + ".gz"), sync_folder); !gz) {
        fail_write(gz);
      }
    }
  }
  if (auto st = fo.manifest.commit(fo.manifest_path, -1, sync_folder, true); !st) fail_write(st);
}

}  // namespace

ConvertReport run_convert(const SourceInputs& inputs, const ConvertOptions& opt) {
  if (opt.format == OutputFormat::zimbra_tgz) return run_convert_zimbra(inputs, opt);  // converter/convert_zimbra.cpp
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  ConvertReport report;
  report.out = opt.out.string();
  report.format = opt.format == OutputFormat::maildir ? "maildir" : "mbox";
  report.profile = to_string(opt.profile);
  report.on_corrupt = to_string(opt.on_corrupt);
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());

  // Pass 1: discover.
  Discovery disc = discover(inputs);
  report.findings = std::move(disc.findings);
  const std::set<std::string> wanted(opt.users.begin(), opt.users.end());
  std::vector<const MailboxRef*> selected;
  std::vector<ConvertFolder> not_converted;  // deleted folders and non-mail collections
  for (const auto& mb : disc.mailboxes) {
    const std::string owner = mb.deleted ? std::string() : mb.name.owner();
    if (!wanted.empty() && !wanted.count(owner)) continue;
    if (mb.deleted) {
      ConvertFolder f;
      bool valid = true;
      f.name = display_folder_name(mb.name, valid);
      f.name_raw = mb.name.internal();
      f.action = "deleted";
      f.findings.push_back(make_finding(Finding::Severity::info, "deleted_folder_skipped", mb.dir.string(), 0,
                                        "folder in the DELETED hierarchy (delayed delete): not converted"));
      not_converted.push_back(std::move(f));
      continue;
    }
    if (selected_for_conversion(mb, wanted)) selected.push_back(&mb);  // not on disk: already a finding
  }
  for (const auto& u : opt.users) {
    bool found = false;
    for (const auto* mb : selected) found = found || mb->name.owner() == u;
    if (!found)
      report.findings.push_back(make_finding(Finding::Severity::error, "user_not_found", "", 0,
                                             "--users names " + u + " but the store has no folder of that user"));
  }

  // Per-user databases (seen state, subscriptions), loaded once per owner.
  const SourceStates states = load_source_states(inputs, selected);

  // Pass 2: inventory, in parallel.
  std::vector<MailboxInventory> inv(selected.size());
  tbb::parallel_for(std::size_t{0}, selected.size(),
                    [&](std::size_t i) { inv[i] = inventory_mailbox(*selected[i], states.seen_for(*selected[i])); });

  // Pass 3: plan. Names per user (all of a user's folders at once; the same plan verify makes),
  // then largest folders first. A rename map that itself collides is refused before anything
  // is written.
  NamePlan plan = plan_names(selected, inv, opt.profile, opt.rename_map);
  for (const auto& e : plan.rename_map_errors)
    report.findings.push_back(make_finding(Finding::Severity::error, "rename_map_refused", "", 0, e));
  for (const auto& e : plan.naming_errors)
    report.findings.push_back(make_finding(Finding::Severity::error, "naming_refused", "", 0, e));
  if (plan.refused()) {  // nothing written
    report.fatal = true;
    report.errors = report.findings.size();
    return report;
  }
  std::vector<UserPlan> users;
  for (auto& pu : plan.users) {
    UserPlan u;
    u.owner = pu.owner;
    u.root_rel = pu.root_rel;
    u.root = opt.out / u.root_rel;
    u.state = states.by_owner.at(pu.owner).get();
    u.naming = std::move(pu.naming);
    users.push_back(std::move(u));
  }
  const auto& orphans = plan.orphans;

  auto name_of = [&](std::size_t u, const std::string& internal) -> const FolderNameResult* {
    for (const auto& r : users[u].naming.folders)
      if (r.internal_name == internal) return &r;
    return nullptr;
  };

  std::vector<FolderJob> jobs;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::size_t u = plan.user_of[i];
    FolderJob job;
    job.mailbox = selected[i];
    job.inventory = i;
    job.user = u;
    job.name = name_of(u, selected[i]->name.internal());
    job.bytes = inv[i].bytes;
    bool valid = true;
    job.out.name = display_folder_name(selected[i]->name, valid);
    job.out.name_raw = selected[i]->name.internal();
    job.out.findings = inv[i].findings;
    std::erase_if(job.out.findings, [](const Finding& f) {
      return f.kind == "message_file_missing" || f.kind == "orphan_message_file";
    });
    if (job.name) {
      job.out.target = job.name->path;
      job.out.renamed = job.name->renamed;
      job.out.rename_reason = job.name->why;
      job.out.action = to_string(job.name->action);
    }
    jobs.push_back(std::move(job));
    if (!orphans[i].empty()) {
      FolderJob rec;
      rec.orphans_of = selected[i];
      rec.inventory = i;
      rec.user = u;
      rec.name = name_of(u, selected[i]->name.internal() + std::string(orphan_suffix));
      rec.out.name = jobs.back().out.name + " (orphan files)";
      rec.out.name_raw = selected[i]->name.internal();
      rec.out.action = "recover_orphans";
      if (rec.name) rec.out.target = rec.name->path;
      jobs.push_back(std::move(rec));
    }
  }
  std::vector<std::size_t> order(jobs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return jobs[a].bytes > jobs[b].bytes; });

  // Pass 4: convert, largest folders first. A user whose output already exists is left alone:
  // resuming and incremental runs are not built yet, and nothing in the destination may be
  // replaced or deleted.
  std::vector<bool> user_refused(users.size(), false);
  for (std::size_t u = 0; u < users.size(); ++u) {
    std::error_code ec;
    // Any earlier output, ours or another program's (mail delivered after cutover), counts.
    if (fs::exists(users[u].root / "manifests", ec) || fs::exists(users[u].root / "Maildir", ec) ||
        fs::exists(users[u].root / "mail", ec)) {
      user_refused[u] = true;
      users[u].findings.push_back(make_finding(
          Finding::Severity::error, "output_exists", users[u].root.string(), 0,
          "this user's output is already there (from an earlier run, or mail delivered since): left untouched; "
          "re-runs that resume or add to it are not built yet, so convert into a new --out"));
    } else if (auto st = make_directories(users[u].root); !st) {
      users[u].findings.push_back(make_finding(Finding::Severity::error, "output_failed", users[u].root.string(), 0, st.message));
    }
  }
  for (auto& job : jobs) {
    if (!user_refused[job.user]) continue;
    const MailboxInventory& mi = inv[job.inventory];
    job.out.count.messages = job.orphans_of ? 0 : mi.live.size();
    job.out.count.not_converted = job.out.count.messages;
    job.name = nullptr;
  }
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& job : jobs)
    if (!user_refused[job.user] && !job.orphans_of) {
      total_bytes += job.bytes;
      total_messages += inv[job.inventory].live.size();
    }
  Progress progress("convert", total_bytes, total_messages, opt.quiet);
  tbb::enumerable_thread_specific<Worker> workers(MessageCheckOptions{opt.mime});
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, order.size(), 1),
      [&](const tbb::blocked_range<std::size_t>& range) {
        for (std::size_t k = range.begin(); k != range.end(); ++k) {
          FolderJob& job = jobs[order[k]];
          const UserPlan& user = users[job.user];
          const MailboxInventory& mi = inv[job.inventory];
          if (user_refused[job.user]) continue;
          if (!job.name) {
            job.out.findings.push_back(make_finding(Finding::Severity::error, "naming_missing", "", 0,
                                                    "no target name was planned for this folder"));
            job.out.count.not_converted = mi.live.size();
            continue;
          }
          switch (job.name->action) {
            case FolderAction::mail_folder:
              convert_folder(opt, user, job, mi, orphans[job.inventory], workers, progress);
              break;
            case FolderAction::export_calendar:
            case FolderAction::export_addressbook:
              export_dav_collection(*job.mailbox, mi, user.root / job.name->export_file, job.out,
                                    opt.sync != SyncPolicy::none);
              job.out.output = user.root_rel + "/" + job.name->export_file;
              progress.add(job.bytes, mi.live.size());
              break;
            case FolderAction::skip:
              progress.add(job.bytes, mi.live.size());
              job.out.count.messages = mi.live.size();
              job.out.count.not_converted = mi.live.size();
              if (!mi.live.empty())
                job.out.findings.push_back(make_finding(Finding::Severity::warning, "collection_not_converted",
                                                        job.mailbox->dir.string(), 0,
                                                        "DAV collection of a kind that is not exported"));
              break;
          }
        }
      },
      tbb::simple_partitioner());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Pass 5: finish. A Maildir root without an INBOX (the shared tree) still gets a uidlist, or
  // Dovecot would invent an INBOX with a UIDVALIDITY of its own. Then subscriptions per user.
  if (opt.format == OutputFormat::maildir) {
    for (std::size_t u = 0; u < users.size(); ++u) {
      bool has_inbox = false;
      std::uint32_t uidvalidity = 0;
      for (const auto& job : jobs) {
        if (job.user != u || !job.name || job.name->action != FolderAction::mail_folder) continue;
        has_inbox = has_inbox || job.name->maildirpp.empty();
        if (job.out.uidvalidity && (!uidvalidity || job.out.uidvalidity < uidvalidity)) uidvalidity = job.out.uidvalidity;
      }
      if (has_inbox || user_refused[u]) continue;
      const fs::path root = users[u].root / "Maildir";
      WriteStatus st = prepare_maildir(root, true);
      if (st) st = write_small_file(root / "dovecot-uidlist", dovecot_uidlist(uidvalidity ? uidvalidity : 1, 1, {}),
                                    opt.sync != SyncPolicy::none);
      if (!st) users[u].findings.push_back(make_finding(Finding::Severity::error, "output_failed", root.string(), 0, st.message));
    }
  }
  for (std::size_t ui = 0; ui < users.size(); ++ui) {
    UserPlan& u = users[ui];
    if (u.owner.empty() || user_refused[ui]) continue;
    const bool maildir = opt.format == OutputFormat::maildir;
    std::vector<std::string> names;
    for (const auto& sub : u.state->subscriptions) {
      const FolderNameResult* n = nullptr;
      for (const auto& r : u.naming.folders)
        if (r.internal_name == sub.internal()) n = &r;
      if (!n || n->action != FolderAction::mail_folder) continue;
      // Dovecot's subscription files hold storage names: '.'-separated for Maildir++, the
      // file path below the mail root for mbox.
      if (maildir)
        names.push_back(n->maildirpp.empty() ? "INBOX" : n->maildirpp.substr(1));
      else
        names.push_back(n->mbox_path.empty() ? "INBOX" : n->mbox_path);
    }
    std::sort(names.begin(), names.end());
    const fs::path file = maildir ? u.root / "Maildir" / "subscriptions" : u.root / "mail" / ".subscriptions";
    if (auto st = make_directories(file.parent_path()); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
    if (auto st = write_small_file(file, maildir_subscriptions(names), opt.sync != SyncPolicy::none); !st)
      u.findings.push_back(make_finding(Finding::Severity::error, "output_failed", u.root.string(), 0, st.message));
  }

  // Every rename, for the administrator and for --rename-map on the next run.
  {
    std::string map = format_rename_map_header();
    for (const auto& u : users) map += format_rename_map_lines(u.owner, opt.profile, u.naming);
    if (auto st = write_small_file(opt.out / "rename-map.tsv", map, opt.sync != SyncPolicy::none); !st)
      report.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
  }

  std::map<std::string, ConvertUser> by_user;
  for (auto& job : jobs) {
    ConvertUser& cu = by_user[users[job.user].owner];
    cu.user = users[job.user].owner;
    cu.output = users[job.user].root_rel;
    cu.folders.push_back(std::move(job.out));
  }
  for (auto& u : users) {
    ConvertUser& cu = by_user[u.owner];
    cu.user = u.owner;
    cu.output = u.root_rel;
    cu.findings = std::move(u.findings);
    for (const auto& f : u.state->findings) cu.findings.push_back(f);
  }
  if (!not_converted.empty()) {
    ConvertUser& cu = by_user[""];
    for (auto& f : not_converted) cu.folders.push_back(std::move(f));
  }
  for (auto& [owner, cu] : by_user) {
    std::sort(cu.folders.begin(), cu.folders.end(),
              [](const ConvertFolder& a, const ConvertFolder& b) { return a.name_raw < b.name_raw; });
    report.users.push_back(std::move(cu));
  }
  auto count = [&](const std::vector<Finding>& fs) {
    for (const auto& f : fs) {
      if (f.severity == Finding::Severity::error) ++report.errors;
      if (f.severity == Finding::Severity::warning) ++report.warnings;
    }
  };
  count(report.findings);
  for (const auto& u : report.users) {
    count(u.findings);
    for (const auto& f : u.folders) {
      ++report.folders;
      count(f.findings);
      for (const auto& m : f.messages) count(m.findings);
      report.totals += f.count;
      report.skipped_deleted += f.skipped_deleted;
      report.bytes_written += f.bytes_written;
    }
  }
  return report;
}

}  // namespace cyrconv
