// One mbox folder file against its source: the file read once (each message's facts spilled to
// a scratch file as the reader finds them), X-IMAPbase, then each source message, then the
// messages no source message accounts for.
#include <algorithm>
#include <cstring>

#include "converter/plan/output_layout.h"
#include "converter/verify/mbox_reader.h"
#include "converter/verify/scratch_store.h"
#include "converter/verify/verify_folder.h"
#include "writers/mbox.h"

namespace cyrconv::verify {

namespace {

// What the checks need of one message of the file (MboxMessage without its strings: those are
// in the strings store, Status, X-Status and X-Keywords one after the other).
struct FoundMessage {
  std::uint64_t offset = 0;
  std::uint64_t quoted_lines = 0, renamed_headers = 0;
  std::uint64_t strings_at = 0;
  Digest sha1{}, sha1_without_added_eol{};
  std::uint32_t uid = 0;
  std::uint32_t field_size[3] = {0, 0, 0};
  bool has_uid = false;
  bool has_field[3] = {false, false, false};
  std::uint8_t date_size = 0;
  char date[24] = {};  // the end of the From_ line: its date
};
constexpr std::size_t status_field = 0, x_status_field = 1, keywords_field = 2;

struct MboxFolder {
  fs::path file, mpath, qdir;
  SpilledRecords<FoundMessage> found;
  ScratchStore strings;
  std::optional<std::string> first_imapbase;
  std::vector<std::pair<std::uint32_t, std::uint32_t>> by_uid;  // (X-UID, message), first of a UID only
  std::vector<bool> matched;

  std::optional<std::string> field(const FoundMessage& f, std::size_t k) const {
    if (!f.has_field[k]) return std::nullopt;
    std::uint64_t at = f.strings_at;
    for (std::size_t i = 0; i < k; ++i) at += f.field_size[i];
    std::string s;
    strings.read(at, f.field_size[k], s);
    return s;
  }
  std::string date(const FoundMessage& f) const { return std::string(f.date, f.date_size); }
};

FoundMessage compact(MboxFolder& f, const MboxMessage& m) {
  FoundMessage r;
  r.offset = m.offset;
  r.quoted_lines = m.quoted_lines;
  r.renamed_headers = m.renamed_headers;
  r.sha1 = m.sha1;
  r.sha1_without_added_eol = m.sha1_without_added_eol;
  r.has_uid = m.uid.has_value();
  r.uid = m.uid.value_or(0);
  const std::string_view line = m.from_line;
  const std::string_view date = line.size() > 24 ? line.substr(line.size() - 24) : line;
  r.date_size = static_cast<std::uint8_t>(date.size());
  std::memcpy(r.date, date.data(), date.size());
  r.strings_at = f.strings.size();
  const std::optional<std::string>* fields[3] = {&m.status, &m.x_status, &m.keywords};
  for (std::size_t k = 0; k < 3; ++k) {
    r.has_field[k] = fields[k]->has_value();
    r.field_size[k] = r.has_field[k] ? static_cast<std::uint32_t>((*fields[k])->size()) : 0;
    if (r.has_field[k]) f.strings.append(**fields[k]);
  }
  return r;
}

// A message of the file as the reader finds it: its own problems now, its facts to the scratch file.
void take_message(FolderContext& c, MboxFolder& f, MboxMessage&& m) {
  const std::size_t i = f.found.size();
  const std::uint32_t uid = m.uid.value_or(0);
  c.position = i;
  if (i == 0) {
    f.first_imapbase = m.imapbase;
  } else if (m.imapbase) {
    c.step = Step::imapbase;
    c.add(error("imapbase_mismatch", f.file, uid, "X-IMAPbase on a message other than the first"));
  }
  c.step = Step::output_messages;
  for (const auto& p : m.problems) c.add(error("mbox_malformed", f.file, uid, p));
  if (m.separator_missing)
    c.add(error("mbox_malformed", f.file, uid,
                "message at offset " + std::to_string(m.offset) + " is not followed by the empty line"));
  if (m.uid) f.by_uid.emplace_back(*m.uid, static_cast<std::uint32_t>(i));
  f.found.push_back(compact(f, m));
  c.position = 0;
}

// Read the folder file once.
void read_mbox_file(FolderContext& c, MboxFolder& f, bool gzip) {
  VerifyFolder& out = c.out();
  MboxReader reader([&](MboxMessage&& m) { take_message(c, f, std::move(m)); });
  auto feed = [&](std::string_view chunk) { reader.feed(chunk); };
  const std::string why = gzip ? stream_gzip_file(f.file, c.w.buffer, out.bytes_read, feed)
                               : read_file_chunks(f.file, c.w, out.bytes_read, feed);
  reader.finish();
  c.step = Step::outputs;
  std::error_code ec;
  if (!why.empty())
    c.add(error(fs::exists(f.file, ec) ? "output_unreadable" : "folder_missing", f.file, 0,
                "the folder's mbox file cannot be read: " + why));
  for (const auto& e : reader.errors()) c.add(error("mbox_malformed", f.file, 0, e));
  // One message per X-UID: later ones are reported and not matched.
  std::stable_sort(f.by_uid.begin(), f.by_uid.end());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> first;
  c.step = Step::output_messages;
  for (const auto& [uid, i] : f.by_uid) {
    if (!first.empty() && first.back().first == uid) {
      c.position = i;
      c.add(error("mbox_malformed", f.file, uid, uid_text(uid) + ": X-UID appears twice in the folder"));
      continue;
    }
    first.emplace_back(uid, i);
  }
  c.position = 0;
  f.by_uid = std::move(first);
  f.matched.assign(f.found.size(), false);
}

// X-IMAPbase on the first message: UIDVALIDITY, last UID and the keywords, as a uidlist header.
void check_imapbase(FolderContext& c, MboxFolder& f) {
  if (f.found.empty()) return;
  VerifyFolder& out = c.out();
  const FolderKeywords kw = c.job.recovery ? FolderKeywords{} : c.keywords;
  const std::uint32_t last_uid = c.job.done ? c.job.done->target_uidnext - 1 : out.uidnext ? out.uidnext - 1 : 0;
  const MboxFolderState state{out.uidvalidity, last_uid, kw.all_used};
  std::string want = mbox_metadata_headers(0, 0, {}, &state);
  want = want.substr(12, want.find('\n') - 12);  // after "X-IMAPbase: "
  // After an incremental run the keywords are the first run's (the header is not rewritten).
  const std::string got_base = f.first_imapbase.value_or("");
  const bool base_ok = c.job.done ? got_base.substr(0, 21) == want.substr(0, 21) : got_base == want;
  c.step = Step::imapbase;
  if (!f.first_imapbase || !base_ok)
    c.add(error("imapbase_mismatch", f.file, 0,
                "X-IMAPbase of the first message is '" + f.first_imapbase.value_or("(none)") + "', expected '" + want +
                    "' (UIDVALIDITY, last UID, keywords)"));
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

// Flags as convert writes them (mbox.cpp): Status R/O, X-Status A F T D, X-Keywords.
void check_flags(FolderContext& c, const MboxFolder& f, const SourceMessage& m, const ManifestRecord* e,
                 const FoundMessage& found, bool& bad) {
  const std::string meta = mbox_metadata_headers(m.uid, m.flags, m.keywords, nullptr);
  auto wanted = [&](std::string_view name) -> std::optional<std::string> {
    const std::size_t at = meta.find(std::string(name) + ": ");
    if (at == std::string::npos) return std::nullopt;
    const std::size_t start = at + name.size() + 2;
    return meta.substr(start, meta.find('\n', start) - start);
  };
  auto compare = [&](const char* name, std::size_t k) {
    const std::optional<std::string> got = f.field(found, k), want = wanted(name);
    if (got == want) return;
    if (e && manifest_says(*e, mbox_flags_stale)) {
      // An incremental run leaves an earlier message's mbox headers as they were; its manifest
      // line carries the source's new flags (README "Re-runs").
      c.add(Finding{Finding::Severity::warning, "mbox_flags_in_manifest", f.file.string(), 0, m.uid,
                    uid_text(m.uid) + ": " + name + " is '" + got.value_or("(none)") + "', the source (and the manifest) '" +
                        want.value_or("(none)") + "': flags changed after the first conversion are in the manifest only"});
      return;
    }
    c.add(error("flags_mismatch", f.file, m.uid,
                uid_text(m.uid) + ": " + name + " is '" + got.value_or("(none)") + "', the source gives '" +
                    want.value_or("(none)") + "' (" + join(system_flag_names(m.flags)) +
                    (m.keywords.empty() ? "" : "; ") + join(m.keywords) + ")"));
    bad = true;
  };
  compare("Status", status_field);
  compare("X-Status", x_status_field);
  compare("X-Keywords", keywords_field);
}

// The message in the file: offset, From_ date, flags, the changes the manifest lists (undone by
// the reader, they must be exactly those made), bytes.
void check_found(FolderContext& c, MboxFolder& f, const SourceMessage& m, const ManifestRecord* e,
                 const FoundMessage& found, bool& bad) {
  if (e && e->mbox_offset && *e->mbox_offset != found.offset) {
    c.add(error("manifest_mismatch", f.mpath, m.uid, uid_text(m.uid) + ": mbox_offset " + std::to_string(*e->mbox_offset) +
                                                         ", the message starts at " + std::to_string(found.offset)));
    bad = true;
  }
  const std::string date = f.date(found);
  if (date != expected_from_date(m.internaldate)) {
    c.add(error("internaldate_mismatch", f.file, m.uid, uid_text(m.uid) + ": From_ line date '" + date +
                                                            "', INTERNALDATE is '" + expected_from_date(m.internaldate) + "'"));
    bad = true;
  }
  check_flags(c, f, m, e, found, bad);
  const std::uint64_t quoted = e ? manifest_count(*e, "mboxrd: ") : 0;
  const std::uint64_t renamed = e ? manifest_count(*e, "renamed ") : 0;
  if (e && quoted != found.quoted_lines) {
    c.add(error("mbox_quoting_mismatch", f.file, m.uid, uid_text(m.uid) + ": " + std::to_string(found.quoted_lines) +
                                                            " line(s) carry mboxrd quoting, the manifest lists " +
                                                            std::to_string(quoted)));
    bad = true;
  }
  if (e && renamed != found.renamed_headers) {
    c.add(error("mbox_renames_mismatch", f.file, m.uid, uid_text(m.uid) + ": " + std::to_string(found.renamed_headers) +
                                                            " X-Cyrconv-Orig- field(s), the manifest lists " +
                                                            std::to_string(renamed)));
    bad = true;
  }
  const bool added_eol = e && manifest_says(*e, "mbox: added the line end");
  const Digest& got = added_eol ? found.sha1_without_added_eol : found.sha1;
  check_body(c, m, e, f.file, got, " with the listed mbox changes undone", f.qdir, f.mpath, bad);
}

Outcome check_message(FolderContext& c, MboxFolder& f, const SourceMessage& m, const ManifestRecord* e) {
  ++c.out().count.messages;
  bool bad = false;
  if (e) check_manifest_entry(c, m, *e, f.mpath, bad);
  if (e)
    if (auto o = check_listed(c, m, *e, f.qdir, f.mpath, bad)) return *o;
  const std::uint32_t want_uid = e ? e->uid : m.uid;
  auto it = m.duplicate ? f.by_uid.end()
                        : std::lower_bound(f.by_uid.begin(), f.by_uid.end(), std::make_pair(want_uid, std::uint32_t{0}));
  if (it != f.by_uid.end() && it->first != want_uid) it = f.by_uid.end();
  if (!e && it == f.by_uid.end()) {
    c.add(error("lost_message", m.file, m.uid,
                uid_text(m.uid) + ": neither in the output nor listed in the manifest " + f.mpath.string()));
    return Outcome::lost;
  }
  if (!e) {
    c.add(error("manifest_entry_missing", f.mpath, m.uid, uid_text(m.uid) + ": in the output but not in the manifest"));
    bad = true;
  }
  if (it == f.by_uid.end()) {
    c.add(error("message_missing", f.file, m.uid,
                uid_text(m.uid) + ": the manifest says " + e->disposition + " but no message has this X-UID"));
    return Outcome::mismatched;
  }
  f.matched[it->second] = true;
  check_found(c, f, m, e, f.found[it->second], bad);
  return bad ? Outcome::mismatched : Outcome::verified;
}

// Messages of the file no source message accounts for, in file order.
void report_unmatched(FolderContext& c, MboxFolder& f) {
  c.step = Step::output_left;
  for (std::size_t i = 0; i < f.matched.size(); ++i) {
    if (f.matched[i]) continue;
    const FoundMessage found = f.found[i];
    ++c.out().count.extra;
    c.add(info("extra_message", f.file, found.uid,
               "message at offset " + std::to_string(found.offset) +
                   (found.has_uid ? " (X-UID " + std::to_string(found.uid) + ")" : " (no X-UID)") +
                   " is not from the source folder"));
  }
}

}  // namespace

void verify_mbox_folder(FolderContext& c) {
  VerifyFolder& out = c.out();
  MboxFolder f;
  const std::string side = side_file_name(*c.job.name);
  f.mpath = folder_manifest_path(c.user_root, side);
  f.qdir = folder_quarantine_dir(c.user_root, side);
  const std::string rel = c.job.name->mbox_path.empty() ? "INBOX" : c.job.name->mbox_path;
  f.file = c.user_root / "mail" / rel;
  std::error_code ec;
  const bool gzip = !fs::exists(f.file, ec) && fs::exists(fs::path(f.file.string() + ".gz"), ec);  // convert --gzip
  if (gzip) f.file += ".gz";
  out.output = c.user.root_rel + "/mail/" + rel + (gzip ? ".gz" : "");
  out.manifest = c.user.root_rel + "/manifests/" + side + ".jsonl";

  c.step = Step::outputs;
  read_manifest(c, f.mpath);
  read_mbox_file(c, f, gzip);
  check_imapbase(c, f);

  PrefetchScope prefetch_scope{c.w.prefetch};
  start_prefetch(c, f.qdir, [](const SourceMessage&, const ManifestRecord*) { return std::optional<fs::path>(); });
  for_each_source(c, f.mpath, [&](const SourceMessage& m, const ManifestRecord* e) { count(out.count, check_message(c, f, m, e)); });
  report_unmatched(c, f);
}

}  // namespace cyrconv::verify
