#include "converter/verify/verify.h"
#include "converter/follow/follow_source.h"

#include <sys/stat.h>
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "converter/source/census.h"
#include "converter/source/mailbox_error.h"
#include "converter/source/inventory.h"
#include "converter/source/io_fanout.h"
#include "converter/verify/mbox_reader.h"
#include "converter/plan/output_layout.h"
#include "converter/verify/output_reader.h"
#include "converter/convert/journal.h"
#include "converter/cli/progress.h"
#include "converter/plan/plan_names.h"
#include "converter/source/prefetch.h"
#include "converter/audit/scan.h"
#include "converter/source/source_io.h"
#include "writers/maildir.h"
#include "writers/mbox.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t read_buffer_size = 256 * 1024;
using Digest = std::array<std::uint8_t, 20>;

// Per-thread reusable state: one read buffer and one hasher, no heap work per message.
struct Worker {
  Worker() : buffer(read_buffer_size) {}
  std::vector<char> buffer;
  Sha1Stream sha;
  Prefetcher prefetch;  // --io-depth: the folder's next files, read ahead
};

// One source message as convert saw it: a live record, or an orphan file of a recovery folder.
struct SourceMessage {
  std::uint32_t uid = 0;          // the UID in the output (orphans: 1..n)
  std::uint32_t source_uid = 0;   // the file's UID in the spool (names the quarantine files)
  const IndexRecord* record = nullptr;
  fs::path file;
  std::uint32_t flags = 0;
  std::vector<std::string> keywords;
  std::string letters;            // Maildir keyword letters
  std::int64_t internaldate = 0;
  std::uint64_t size = 0;
  bool duplicate = false;         // an earlier record had this UID
  bool file_missing = false;      // inventory found no file
  std::optional<Digest> guid;     // index GUID when the index has one
};

struct Job {
  std::size_t folder = 0;  // index into selected
  bool recovery = false;
  const FolderNameResult* name = nullptr;
  FolderNameResult sibling;                 // where convert put it when the planned target was taken
  std::optional<FolderDone> done;           // the journal's record of the folder's last conversion
  std::uint64_t bytes = 0;
  VerifyFolder out;
  // What this folder's checks found of each source file, for the census (by UID; `archived`:
  // the file is on the archive partition).
  struct Mark {
    std::uint32_t uid;
    CensusMark mark;
    bool archived;
  };
  std::vector<Mark> marks;
};

Finding error(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail) {
  return Finding{Finding::Severity::error, std::move(kind), file.string(), 0, uid, std::move(detail)};
}
Finding info(std::string kind, const fs::path& file, std::uint32_t uid, std::string detail) {
  return Finding{Finding::Severity::info, std::move(kind), file.string(), 0, uid, std::move(detail)};
}

std::string join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

std::string uid_text(std::uint32_t uid) { return "UID " + std::to_string(uid); }

// Streams a whole file; the sink sees each chunk. Returns "" or what went wrong.
std::string read_file_chunks(const fs::path& p, Worker& w, std::uint64_t& bytes_read,
                             const std::function<void(std::string_view)>& sink) {
  SourceStream s = w.prefetch.stream(p, w.buffer, sink);  // read directly when not read ahead
  bytes_read += s.bytes;
  if (s.status == SourceOpen::Status::ok) return {};
  return s.message.empty() ? p.string() + ": cannot read" : s.message;
}

std::optional<std::string> read_small(const fs::path& p, Worker& w, std::uint64_t& bytes_read) {
  std::string text;
  if (!read_file_chunks(p, w, bytes_read, [&](std::string_view c) { text.append(c); }).empty()) return std::nullopt;
  return text;
}

// SHA-1 of a file's bytes, optionally with LF counted as CRLF; sizes in `w.sha`.
std::optional<Digest> hash_file(const fs::path& p, bool lf_to_crlf, Worker& w, std::uint64_t& bytes_read,
                                std::string& why) {
  w.sha.reset(lf_to_crlf);
  why = read_file_chunks(p, w, bytes_read, [&](std::string_view c) { w.sha.feed(c); });
  const Digest d = w.sha.finish();
  if (!why.empty()) return std::nullopt;
  return d;
}

struct FolderContext {
  const VerifyOptions& opt;
  const MailboxRef& mailbox;
  const MailboxInventory& inv;
  const PlannedUser& user;
  const std::vector<std::uint32_t>& orphans;
  fs::path user_root;
  Job& job;
  Worker& w;
  std::vector<SourceMessage> messages;
  std::map<std::uint32_t, std::vector<ManifestRecord>> manifest;  // by UID, file order
  bool manifest_read = false;
  IoThreads* io = nullptr;  // --io-depth > 1: the prefetch stage's I/O threads
  int io_depth = 1;

  VerifyFolder& out() { return job.out; }
  void add(Finding f) { job.out.findings.push_back(std::move(f)); }

  // The source SHA-1: the index GUID, else the source file read now.
  std::optional<Digest> source_sha1(const SourceMessage& m) {
    if (m.guid) return m.guid;
    std::string why;
    auto d = hash_file(m.file, false, w, job.out.bytes_read, why);
    if (!d) add(error("source_unreadable", m.file, m.uid, why));
    return d;
  }
};

void collect_source(FolderContext& c) {
  if (c.job.recovery) {
    std::uint32_t next = 1;
    for (std::uint32_t orphan : c.orphans) {
      SourceMessage m;
      m.uid = next++;
      m.source_uid = orphan;
      m.file = c.mailbox.dir / (std::to_string(orphan) + ".");
      // An orphan has no record: Cyrus set its file's mtime to the INTERNALDATE on append.
      struct stat st {};
      if (::lstat(m.file.c_str(), &st) == 0) {
        m.internaldate = st.st_mtime;
        m.size = static_cast<std::uint64_t>(st.st_size);
      }
      c.messages.push_back(std::move(m));
    }
    return;
  }
  std::set<std::uint32_t> missing;
  for (const auto& f : c.inv.findings)
    if (f.kind == "message_file_missing") missing.insert(f.uid);
  const FolderKeywords kw = plan_keywords(c.inv);
  for (const auto& r : c.inv.live) {
    SourceMessage m;
    m.uid = m.source_uid = r.uid;
    m.record = &r;
    m.file = message_file_path(c.mailbox, r);
    m.flags = converted_system_flags(r.system_flags);
    m.keywords = record_keywords(r, c.inv);
    m.letters = record_keyword_letters(r, kw);
    std::sort(m.letters.begin(), m.letters.end());
    m.internaldate = r.internaldate;
    m.size = r.size;
    m.file_missing = missing.count(r.uid) > 0;
    if (c.inv.header.minor_version >= 10 && r.has_guid()) m.guid = r.guid;
    c.messages.push_back(std::move(m));
  }
  std::stable_sort(c.messages.begin(), c.messages.end(),
                   [](const SourceMessage& a, const SourceMessage& b) { return a.uid < b.uid; });
  for (std::size_t i = 1; i < c.messages.size(); ++i) c.messages[i].duplicate = c.messages[i].uid == c.messages[i - 1].uid;
}

void read_manifest(FolderContext& c, const fs::path& path) {
  std::string pending;
  std::size_t line_no = 0;
  auto take_line = [&](std::string_view line) {
    ++line_no;
    if (line.empty()) return;
    std::string why;
    auto rec = parse_manifest_line(line, why);
    if (!rec) {
      c.add(error("manifest_unreadable", path, 0, "line " + std::to_string(line_no) + ": " + why));
      return;
    }
    // Keyed by the Cyrus UID: an incremental run may have numbered a message on in the target.
    c.manifest[rec->source_uid].push_back(std::move(*rec));
  };
  const std::string why = read_file_chunks(path, c.w, c.out().bytes_read, [&](std::string_view chunk) {
    std::size_t pos = 0;
    while (pos < chunk.size()) {
      const std::size_t eol = chunk.find('\n', pos);
      if (eol == std::string_view::npos) {
        pending.append(chunk.substr(pos));
        break;
      }
      if (pending.empty()) {
        take_line(chunk.substr(pos, eol - pos));
      } else {
        pending.append(chunk.substr(pos, eol - pos));
        take_line(pending);
        pending.clear();
      }
      pos = eol + 1;
    }
  });
  if (!pending.empty()) take_line(pending);
  if (!why.empty()) {
    c.add(error("manifest_missing", path, 0, "the flag manifest of this folder cannot be read: " + why));
    return;
  }
  c.manifest_read = true;
}

// The manifest's description of a source message against the source.
void check_manifest_entry(FolderContext& c, const SourceMessage& m, const ManifestRecord& e, const fs::path& mpath,
                          bool& bad) {
  auto mismatch = [&](const std::string& what) {
    c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": " + what));
    bad = true;
  };
  // convert may have been given the spool by another (relative) path: the file name must agree.
  if (fs::path(e.source_file).filename() != m.file.filename())
    mismatch("source_file is " + e.source_file + ", expected " + m.file.string());
  if (m.duplicate) return;  // convert lists a duplicate without reading it again
  const auto flags = system_flag_names(m.flags);
  if (e.flags != flags) mismatch("flags are [" + join(e.flags) + "], the source has [" + join(flags) + "]");
  if (e.keywords != m.keywords)
    mismatch("keywords are [" + join(e.keywords) + "], the source has [" + join(m.keywords) + "]");
  if (e.internaldate != m.internaldate)
    mismatch("internaldate is " + std::to_string(e.internaldate) + ", the source has " + std::to_string(m.internaldate));
  if (m.record && e.size != m.size)
    mismatch("size is " + std::to_string(e.size) + ", the index says " + std::to_string(m.size));
}

std::string expected_from_date(std::int64_t internaldate) {
  std::string l = mbox_from_line("x", internaldate);  // "From x <date>\n"
  return l.substr(7, l.size() - 8);
}

bool manifest_says(const ManifestRecord& e, std::string_view prefix) {
  for (const auto& ch : e.changes)
    if (ch.rfind(prefix, 0) == 0) return true;
  return false;
}

// Count in a manifest change like "mboxrd: 3 line(s) ..." or "renamed 2 header field(s) ...".
std::uint64_t manifest_count(const ManifestRecord& e, std::string_view prefix) {
  for (const auto& ch : e.changes)
    if (ch.rfind(prefix, 0) == 0) return std::strtoull(ch.c_str() + prefix.size(), nullptr, 10);
  return 0;
}

// A repaired message's original bytes, kept in the quarantine tree, against the source SHA-1.
void check_kept_original(FolderContext& c, const SourceMessage& m, const fs::path& qdir, const char* label, bool& bad) {
  const fs::path eml = qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".eml");
  const fs::path reason = qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".reason");
  std::error_code ec;
  if (!fs::is_regular_file(reason, ec)) {
    c.add(error("quarantine_file_missing", reason, m.uid, uid_text(m.uid) + ": the reason file is not there"));
    bad = true;
  }
  std::string why;
  const auto got = hash_file(eml, false, c.w, c.out().bytes_read, why);
  if (!got) {
    c.add(error("quarantine_file_missing", eml, m.uid, uid_text(m.uid) + ": the original bytes are not there: " + why));
    bad = true;
    return;
  }
  // Kept bytes are the source file as it is (a quarantined file may not match its GUID).
  std::string source_why;
  const auto want = hash_file(m.file, false, c.w, c.out().bytes_read, source_why);
  if (!want) {
    c.add(error("source_unreadable", m.file, m.uid, source_why));
    bad = true;
  } else if (*got != *want) {
    c.add(error("quarantine_mismatch", eml, m.uid,
                uid_text(m.uid) + ": SHA-1 " + hex20(*got) + ", the source file's is " + hex20(*want)));
    bad = true;
  }
}

// Outcome of one source message for the counts.
enum class Outcome { verified, quarantined, listed_missing, skipped_deleted, not_converted, mismatched, lost };

void count(VerifyCounts& k, Outcome o) {
  switch (o) {
    case Outcome::verified: ++k.verified; break;
    case Outcome::quarantined: ++k.quarantined; break;
    case Outcome::listed_missing: ++k.listed_missing; break;
    case Outcome::skipped_deleted: ++k.skipped_deleted; break;
    case Outcome::not_converted: ++k.not_converted; break;
    case Outcome::mismatched: ++k.mismatched; break;
    case Outcome::lost: ++k.lost; break;
  }
}

// Checks that do not depend on the format: a listed disposition and the quarantine tree.
// Returns the outcome when the message is not expected in the output, nullopt otherwise.
std::optional<Outcome> check_listed(FolderContext& c, const SourceMessage& m, const ManifestRecord& e,
                                    const fs::path& qdir, const fs::path& mpath, bool& bad) {
  if (e.disposition == "written" || e.disposition == "repaired") return std::nullopt;
  if (e.disposition == "quarantined") {
    check_kept_original(c, m, qdir, "quarantined", bad);
    return bad ? Outcome::mismatched : Outcome::quarantined;
  }
  if (e.disposition == "missing") {
    if (!m.file_missing) {
      c.add(error("disposition_mismatch", mpath, m.uid,
                  uid_text(m.uid) + ": listed as missing, but the source file " + m.file.string() + " is there"));
      return Outcome::mismatched;
    }
    return bad ? Outcome::mismatched : Outcome::listed_missing;
  }
  if (e.disposition == "skipped_deleted") {
    if (!(m.flags & imapflag::deleted)) {
      c.add(error("disposition_mismatch", mpath, m.uid, uid_text(m.uid) + ": listed as skipped_deleted, but it is not \\Deleted"));
      return Outcome::mismatched;
    }
    return bad ? Outcome::mismatched : Outcome::skipped_deleted;
  }
  if (e.disposition == "not_converted") return bad ? Outcome::mismatched : Outcome::not_converted;
  c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": unknown disposition '" + e.disposition + "'"));
  return Outcome::mismatched;
}

// Hands each source message to `fn` with the manifest entry of the same UID, in order (null
// when there is none); returns how many entries of each UID were paired.
template <typename Fn>
std::map<std::uint32_t, std::size_t> pair_with_manifest(const FolderContext& c, Fn&& fn) {
  std::map<std::uint32_t, std::size_t> used;
  for (const SourceMessage& m : c.messages) {
    const ManifestRecord* e = nullptr;
    auto it = c.manifest.find(m.source_uid);
    std::size_t& n = used[m.source_uid];
    if (it != c.manifest.end() && n < it->second.size()) e = &it->second[n];
    ++n;
    fn(m, e);
  }
  return used;
}

// Pairs source messages with manifest entries of the same UID, in order; reports entries the
// source does not have.
template <typename Fn>
void for_each_source(FolderContext& c, const fs::path& mpath, Fn&& fn) {
  // Which outcome each message got, for the census (README "verify"): the counts tell.
  auto tracked = [&](const SourceMessage& m, const ManifestRecord* e) {
    const VerifyCounts& k = c.out().count;
    const VerifyCounts before = k;
    fn(m, e);
    std::optional<CensusMark> mark;
    if (k.verified + k.quarantined + k.not_converted > before.verified + before.quarantined + before.not_converted)
      mark = CensusMark::converted;
    else if (k.mismatched > before.mismatched)
      mark = CensusMark::mismatched;
    else if (k.skipped_deleted > before.skipped_deleted)
      mark = CensusMark::left_out;
    else if (k.lost > before.lost)
      mark = CensusMark::reported_lost;
    const bool archived =
        m.record && (m.record->system_flags & sysflag::archived) && !c.mailbox.archive_dir.empty();
    if (mark) c.job.marks.push_back({m.source_uid, *mark, archived});
  };
  std::map<std::uint32_t, std::size_t> used = pair_with_manifest(c, tracked);
  for (const auto& [uid, entries] : c.manifest) {
    const std::size_t n = used.count(uid) ? used[uid] : 0;
    for (std::size_t i = n; i < entries.size(); ++i) {
      // Converted from an earlier snapshot and gone from this one: kept, as convert keeps it.
      const bool earlier = c.job.done && (entries[i].disposition == "written" || entries[i].disposition == "repaired" ||
                                          entries[i].disposition == "quarantined");
      if (earlier) {
        ++c.out().count.extra;
        c.add(info("kept_not_in_source", mpath, uid,
                   uid_text(uid) + ": converted by an earlier run, no longer in the source: kept (" +
                       entries[i].source_file + ")"));
      } else {
        c.add(error("manifest_entry_unknown", mpath, uid,
                    uid_text(uid) + ": the manifest lists a message the source folder does not have (" +
                        entries[i].source_file + ")"));
      }
    }
  }
}

// Starts reading ahead the files the folder's checks will read, in their order: per source
// message (paired with its manifest entry as for_each_source pairs them) its output file, the
// kept original for a repaired or quarantined one and the source file when it is hashed. A
// guess that cannot change a result: a file read ahead and then not asked for is dropped, a
// file asked for and not read ahead is read directly (converter/source/prefetch.h).
template <typename OutputOf>
void start_prefetch(FolderContext& c, const fs::path& qdir, OutputOf&& output_of) {
  if (!c.io || c.io_depth < 2) return;
  std::vector<fs::path> ahead;
  pair_with_manifest(c, [&](const SourceMessage& m, const ManifestRecord* e) {
    const std::string disposition = e ? e->disposition : "written";
    auto kept = [&](const char* label) { return qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".eml"); };
    if (disposition == "quarantined") {
      ahead.push_back(kept("quarantined"));
      ahead.push_back(m.file);
    } else if (disposition == "written" || disposition == "repaired") {
      if (auto out = output_of(m, e)) ahead.push_back(std::move(*out));
      if (disposition == "repaired") {
        ahead.push_back(kept("original"));
        ahead.push_back(m.file);
      } else if (!m.guid) {
        ahead.push_back(m.file);
      }
    }
  });
  c.w.prefetch.start(c.io, static_cast<std::size_t>(c.io_depth), read_buffer_size, std::move(ahead));
}

void verify_maildir_folder(FolderContext& c) {
  VerifyFolder& out = c.out();
  const std::string side = side_file_name(*c.job.name);
  const fs::path mpath = c.user_root / "manifests" / (side + ".jsonl");
  const fs::path qdir = c.user_root / "quarantine" / side;
  fs::path dir = c.user_root / "Maildir";
  if (!c.job.name->maildirpp.empty()) dir /= c.job.name->maildirpp;
  out.output = c.user.root_rel + "/Maildir" + (c.job.name->maildirpp.empty() ? "" : "/" + c.job.name->maildirpp);
  out.manifest = c.user.root_rel + "/manifests/" + side + ".jsonl";
  read_manifest(c, mpath);

  // dovecot-uidlist: UIDVALIDITY and UIDNEXT must be the source's, so IMAP and POP3 clients
  // keep their caches.
  ParsedUidlist uidlist;
  const fs::path uidlist_path = dir / "dovecot-uidlist";
  if (auto text = read_small(uidlist_path, c.w, out.bytes_read)) {
    uidlist = parse_dovecot_uidlist(*text);
    for (const auto& e : uidlist.errors) c.add(error("uidlist_malformed", uidlist_path, 0, e));
    if (uidlist.uidvalidity != out.uidvalidity)
      c.add(error("uidvalidity_mismatch", uidlist_path, 0,
                  "V" + std::to_string(uidlist.uidvalidity) + ", the source's UIDVALIDITY is " + std::to_string(out.uidvalidity)));
    // An incremental run may have gone past the source's UIDNEXT (mail delivered to the target
    // took UIDs): then the journal holds the UIDNEXT it wrote.
    if (uidlist.uidnext != out.uidnext && !(c.job.done && uidlist.uidnext == c.job.done->target_uidnext &&
                                            uidlist.uidnext >= out.uidnext))
      c.add(error("uidnext_mismatch", uidlist_path, 0,
                  "N" + std::to_string(uidlist.uidnext) + ", expected " + std::to_string(out.uidnext) +
                      " (the source's last UID + 1)"));
  } else {
    c.add(error("uidlist_missing", uidlist_path, 0, "no readable dovecot-uidlist: no message of this folder can be found"));
  }

  // dovecot-keywords: the letters convert planned (first 26 keywords used in the folder).
  const FolderKeywords kw = c.job.recovery ? FolderKeywords{} : plan_keywords(c.inv);
  std::map<char, std::string> letters;
  const fs::path kw_path = dir / "dovecot-keywords";
  std::error_code ec;
  if (fs::exists(kw_path, ec)) {
    std::vector<std::string> errs;
    if (auto text = read_small(kw_path, c.w, out.bytes_read)) letters = parse_dovecot_keywords(*text, errs);
    for (const auto& e : errs) c.add(error("keywords_file_mismatch", kw_path, 0, e));
  }
  std::map<char, std::string> planned;
  for (std::size_t i = 0; i < kw.letters_order.size(); ++i) planned[static_cast<char>('a' + i)] = kw.letters_order[i];
  // After an incremental run the letters are the earlier ones plus new ones: each keyword must
  // have one; messages are then checked by the letters the file gives.
  bool covered = c.job.done.has_value();
  for (const auto& [l, k] : planned) {
    bool has = false;
    for (const auto& [l2, k2] : letters) has = has || k2 == k;
    covered = covered && has;
  }
  if (covered && letters != planned) {
    for (auto& m : c.messages) {
      m.letters.clear();
      for (const auto& k : m.keywords)
        for (const auto& [l, k2] : letters)
          if (k2 == k) m.letters += l;
      std::sort(m.letters.begin(), m.letters.end());
    }
  } else if (letters != planned) {
    std::vector<std::string> want, got;
    for (const auto& [l, k] : planned) want.push_back(std::string(1, l) + "=" + k);
    for (const auto& [l, k] : letters) got.push_back(std::string(1, l) + "=" + k);
    c.add(error("keywords_file_mismatch", kw_path, 0, "letters [" + join(got) + "], expected [" + join(want) + "]"));
  }

  // cur/ by uidlist base; new/ only ever holds mail delivered after the conversion.
  std::map<std::string, std::string> cur;  // base -> file name
  const DirListing listing = list_directory(dir / "cur");
  if (!listing.error.empty()) c.add(error("folder_missing", dir / "cur", 0, listing.error));
  for (const auto& e : listing.entries)
    if (e.type == DirEntry::Type::file) cur.emplace(parse_maildir_name(e.name).base, e.name);
  for (const auto& e : list_directory(dir / "new").entries)
    if (e.type == DirEntry::Type::file) {
      ++out.count.extra;
      c.add(info("extra_message", dir / "new" / e.name, 0, "in new/: not from the source (delivered later?)"));
    }

  PrefetchScope prefetch_scope{c.w.prefetch};
  start_prefetch(c, qdir, [&](const SourceMessage& m, const ManifestRecord* e) -> std::optional<fs::path> {
    if (m.duplicate) return std::nullopt;
    auto u = uidlist.base_of_uid.find(e ? e->uid : m.uid);
    auto f = u == uidlist.base_of_uid.end() ? cur.end() : cur.find(u->second);
    if (f == cur.end()) return std::nullopt;
    return dir / "cur" / f->second;
  });
  std::set<std::string> matched_bases;
  for_each_source(c, mpath, [&](const SourceMessage& m, const ManifestRecord* e) {
    ++out.count.messages;
    bool bad = false;
    if (e) check_manifest_entry(c, m, *e, mpath, bad);
    if (e)
      if (auto o = check_listed(c, m, *e, qdir, mpath, bad)) return count(out.count, *o);

    // Expected in the output: the uidlist entry of the UID and its file in cur/.
    auto u = m.duplicate ? uidlist.base_of_uid.end() : uidlist.base_of_uid.find(e ? e->uid : m.uid);
    auto f = u == uidlist.base_of_uid.end() ? cur.end() : cur.find(u->second);
    if (u != uidlist.base_of_uid.end()) matched_bases.insert(u->second);
    if (!e && f == cur.end()) {
      c.add(error("lost_message", m.file, m.uid,
                  uid_text(m.uid) + ": neither in the output nor listed in the manifest " + mpath.string()));
      return count(out.count, Outcome::lost);
    }
    if (!e) {
      c.add(error("manifest_entry_missing", mpath, m.uid, uid_text(m.uid) + ": in the output but not in the manifest"));
      bad = true;
    }
    if (u == uidlist.base_of_uid.end()) {
      c.add(error("uidlist_entry_missing", uidlist_path, m.uid,
                  uid_text(m.uid) + ": the manifest says " + e->disposition + " but the uidlist has no entry"));
      return count(out.count, Outcome::mismatched);
    }
    if (f == cur.end()) {
      c.add(error("message_file_missing", dir / "cur" / (u->second + ":2,..."), m.uid,
                  uid_text(m.uid) + ": the uidlist names " + u->second + " but cur/ has no such file"));
      return count(out.count, Outcome::mismatched);
    }
    const fs::path file = dir / "cur" / f->second;
    const MaildirName name = parse_maildir_name(f->second);
    // Up to the flags: a flag change is reported once, as flags_mismatch.
    auto unflagged = [](const fs::path& p) { return p.string().substr(0, p.string().rfind(":2,")); };
    if (e && !e->output_file.empty() && unflagged(c.user_root / e->output_file) != unflagged(file)) {
      c.add(error("manifest_mismatch", mpath, m.uid,
                  uid_text(m.uid) + ": output_file is " + e->output_file + ", the file is " + file.string()));
      bad = true;
    }
    const std::string want_flags = maildir_info_flags(m.flags, m.letters);
    if (!name.has_info || name.flags != want_flags) {
      std::vector<std::string> kws;
      for (char l : name.flags)
        if (l >= 'a' && l <= 'z') kws.push_back(letters.count(l) ? letters[l] : std::string("?") + l);
      c.add(error("flags_mismatch", file, m.uid,
                  uid_text(m.uid) + ": flags ':2," + name.flags + "' (keywords [" + join(kws) + "]), the source has ':2," +
                      want_flags + "' (" + join(system_flag_names(m.flags)) + (m.keywords.empty() ? "" : "; ") +
                      join(m.keywords) + ")"));
      bad = true;
    }
    struct stat st {};
    if (::lstat(file.c_str(), &st) == 0 && st.st_mtime != m.internaldate) {
      c.add(error("internaldate_mismatch", file, m.uid,
                  uid_text(m.uid) + ": mtime " + std::to_string(st.st_mtime) + ", INTERNALDATE " +
                      std::to_string(m.internaldate)));
      bad = true;
    }
    std::string why;
    const auto got = hash_file(file, !c.opt.crlf, c.w, out.bytes_read, why);
    if (!got) {
      c.add(error("output_unreadable", file, m.uid, why));
      return count(out.count, Outcome::mismatched);
    }
    if (!name.size || *name.size != c.w.sha.size()) {
      c.add(error("size_mismatch", file, m.uid, uid_text(m.uid) + ": S=" + (name.size ? std::to_string(*name.size) : "?") +
                                                     ", the file has " + std::to_string(c.w.sha.size()) + " bytes"));
      bad = true;
    }
    if (!name.vsize || *name.vsize != c.w.sha.vsize()) {
      c.add(error("vsize_mismatch", file, m.uid, uid_text(m.uid) + ": W=" + (name.vsize ? std::to_string(*name.vsize) : "?") +
                                                      ", the file with CRLF line ends has " +
                                                      std::to_string(c.w.sha.vsize()) + " bytes"));
      bad = true;
    }
    const Digest out_digest = *got;
    if (e && e->disposition == "repaired") {
      check_kept_original(c, m, qdir, "original", bad);
    } else if (auto want = c.source_sha1(m)) {
      if (out_digest != *want) {
        c.add(error("body_mismatch", file, m.uid, uid_text(m.uid) + ": SHA-1 " + hex20(out_digest) +
                                                      (c.opt.crlf ? "" : " (LF read as CRLF)") + ", the source's is " +
                                                      hex20(*want)));
        bad = true;
      }
      if (e && e->sha1 != hex20(*want)) {
        c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": sha1 " + e->sha1 + ", the source's is " + hex20(*want)));
        bad = true;
      }
    } else {
      bad = true;
    }
    count(out.count, bad ? Outcome::mismatched : Outcome::verified);
  });

  // Output messages no source message accounts for: mail delivered after the cutover.
  for (const auto& [uid, base] : uidlist.base_of_uid) {
    if (matched_bases.count(base)) continue;
    ++out.count.extra;
    c.add(info("extra_message", dir / "cur", uid, uid_text(uid) + ": " + base + " is not from the source folder"));
  }
  std::set<std::string> listed;
  for (const auto& [uid, base] : uidlist.base_of_uid) listed.insert(base);
  for (const auto& [base, file] : cur)
    if (!listed.count(base)) {
      ++out.count.extra;
      c.add(info("extra_message", dir / "cur" / file, 0, "not in the uidlist: not from the source folder"));
    }
}

void verify_mbox_folder(FolderContext& c) {
  VerifyFolder& out = c.out();
  const std::string side = side_file_name(*c.job.name);
  const fs::path mpath = c.user_root / "manifests" / (side + ".jsonl");
  const fs::path qdir = c.user_root / "quarantine" / side;
  const std::string rel = c.job.name->mbox_path.empty() ? "INBOX" : c.job.name->mbox_path;
  fs::path file = c.user_root / "mail" / rel;
  std::error_code ec;
  const bool gzip = !fs::exists(file, ec) && fs::exists(fs::path(file.string() + ".gz"), ec);  // convert --gzip
  if (gzip) file += ".gz";
  out.output = c.user.root_rel + "/mail/" + rel + (gzip ? ".gz" : "");
  out.manifest = c.user.root_rel + "/manifests/" + side + ".jsonl";
  read_manifest(c, mpath);

  // Read the folder file once; keep per message only what the checks need.
  std::vector<MboxMessage> found;
  MboxReader reader([&](MboxMessage&& m) {
    m.from_line = m.from_line.size() > 24 ? m.from_line.substr(m.from_line.size() - 24) : m.from_line;  // the date
    found.push_back(std::move(m));
  });
  auto feed = [&](std::string_view chunk) { reader.feed(chunk); };
  const std::string why =
      gzip ? stream_gzip_file(file, c.w.buffer, out.bytes_read, feed) : read_file_chunks(file, c.w, out.bytes_read, feed);
  reader.finish();
  if (!why.empty())
    c.add(error(fs::exists(file, ec) ? "output_unreadable" : "folder_missing", file, 0,
                "the folder's mbox file cannot be read: " + why));
  for (const auto& e : reader.errors()) c.add(error("mbox_malformed", file, 0, e));

  // X-IMAPbase on the first message: UIDVALIDITY, last UID and the keywords, as a uidlist header.
  const FolderKeywords kw = c.job.recovery ? FolderKeywords{} : plan_keywords(c.inv);
  if (!found.empty()) {
    const std::uint32_t last_uid = c.job.done ? c.job.done->target_uidnext - 1 : out.uidnext ? out.uidnext - 1 : 0;
    const MboxFolderState state{out.uidvalidity, last_uid, kw.all_used};
    std::string want = mbox_metadata_headers(0, 0, {}, &state);
    want = want.substr(12, want.find('\n') - 12);  // after "X-IMAPbase: "
    // After an incremental run the keywords are the first run's (the header is not rewritten).
    const std::string got_base = found.front().imapbase.value_or("");
    const bool base_ok = c.job.done ? got_base.substr(0, 21) == want.substr(0, 21) : got_base == want;
    if (!found.front().imapbase || !base_ok)
      c.add(error("imapbase_mismatch", file, 0,
                  "X-IMAPbase of the first message is '" + found.front().imapbase.value_or("(none)") + "', expected '" +
                      want + "' (UIDVALIDITY, last UID, keywords)"));
    for (std::size_t i = 1; i < found.size(); ++i)
      if (found[i].imapbase)
        c.add(error("imapbase_mismatch", file, found[i].uid.value_or(0), "X-IMAPbase on a message other than the first"));
  }
  std::map<std::uint32_t, std::size_t> by_uid;
  for (std::size_t i = 0; i < found.size(); ++i) {
    const MboxMessage& f = found[i];
    for (const auto& p : f.problems) c.add(error("mbox_malformed", file, f.uid.value_or(0), p));
    if (f.separator_missing)
      c.add(error("mbox_malformed", file, f.uid.value_or(0),
                  "message at offset " + std::to_string(f.offset) + " is not followed by the empty line"));
    if (f.uid && !by_uid.emplace(*f.uid, i).second)
      c.add(error("mbox_malformed", file, *f.uid, uid_text(*f.uid) + ": X-UID appears twice in the folder"));
  }

  PrefetchScope prefetch_scope{c.w.prefetch};
  start_prefetch(c, qdir, [](const SourceMessage&, const ManifestRecord*) { return std::optional<fs::path>(); });
  std::set<std::size_t> matched;
  for_each_source(c, mpath, [&](const SourceMessage& m, const ManifestRecord* e) {
    ++out.count.messages;
    bool bad = false;
    if (e) check_manifest_entry(c, m, *e, mpath, bad);
    if (e)
      if (auto o = check_listed(c, m, *e, qdir, mpath, bad)) return count(out.count, *o);
    auto it = m.duplicate ? by_uid.end() : by_uid.find(e ? e->uid : m.uid);
    if (!e && it == by_uid.end()) {
      c.add(error("lost_message", m.file, m.uid,
                  uid_text(m.uid) + ": neither in the output nor listed in the manifest " + mpath.string()));
      return count(out.count, Outcome::lost);
    }
    if (!e) {
      c.add(error("manifest_entry_missing", mpath, m.uid, uid_text(m.uid) + ": in the output but not in the manifest"));
      bad = true;
    }
    if (it == by_uid.end()) {
      c.add(error("message_missing", file, m.uid,
                  uid_text(m.uid) + ": the manifest says " + e->disposition + " but no message has this X-UID"));
      return count(out.count, Outcome::mismatched);
    }
    matched.insert(it->second);
    const MboxMessage& f = found[it->second];
    if (e && e->mbox_offset && *e->mbox_offset != f.offset) {
      c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": mbox_offset " + std::to_string(*e->mbox_offset) +
                                                         ", the message starts at " + std::to_string(f.offset)));
      bad = true;
    }
    if (f.from_line != expected_from_date(m.internaldate)) {
      c.add(error("internaldate_mismatch", file, m.uid, uid_text(m.uid) + ": From_ line date '" + f.from_line +
                                                             "', INTERNALDATE is '" + expected_from_date(m.internaldate) + "'"));
      bad = true;
    }
    // Flags as convert writes them (mbox.cpp): Status R/O, X-Status A F T D, X-Keywords.
    const std::string meta = mbox_metadata_headers(m.uid, m.flags, m.keywords, nullptr);
    auto field = [&](std::string_view name) -> std::optional<std::string> {
      const std::size_t at = meta.find(std::string(name) + ": ");
      if (at == std::string::npos) return std::nullopt;
      const std::size_t start = at + name.size() + 2;
      return meta.substr(start, meta.find('\n', start) - start);
    };
    auto compare = [&](const char* name, const std::optional<std::string>& got, const std::optional<std::string>& want) {
      if (got == want) return;
      if (e && manifest_says(*e, mbox_flags_stale)) {
        // An incremental run leaves an earlier message's mbox headers as they were; its manifest
        // line carries the source's new flags (README "Re-runs").
        c.add(Finding{Finding::Severity::warning, "mbox_flags_in_manifest", file.string(), 0, m.uid,
                      uid_text(m.uid) + ": " + name + " is '" + got.value_or("(none)") + "', the source (and the manifest) '" +
                          want.value_or("(none)") + "': flags changed after the first conversion are in the manifest only"});
        return;
      }
      c.add(error("flags_mismatch", file, m.uid,
                  uid_text(m.uid) + ": " + name + " is '" + got.value_or("(none)") + "', the source gives '" +
                      want.value_or("(none)") + "' (" + join(system_flag_names(m.flags)) +
                      (m.keywords.empty() ? "" : "; ") + join(m.keywords) + ")"));
      bad = true;
    };
    compare("Status", f.status, field("Status"));
    compare("X-Status", f.x_status, field("X-Status"));
    compare("X-Keywords", f.keywords, field("X-Keywords"));

    // The changes the manifest lists, undone by the reader, must be exactly those made.
    const std::uint64_t quoted = e ? manifest_count(*e, "mboxrd: ") : 0;
    const std::uint64_t renamed = e ? manifest_count(*e, "renamed ") : 0;
    if (e && quoted != f.quoted_lines) {
      c.add(error("mbox_quoting_mismatch", file, m.uid, uid_text(m.uid) + ": " + std::to_string(f.quoted_lines) +
                                                             " line(s) carry mboxrd quoting, the manifest lists " +
                                                             std::to_string(quoted)));
      bad = true;
    }
    if (e && renamed != f.renamed_headers) {
      c.add(error("mbox_renames_mismatch", file, m.uid, uid_text(m.uid) + ": " + std::to_string(f.renamed_headers) +
                                                             " X-Cyrconv-Orig- field(s), the manifest lists " +
                                                             std::to_string(renamed)));
      bad = true;
    }
    const bool added_eol = e && manifest_says(*e, "mbox: added the line end");
    const Digest& got = added_eol ? f.sha1_without_added_eol : f.sha1;
    if (e && e->disposition == "repaired") {
      check_kept_original(c, m, qdir, "original", bad);
    } else if (auto want = c.source_sha1(m)) {
      if (got != *want) {
        c.add(error("body_mismatch", file, m.uid, uid_text(m.uid) + ": SHA-1 " + hex20(got) +
                                                      " with the listed mbox changes undone, the source's is " + hex20(*want)));
        bad = true;
      }
      if (e && e->sha1 != hex20(*want)) {
        c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": sha1 " + e->sha1 + ", the source's is " + hex20(*want)));
        bad = true;
      }
    } else {
      bad = true;
    }
    count(out.count, bad ? Outcome::mismatched : Outcome::verified);
  });
  for (std::size_t i = 0; i < found.size(); ++i) {
    if (matched.count(i)) continue;
    ++out.count.extra;
    c.add(info("extra_message", file, found[i].uid.value_or(0),
               "message at offset " + std::to_string(found[i].offset) +
                   (found[i].uid ? " (X-UID " + std::to_string(*found[i].uid) + ")" : " (no X-UID)") +
                   " is not from the source folder"));
  }
}

void add_counts(VerifyCounts& t, const VerifyCounts& c) {
  t.messages += c.messages;
  t.verified += c.verified;
  t.quarantined += c.quarantined;
  t.listed_missing += c.listed_missing;
  t.skipped_deleted += c.skipped_deleted;
  t.not_converted += c.not_converted;
  t.mismatched += c.mismatched;
  t.lost += c.lost;
  t.extra += c.extra;
}

// verify's own walk of the source, each file matched with what the checks above accounted for.
VerifyCensus census_of_run(const SourceInputs& inputs, const Discovery& disc, const std::vector<const MailboxRef*>& selected,
                           const std::vector<MailboxInventory>& inv, std::vector<Job>& jobs, std::vector<Finding>& findings) {
  CensusAccounts a;
  for (auto& job : jobs) {
    const MailboxRef& mb = *selected[job.folder];
    for (const auto& m : job.marks) a.mark(m.archived ? mb.archive_dir : mb.dir, m.uid, m.mark);
    job.marks = {};
  }
  std::set<const MailboxRef*> chosen(selected.begin(), selected.end());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const MailboxRef& mb = *selected[i];
    for (std::uint32_t uid : inv[i].expunged_files) a.mark(mb.dir, uid, CensusMark::expunged);
    if (mb.kind != MailboxKind::email) {
      a.not_verified_dirs.insert(mb.dir.string());
      if (!mb.archive_dir.empty()) a.not_verified_dirs.insert(mb.archive_dir.string());
    }
  }
  for (const auto& mb : disc.mailboxes) {
    if (!mb.on_disk || chosen.count(&mb)) continue;
    a.left_out_dirs.emplace(mb.dir.string(), mb.name.internal());
    if (!mb.archive_dir.empty()) a.left_out_dirs.emplace(mb.archive_dir.string(), mb.name.internal());
  }
  return account_census(take_census(inputs), std::move(a), findings);
}

}  // namespace

VerifyReport run_verify(const SourceInputs& inputs, const VerifyOptions& opt) {
  std::optional<tbb::global_control> limit;
  if (opt.threads > 0)
    limit.emplace(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(opt.threads));
  VerifyReport report;
  report.out = opt.out.string();
  report.profile = to_string(opt.profile);
  report.eol = opt.crlf ? "crlf" : "lf";
  for (const auto& [name, dir] : inputs.partitions) report.inputs.push_back("partition " + name + "=" + dir.string());
  if (inputs.config_dir) report.inputs.push_back("config=" + inputs.config_dir->string());
  auto fatal = [&](std::string kind, std::string detail) {
    report.findings.push_back(Finding{Finding::Severity::error, std::move(kind), opt.out.string(), 0, 0, std::move(detail)});
    report.fatal = true;
    report.errors = report.findings.size();
    return report;
  };

  // Source side, as convert planned it: discover, inventory, names.
  Discovery disc = discover(inputs, opt.io_depth);
  const std::set<std::string> wanted(opt.users.begin(), opt.users.end());
  std::vector<const MailboxRef*> selected;
  for (const auto& mb : disc.mailboxes)
    if (selected_for_conversion(mb, wanted)) selected.push_back(&mb);
  if (selected.empty()) return fatal("no_source_folders", "no folder to verify was found in the source");
  const SourceStates states = load_source_states(inputs, selected, opt.io_depth);
  // Mail folders keep only their summary until they are verified (then their records are read
  // again): memory holds the folders in progress, not the store.
  std::vector<MailboxInventory> inv(selected.size());
  for_each_io(opt.io_depth, selected.size(), [&](std::size_t i) {
    inv[i] = inventory_mailbox(*selected[i], states.seen_for(*selected[i]));
    if (selected[i]->kind == MailboxKind::email) std::vector<IndexRecord>().swap(inv[i].live);
  });
  const NamePlan plan = plan_names(selected, inv, opt.profile, opt.rename_map, disc.caret);
  for (const auto& e : plan.rename_map_errors) report.findings.push_back(error("rename_map_refused", "", 0, e));
  for (const auto& e : plan.naming_errors) report.findings.push_back(error("naming_refused", "", 0, e));
  if (plan.refused()) return fatal("naming_refused", "target names cannot be recomputed; nothing verified");

  // Output format: given, or whichever tree the users' output roots hold.
  OutputFormat format = OutputFormat::maildir;
  if (opt.format) {
    format = *opt.format;
  } else {
    bool maildir = false, mbox = false;
    std::error_code ec;
    for (const auto& u : plan.users) {
      maildir = maildir || fs::is_directory(opt.out / u.root_rel / "Maildir", ec);
      mbox = mbox || fs::is_directory(opt.out / u.root_rel / "mail", ec);
    }
    if (maildir && mbox) return fatal("format_ambiguous", "both Maildir/ and mail/ trees are there: give --format");
    if (!maildir && !mbox) return fatal("output_not_found", "no user has a Maildir/ or mail/ tree under " + opt.out.string());
    format = mbox ? OutputFormat::mbox : OutputFormat::maildir;
  }
  report.format = format == OutputFormat::mbox ? "mbox" : "maildir";

  std::vector<Job> jobs;
  std::vector<std::vector<Finding>> user_findings(plan.users.size());
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const std::size_t u = plan.user_of[i];
    const std::string internal = selected[i]->name.internal();
    bool valid = true;
    const std::string display = display_folder_name(selected[i]->name, valid, disc.caret);
    auto add_job = [&](const FolderNameResult* name, bool recovery) {
      Job job;
      job.folder = i;
      job.recovery = recovery;
      job.name = name;
      job.bytes = recovery ? 0 : inv[i].bytes;
      job.out.name = display;
      job.out.name_raw = internal;
      job.out.recovery = recovery;
      job.out.target = name ? name->path : "";
      job.out.uidvalidity = inv[i].header.uidvalidity;
      job.out.uidnext = recovery ? static_cast<std::uint32_t>(plan.orphans[i].size() + 1) : inv[i].header.last_uid + 1;
      jobs.push_back(std::move(job));
    };
    const FolderNameResult* name = plan.name_of(u, internal);
    if (!name) {
      user_findings[u].push_back(error("naming_missing", selected[i]->dir, 0, internal + ": no target name planned"));
      continue;
    }
    if (name->action != FolderAction::mail_folder) {
      if (inv[i].live_count)
        user_findings[u].push_back(info("not_verified", selected[i]->dir, 0,
                                        display + ": " + to_string(name->action) + " is not verified (not a mail folder)"));
      continue;
    }
    add_job(name, false);
    if (!plan.orphans[i].empty()) add_job(plan.recovery_name_of(u, internal), true);
  }
  for (std::size_t u = 0; u < plan.users.size(); ++u) {
    std::error_code ec;
    if (!fs::is_directory(opt.out / plan.users[u].root_rel / "manifests", ec))
      user_findings[u].push_back(error("user_output_missing", opt.out / plan.users[u].root_rel, 0,
                                       "no manifests/ for this user: was it converted into this --out?"));
  }

  // Largest folders first, in parallel; each output and source file read once.
  std::vector<std::size_t> order(jobs.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return jobs[a].bytes > jobs[b].bytes; });
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t total_bytes = 0, total_messages = 0;
  for (const auto& job : jobs) {
    total_bytes += job.bytes;
    if (!job.recovery) total_messages += inv[job.folder].live_count;
  }
  Progress progress("verify", total_bytes, total_messages, opt.quiet);
  tbb::enumerable_thread_specific<Worker> workers;
  std::optional<IoThreads> io;
  if (opt.io_depth > 1) io.emplace(io_width(opt.io_depth));
  tbb::parallel_for(
      tbb::blocked_range<std::size_t>(0, order.size(), 1),
      [&](const tbb::blocked_range<std::size_t>& range) {
        for (std::size_t k = range.begin(); k != range.end(); ++k) {
          Job& job = jobs[order[k]];
          if (!job.name) {
            job.out.findings.push_back(error("naming_missing", "", 0, "no recovery folder name planned"));
            continue;
          }
          const std::size_t i = job.folder;
          const PlannedUser& user = plan.users[plan.user_of[i]];
          MailboxInventory folder_inv = inv[i];
          if (folder_inv.live.size() != folder_inv.live_count) {
            LiveRecords again = reload_live_records(*selected[i], states.seen_for(*selected[i]), inv[i]);
            if (!again.error.empty()) {
              job.out.findings.push_back(error("source_changed", selected[i]->dir, 0, again.error + ": not verified"));
              continue;
            }
            folder_inv.live = std::move(again.live);
          }
          FolderContext c{opt, *selected[i], folder_inv, user, plan.orphans[i], opt.out / user.root_rel, job,
                          workers.local(), {}, {}, false, io ? &*io : nullptr, opt.io_depth};
          // Where convert put the folder: its planned target, or the UIDVALIDITY sibling when the
          // journal there records another UIDVALIDITY (README "Re-runs").
          std::string jerr;
          job.done = read_folder_done(c.user_root, side_file_name(*job.name), jerr);
          if (job.done && job.done->uidvalidity != job.out.uidvalidity) {
            job.sibling = uidvalidity_sibling(*job.name, job.out.uidvalidity);
            job.name = &job.sibling;
            job.done = read_folder_done(c.user_root, side_file_name(*job.name), jerr);
            job.out.findings.push_back(info("uidvalidity_changed", c.user_root / "journal", 0,
                                            "verified in the sibling folder " + job.sibling.path));
          }
          try {
            collect_source(c);
            if (format == OutputFormat::maildir)
              verify_maildir_folder(c);
            else
              verify_mbox_folder(c);
          } catch (const std::exception&) {
            rethrow_naming_mailbox(selected[i]);
          }
          progress.add(job.bytes, job.recovery ? 0 : job.out.count.messages);
        }
      },
      tbb::simple_partitioner());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report.census = census_of_run(inputs, disc, selected, inv, jobs, report.findings);

  // Assemble per user in plan order; folders by Cyrus name.
  std::vector<VerifyUser> users(plan.users.size());
  for (std::size_t u = 0; u < plan.users.size(); ++u) {
    users[u].user = plan.users[u].owner;
    users[u].output = plan.users[u].root_rel;
    users[u].findings = std::move(user_findings[u]);
    // What --follow-source moved out of view is accounted for in the holding area (converter/follow/follow_source.h).
    const HoldingCensus held = census_holding_area(opt.out / users[u].output);
    for (const auto& m : held.missing) users[u].findings.push_back(error("holding_message_missing", opt.out / users[u].output, 0, m));
    if (held.messages)
      users[u].findings.push_back(info("held_by_follow_source", opt.out / users[u].output / holding_dir_name, 0,
                                       std::to_string(held.present) + " of " + std::to_string(held.messages) +
                                           " message(s) moved out of view by --follow-source are in the holding area"));
  }
  for (auto& job : jobs) {
    std::stable_sort(job.out.findings.begin(), job.out.findings.end(),
                     [](const Finding& a, const Finding& b) { return a.uid < b.uid; });
    users[plan.user_of[job.folder]].folders.push_back(std::move(job.out));
  }
  std::sort(users.begin(), users.end(), [](const VerifyUser& a, const VerifyUser& b) { return a.user < b.user; });
  auto tally = [&](const std::vector<Finding>& fs) {
    for (const auto& f : fs) {
      if (f.severity == Finding::Severity::error) ++report.errors;
      if (f.severity == Finding::Severity::warning) ++report.warnings;
      if (f.severity == Finding::Severity::info) ++report.infos;
    }
  };
  tally(report.findings);
  for (auto& u : users) {
    std::stable_sort(u.folders.begin(), u.folders.end(), [](const VerifyFolder& a, const VerifyFolder& b) {
      return a.name_raw != b.name_raw ? a.name_raw < b.name_raw : !a.recovery;
    });
    tally(u.findings);
    for (const auto& f : u.folders) {
      ++report.folders;
      tally(f.findings);
      add_counts(report.totals, f.count);
      report.bytes_read += f.bytes_read;
    }
    report.users.push_back(std::move(u));
  }
  return report;
}

}  // namespace cyrconv
