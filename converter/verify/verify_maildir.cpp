// One Maildir folder against its source: dovecot-uidlist, dovecot-keywords, cur/ and new/, then
// each source message, then what the output holds that no source message accounts for.
#include <sys/stat.h>

#include <algorithm>

#include "converter/plan/output_layout.h"
#include "converter/verify/maildir_listing.h"
#include "converter/verify/verify_folder.h"
#include "writers/maildir.h"

namespace cyrconv::verify {

namespace {

struct MaildirFolder {
  fs::path dir, mpath, qdir, uidlist_path, kw_path;
  UidlistIndex uidlist;
  bool uidlist_read = false;
  std::map<char, std::string> letters;  // what dovecot-keywords gives
  CurListing cur;
};

// dovecot-uidlist: UIDVALIDITY and UIDNEXT must be the source's, so IMAP and POP3 clients
// keep their caches.
void check_uidlist(FolderContext& c, MaildirFolder& f) {
  VerifyFolder& out = c.out();
  const std::string why = read_file_chunks(f.uidlist_path, c.w, out.bytes_read, [&](std::string_view chunk) { f.uidlist.feed(chunk); });
  if (!why.empty()) {
    f.uidlist.entries().clear();  // as if there were none
    c.add(error("uidlist_missing", f.uidlist_path, 0, "no readable dovecot-uidlist: no message of this folder can be found"));
    return;
  }
  f.uidlist.finish();
  f.uidlist_read = true;
  const UidlistIndex& u = f.uidlist;
  for (const auto& e : u.errors) c.add(error("uidlist_malformed", f.uidlist_path, 0, e));
  if (u.uidvalidity != out.uidvalidity)
    c.add(error("uidvalidity_mismatch", f.uidlist_path, 0,
                "V" + std::to_string(u.uidvalidity) + ", the source's UIDVALIDITY is " + std::to_string(out.uidvalidity)));
  // An incremental run may have gone past the source's UIDNEXT (mail delivered to the target
  // took UIDs): then the journal holds the UIDNEXT it wrote.
  if (u.uidnext != out.uidnext &&
      !(c.job.done && u.uidnext == c.job.done->target_uidnext && u.uidnext >= out.uidnext))
    c.add(error("uidnext_mismatch", f.uidlist_path, 0,
                "N" + std::to_string(u.uidnext) + ", expected " + std::to_string(out.uidnext) +
                    " (the source's last UID + 1)"));
}

// dovecot-keywords: the letters convert planned (first 26 keywords used in the folder).
void check_keywords_file(FolderContext& c, MaildirFolder& f) {
  std::error_code ec;
  if (fs::exists(f.kw_path, ec)) {
    std::vector<std::string> errs;
    if (auto text = read_small(f.kw_path, c.w, c.out().bytes_read)) f.letters = parse_dovecot_keywords(*text, errs);
    for (const auto& e : errs) c.add(error("keywords_file_mismatch", f.kw_path, 0, e));
  }
  const FolderKeywords kw = c.job.recovery ? FolderKeywords{} : c.keywords;
  std::map<char, std::string> planned;
  for (std::size_t i = 0; i < kw.letters_order.size(); ++i) planned[static_cast<char>('a' + i)] = kw.letters_order[i];
  // After an incremental run the letters are the earlier ones plus new ones: each keyword must
  // have one; messages are then checked by the letters the file gives.
  bool covered = c.job.done.has_value();
  for (const auto& [l, k] : planned) {
    bool has = false;
    for (const auto& [l2, k2] : f.letters) has = has || k2 == k;
    covered = covered && has;
  }
  if (covered && f.letters != planned) {
    c.letters_from_file = f.letters;
  } else if (f.letters != planned) {
    std::vector<std::string> want, got;
    for (const auto& [l, k] : planned) want.push_back(std::string(1, l) + "=" + k);
    for (const auto& [l, k] : f.letters) got.push_back(std::string(1, l) + "=" + k);
    c.add(error("keywords_file_mismatch", f.kw_path, 0, "letters [" + join(got) + "], expected [" + join(want) + "]"));
  }
}

// cur/ by uidlist base; new/ only ever holds mail delivered after the conversion.
void list_output(FolderContext& c, MaildirFolder& f) {
  const std::string why = f.cur.list(f.dir / "cur");
  if (!why.empty()) c.add(error("folder_missing", f.dir / "cur", 0, why));
  for (const auto& e : list_directory(f.dir / "new").entries)
    if (e.type == DirEntry::Type::file) {
      ++c.out().count.extra;
      c.add(info("extra_message", f.dir / "new" / e.name, 0, "in new/: not from the source (delivered later?)"));
    }
}

// Where a source message should be: its uidlist entry (by the manifest's output UID) and the
// file of that base in cur/.
struct Located {
  UidlistIndex::Entry* entry = nullptr;
  std::string base;
  std::optional<std::string> file;
};
Located locate(MaildirFolder& f, const SourceMessage& m, const ManifestRecord* e) {
  Located l;
  if (m.duplicate) return l;
  l.entry = f.uidlist.find(e ? e->uid : m.uid);
  if (!l.entry) return l;
  l.base = f.uidlist.base(*l.entry);
  l.file = f.cur.find(l.base);
  return l;
}

// The file convert wrote for the message: name, flags, mtime, size, bytes.
void check_file(FolderContext& c, MaildirFolder& f, const SourceMessage& m, const ManifestRecord* e,
                const std::string& file_name, bool& bad) {
  const fs::path file = f.dir / "cur" / file_name;
  const MaildirName name = parse_maildir_name(file_name);
  // Up to the flags: a flag change is reported once, as flags_mismatch.
  auto unflagged = [](const fs::path& p) { return p.string().substr(0, p.string().rfind(":2,")); };
  if (e && !e->output_file.empty() && unflagged(c.user_root / e->output_file) != unflagged(file)) {
    c.add(error("manifest_mismatch", f.mpath, m.uid,
                uid_text(m.uid) + ": output_file is " + e->output_file + ", the file is " + file.string()));
    bad = true;
  }
  const std::string want_flags = maildir_info_flags(m.flags, m.letters);
  if (!name.has_info || name.flags != want_flags) {
    std::vector<std::string> kws;
    for (char l : name.flags)
      if (l >= 'a' && l <= 'z') kws.push_back(f.letters.count(l) ? f.letters[l] : std::string("?") + l);
    c.add(error("flags_mismatch", file, m.uid,
                uid_text(m.uid) + ": flags ':2," + name.flags + "' (keywords [" + join(kws) + "]), the source has ':2," +
                    want_flags + "' (" + join(system_flag_names(m.flags)) + (m.keywords.empty() ? "" : "; ") +
                    join(m.keywords) + ")"));
    bad = true;
  }
  struct stat st {};
  if (::lstat(file.c_str(), &st) == 0 && st.st_mtime != m.internaldate) {
    c.add(error("internaldate_mismatch", file, m.uid,
                uid_text(m.uid) + ": mtime " + std::to_string(st.st_mtime) + ", INTERNALDATE " + std::to_string(m.internaldate)));
    bad = true;
  }
  std::string why;
  std::uint64_t size = 0, vsize = 0;
  const auto got = c.hash(file, !c.opt.crlf, why, &size, &vsize);
  if (!got) {
    c.add(error("output_unreadable", file, m.uid, why));
    bad = true;
    return;
  }
  if (!name.size || *name.size != size) {
    c.add(error("size_mismatch", file, m.uid, uid_text(m.uid) + ": S=" + (name.size ? std::to_string(*name.size) : "?") +
                                                   ", the file has " + std::to_string(size) + " bytes"));
    bad = true;
  }
  if (!name.vsize || *name.vsize != vsize) {
    c.add(error("vsize_mismatch", file, m.uid, uid_text(m.uid) + ": W=" + (name.vsize ? std::to_string(*name.vsize) : "?") +
                                                    ", the file with CRLF line ends has " +
                                                    std::to_string(vsize) + " bytes"));
    bad = true;
  }
  check_body(c, m, e, file, *got, c.opt.crlf ? "" : " (LF read as CRLF)", f.qdir, f.mpath, bad);
}

Outcome check_message(FolderContext& c, MaildirFolder& f, const SourceMessage& m, const ManifestRecord* e) {
  ++c.out().count.messages;
  bool bad = false;
  if (e) check_manifest_entry(c, m, *e, f.mpath, bad);
  if (e)
    if (auto o = check_listed(c, m, *e, f.qdir, f.mpath, bad)) return *o;

  // Expected in the output: the uidlist entry of the UID and its file in cur/.
  Located l = locate(f, m, e);
  if (l.entry) l.entry->matched = 1;
  if (!e && !l.file) {
    c.add(error("lost_message", m.file, m.uid,
                uid_text(m.uid) + ": neither in the output nor listed in the manifest " + f.mpath.string()));
    return Outcome::lost;
  }
  if (!e) {
    c.add(error("manifest_entry_missing", f.mpath, m.uid, uid_text(m.uid) + ": in the output but not in the manifest"));
    bad = true;
  }
  if (!l.entry) {
    c.add(error("uidlist_entry_missing", f.uidlist_path, m.uid,
                uid_text(m.uid) + ": the manifest says " + e->disposition + " but the uidlist has no entry"));
    return Outcome::mismatched;
  }
  if (!l.file) {
    c.add(error("message_file_missing", f.dir / "cur" / (l.base + ":2,..."), m.uid,
                uid_text(m.uid) + ": the uidlist names " + l.base + " but cur/ has no such file"));
    return Outcome::mismatched;
  }
  check_file(c, f, m, e, *l.file, bad);
  return bad ? Outcome::mismatched : Outcome::verified;
}

// The uidlist entries by the hash of their base (4 bytes an entry, while the leftovers are found).
std::vector<std::uint32_t> entries_by_hash(MaildirFolder& f) {
  const auto& entries = f.uidlist.entries();
  std::vector<std::uint32_t> by_hash(entries.size());
  for (std::size_t i = 0; i < by_hash.size(); ++i) by_hash[i] = static_cast<std::uint32_t>(i);
  std::sort(by_hash.begin(), by_hash.end(), [&](std::uint32_t a, std::uint32_t b) { return entries[a].hash < entries[b].hash; });
  return by_hash;
}

// The entries (by_hash positions [first, last)) of one hash.
std::pair<std::size_t, std::size_t> hash_run(MaildirFolder& f, const std::vector<std::uint32_t>& by_hash, std::uint64_t h) {
  const auto& entries = f.uidlist.entries();
  auto lo = std::lower_bound(by_hash.begin(), by_hash.end(), h, [&](std::uint32_t i, std::uint64_t v) { return entries[i].hash < v; });
  auto hi = lo;
  while (hi != by_hash.end() && entries[*hi].hash == h) ++hi;
  return {static_cast<std::size_t>(lo - by_hash.begin()), static_cast<std::size_t>(hi - by_hash.begin())};
}

// Output messages no source message accounts for: mail delivered after the cutover. A uidlist
// entry counts as accounted for when a source message found an entry of the same base.
void report_unmatched_entries(FolderContext& c, MaildirFolder& f, const std::vector<std::uint32_t>& by_hash) {
  auto& entries = f.uidlist.entries();
  std::vector<std::size_t> unmatched;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].matched) continue;
    const auto [lo, hi] = hash_run(f, by_hash, entries[i].hash);
    bool same_base_matched = false;
    for (std::size_t j = lo; j < hi && !same_base_matched; ++j)
      same_base_matched = entries[by_hash[j]].matched && f.uidlist.base(entries[by_hash[j]]) == f.uidlist.base(entries[i]);
    if (!same_base_matched) unmatched.push_back(i);
  }
  c.step = Step::output_left;
  for (std::size_t i : unmatched) {
    ++c.out().count.extra;
    c.add(info("extra_message", f.dir / "cur", entries[i].uid,
               uid_text(entries[i].uid) + ": " + f.uidlist.base(entries[i]) + " is not from the source folder"));
  }
}

// Files in cur/ the uidlist does not list, by base name.
void report_unlisted_files(FolderContext& c, MaildirFolder& f, const std::vector<std::uint32_t>& by_hash) {
  const auto& entries = f.uidlist.entries();
  std::vector<std::pair<std::string, std::string>> unlisted;  // (base, file name)
  for (const auto& e : f.cur.entries()) {
    const auto [lo, hi] = hash_run(f, by_hash, e.hash);
    if (lo == hi) {
      const std::string name = f.cur.name(e);
      unlisted.emplace_back(name.substr(0, e.base_size), name);
      continue;
    }
    const std::string name = f.cur.name(e);
    const std::string base = name.substr(0, e.base_size);
    bool listed = false;
    for (std::size_t j = lo; j < hi && !listed; ++j) listed = f.uidlist.base(entries[by_hash[j]]) == base;
    if (!listed) unlisted.emplace_back(base, name);
  }
  std::sort(unlisted.begin(), unlisted.end());
  c.step = Step::listing_left;
  for (const auto& [base, name] : unlisted) {
    ++c.out().count.extra;
    c.add(info("extra_message", f.dir / "cur" / name, 0, "not in the uidlist: not from the source folder"));
  }
}

}  // namespace

void verify_maildir_folder(FolderContext& c) {
  VerifyFolder& out = c.out();
  MaildirFolder f;
  const std::string side = side_file_name(*c.job.name);
  f.mpath = folder_manifest_path(c.user_root, side);
  f.qdir = folder_quarantine_dir(c.user_root, side);
  f.dir = c.user_root / "Maildir";
  if (!c.job.name->maildirpp.empty()) f.dir /= c.job.name->maildirpp;
  f.uidlist_path = f.dir / "dovecot-uidlist";
  f.kw_path = f.dir / "dovecot-keywords";
  out.output = c.user.root_rel + "/Maildir" + (c.job.name->maildirpp.empty() ? "" : "/" + c.job.name->maildirpp);
  out.manifest = c.user.root_rel + "/manifests/" + side + ".jsonl";

  c.step = Step::outputs;
  read_manifest(c, f.mpath);
  // One uidlist entry and one file in cur/ per source message, as convert wrote them: reserved,
  // not grown by doubling (24 bytes an entry each).
  f.uidlist.reserve(source_count(c));
  f.cur.reserve(source_count(c));
  check_uidlist(c, f);
  check_keywords_file(c, f);
  list_output(c, f);

  auto output_of = [&](const SourceMessage& m, const ManifestRecord* e) -> std::optional<fs::path> {
    Located l = locate(f, m, e);
    if (!l.file) return std::nullopt;
    return f.dir / "cur" / *l.file;
  };
  auto check = [&](const SourceMessage& m, const ManifestRecord* e) { count(out.count, check_message(c, f, m, e)); };
  if (windowed(c)) {
    // The output file as check_file hashes it, and what check_listed / check_body hash.
    auto plan = [&](const SourceMessage& m, const ManifestRecord* e, HashResults& h) {
      const Disposition d = e ? e->kind : Disposition::written;
      if (d == Disposition::written || d == Disposition::repaired)
        if (auto file = output_of(m, e)) h.add(*file, !c.opt.crlf);
      plan_kept_and_source(f.qdir, m, e, h);
    };
    for_each_source_windowed(c, f.mpath, folder_window(c), plan, check);
  } else {
    PrefetchScope prefetch_scope{c.w.prefetch};
    start_prefetch(c, f.qdir, output_of);
    for_each_source(c, f.mpath, check);
  }
  const std::vector<std::uint32_t> by_hash = entries_by_hash(f);
  report_unmatched_entries(c, f, by_hash);
  report_unlisted_files(c, f, by_hash);
}

}  // namespace cyrconv::verify
