// --follow-source for mbox (converter/follow/follow_source_moves.h): the messages cyrconv wrote that the
// source has expunged are cut out of the folder file. Steps, each repeatable after a kill:
//   1. written beside their final names: the new folder file (<file>.follow-source.tmp, without
//      the removed messages, X-IMAPbase moved to the new first message when the first went), the
//      new manifest (<side>.jsonl.follow-source.tmp, kept offsets shifted) and, in the holding
//      folder, the removed messages as an mbox of their own;
//   2. the holding folder's manifest.jsonl: from here on the plan is fixed, later runs only rename;
//   3. the new folder file renamed over the old one, then the new manifest over the old one;
//   4. the journal entry's manifest line count.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <iterator>

#include "converter/follow/follow_source_moves.h"
#include "converter/convert/journal.h"
#include "converter/verify/mbox_reader.h"
#include "converter/verify/output_reader.h"
#include "converter/convert/prior_output.h"
#include "parsers/hex.h"
#include "writers/crash_test_point.h"
#include "writers/imapbase_insert.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

Finding finding(Finding::Severity sev, std::string kind, std::string file, std::uint32_t uid, std::string detail) {
  return Finding{sev, std::move(kind), std::move(file), 0, uid, std::move(detail)};
}

void add_error(FollowResult& r, const std::string& file, const std::string& why) {
  if (!why.empty()) r.findings.push_back(finding(Finding::Severity::error, "follow_source_failed", file, 0, why));
}

bool exists_no_follow(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

struct Paths {
  fs::path file, file_tmp, manifest, manifest_tmp, held, held_manifest;
};

// Whether the message found at the manifest's offset is the one cyrconv wrote there.
bool is_written(const MboxMessage& f, const ManifestRecord& rec) {
  if (!f.uid || *f.uid != rec.uid) return false;
  const bool size_ok = f.size == rec.size || f.size_without_added_eol == rec.size;
  const bool sha_ok = rec.sha1.empty() || to_hex(f.sha1) == rec.sha1 || to_hex(f.sha1_without_added_eol) == rec.sha1;
  return size_ok && sha_ok;
}

// Step 1 and 2; false when there is nothing to cut (or an error, in `r`).
bool prepare(const FollowInput& in, const std::vector<const FollowMove*>& ms, const Paths& p,
             FollowResult& r) {
  std::string data;
  if (struct stat st {}; ::lstat(p.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    add_error(r, p.file.string(), "not a regular file: the mbox folder file was expected here");
    return false;
  }
  {
    std::ifstream f(p.file, std::ios::binary);
    if (!f) {
      add_error(r, p.file.string(), std::string("cannot be read: ") + std::strerror(errno));
      return false;
    }
    data.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    if (f.bad()) {
      add_error(r, p.file.string(), std::string("read error: ") + std::strerror(errno));
      return false;
    }
  }
  std::vector<MboxMessage> found;
  MboxReader reader([&](MboxMessage&& m) { found.push_back(std::move(m)); });
  reader.feed(data);
  reader.finish();
  std::map<std::uint64_t, std::size_t> at;  // offset -> index in found
  for (std::size_t i = 0; i < found.size(); ++i) at[found[i].offset] = i;

  std::map<std::size_t, const FollowMove*> removed;  // index in found -> move
  for (const FollowMove* m : ms) {
    std::string error;
    const auto rec = parse_manifest_line(m->line, error);
    const auto it = rec && rec->mbox_offset ? at.find(*rec->mbox_offset) : at.end();
    if (it == at.end() || !is_written(found[it->second], *rec)) {
      ++r.impossible;
      r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", p.file.string(), m->uid,
                                   "expunged in the source, but the bytes at its manifest offset are not the message "
                                   "cyrconv wrote: left in the file"));
      continue;
    }
    removed[it->second] = m;
  }
  if (removed.empty()) return false;

  auto range = [&](std::size_t i) {
    const std::uint64_t end = i + 1 < found.size() ? found[i + 1].offset : data.size();
    return std::string_view(data).substr(found[i].offset, end - found[i].offset);
  };
  std::string out(data, 0, found.front().offset), held, held_lines;
  std::map<std::uint64_t, std::uint64_t> new_offset;  // old -> new, kept messages
  // The folder's X-IMAPbase goes with the folder: when its first message goes, the new first gets it.
  std::string imapbase;
  if (removed.count(0) && found.front().imapbase) {
    const std::string_view first = range(0);
    const std::size_t b = first.find("\nX-IMAPbase: ");
    if (b != std::string_view::npos) {
      const std::size_t e = first.find('\n', b + 1);
      imapbase = std::string(first.substr(b + 1, e == std::string_view::npos ? std::string_view::npos : e - b));
    }
  }
  for (std::size_t i = 0; i < found.size(); ++i) {
    const std::string_view bytes = range(i);
    if (auto m = removed.find(i); m != removed.end()) {
      held_lines += manifest_line_shifted(m->second->line, held.size() - found[i].offset) + "\n";
      held.append(bytes);
      continue;
    }
    new_offset[found[i].offset] = out.size();
    if (imapbase.empty()) {
      out.append(bytes);
      continue;
    }
    ImapbaseInserter ins(imapbase, [&](std::string_view s) {
      out.append(s);
      return WriteStatus{};
    });
    (void)ins.feed(bytes);
    (void)ins.finish();
    if (ins.inserted()) imapbase.clear();
  }

  const EarlierManifest em = read_earlier_manifest(p.manifest);
  if (!em.error.empty()) {
    add_error(r, p.manifest.string(), em.error);
    return false;
  }
  std::set<std::string> gone;
  for (const auto& [i, m] : removed) gone.insert(m->line);
  std::string text;
  for (std::size_t i = 0; i < em.lines.size(); ++i) {
    const std::string& l = em.lines[i];
    if (gone.count(l)) continue;
    const auto& rec = em.records[i];
    const auto n = rec.mbox_offset ? new_offset.find(*rec.mbox_offset) : new_offset.end();
    text += (n == new_offset.end() ? l : manifest_line_shifted(l, n->second - *rec.mbox_offset)) + "\n";
  }
  if (auto st = make_directories(p.held.parent_path()); !st) return add_error(r, p.held.string(), st.message), false;
  for (const auto& [path, content] : {std::pair<const fs::path&, const std::string&>{p.held, held},
                                      {p.file_tmp, out}, {p.manifest_tmp, text}}) {
    if (auto st = write_small_file(path, content, in.sync); !st) return add_error(r, path.string(), st.message), false;
    crash_test_point();
  }
  if (auto st = write_small_file(p.held_manifest, held_lines, in.sync); !st)
    return add_error(r, p.held_manifest.string(), st.message), false;
  crash_test_point();
  return true;
}

std::string rename_if_there(const fs::path& from, const fs::path& to) {
  if (!exists_no_follow(from)) return {};
  if (::rename(from.c_str(), to.c_str()) != 0) return "rename " + from.string() + " -> " + to.string() + ": " + std::strerror(errno);
  crash_test_point();
  return {};
}

}  // namespace

void move_mbox_messages(const FollowInput& in, const std::string& side, const std::vector<const FollowMove*>& ms,
                        const fs::path& holding, FollowResult& r) {
  const std::string rel = ms.front()->from;
  Paths p;
  p.file = in.user_root / rel;
  p.file_tmp = p.file.string() + ".follow-source.tmp";
  p.manifest = in.user_root / "manifests" / (side + ".jsonl");
  p.manifest_tmp = p.manifest.string() + ".follow-source.tmp";
  p.held = holding / p.file.filename();
  p.held_manifest = holding / "manifest.jsonl";
  auto errors = [&r] {
    return std::count_if(r.findings.begin(), r.findings.end(),
                         [](const Finding& f) { return f.severity == Finding::Severity::error; });
  };
  const auto errors_before = errors();
  auto failed = [&] { return errors() != errors_before; };
  if (!exists_no_follow(p.held_manifest)) {
    // Not yet fixed: whatever an interrupted step 1 left is made again from the unchanged file.
    ::unlink(p.file_tmp.c_str());
    ::unlink(p.manifest_tmp.c_str());
    if (!prepare(in, ms, p, r)) return;
  }
  add_error(r, p.file.string(), rename_if_there(p.file_tmp, p.file));
  if (failed()) return;
  add_error(r, p.manifest.string(), rename_if_there(p.manifest_tmp, p.manifest));
  if (failed()) return;
  const EarlierManifest held = read_earlier_manifest(p.held_manifest);
  const EarlierManifest now = read_earlier_manifest(p.manifest);
  if (!held.error.empty()) return add_error(r, p.held_manifest.string(), held.error);
  if (!now.error.empty()) return add_error(r, p.manifest.string(), now.error);
  for (const auto& rec : held.records) {
    ++r.messages_moved;
    r.findings.push_back(finding(Finding::Severity::info, "moved_to_holding", p.held.string(), rec.uid,
                                 "expunged in the source: cut out of " + rel + " (its bytes are in this mbox)"));
  }
  std::string error;
  if (auto done = read_folder_done(in.user_root, side, error); done && done->manifest_lines != now.lines.size()) {
    done->manifest_lines = now.lines.size();
    if (auto st = write_folder_done(in.user_root, side, *done, in.sync); !st) add_error(r, side, st.message);
  }
}

}  // namespace cyrconv
