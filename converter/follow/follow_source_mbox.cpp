// --follow-source for mbox (converter/follow/follow_source_moves.h): the messages cyrconv wrote that the
// source has expunged are cut out of the folder file. Steps, each repeatable after a kill:
//   1. written beside their final names: the new folder file (<file>.follow-source.tmp, without
//      the removed messages, X-IMAPbase moved to the new first message when the first went), the
//      new manifest (<side>.jsonl.follow-source.tmp, kept offsets shifted) and, in the holding
//      folder, the removed messages as an mbox of their own;
//   2. the holding folder's manifest.jsonl: from here on the plan is fixed, later runs only rename;
//   3. the new folder file renamed over the old one, then the new manifest over the old one;
//   4. the journal entry's manifest line count.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>

#include "converter/follow/follow_source_moves.h"
#include "converter/convert/journal.h"
#include "converter/verify/mbox_reader.h"
#include "converter/verify/output_reader.h"
#include "converter/convert/prior_output.h"
#include "parsers/hex.h"
#include "writers/crash_test_point.h"
#include "writers/imapbase_insert.h"
#include "writers/manifest.h"
#include "converter/plan/output_layout.h"

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

// One expunged message found where its manifest line says: bytes [start, end) of the folder file.
struct Cut {
  std::uint64_t start = 0, end = 0;
  const FollowMove* move = nullptr;
};

// What the first pass learnt. Memory holds the cuts (one per expunged message), never the file:
// an mbox folder file can be many GB.
struct FolderScan {
  std::vector<Cut> cuts;          // in file order
  std::uint64_t first_message = 0;  // offset of the first From_ line (bytes before it are kept)
  bool first_has_imapbase = false;
  std::uint64_t size = 0;
};

constexpr std::size_t chunk_size = 1 << 20;

// Feeds the file to `sink` in chunks; "" or why it failed.
std::string stream_file(const fs::path& path, std::vector<char>& buffer,
                        const std::function<void(std::uint64_t, std::string_view)>& sink) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return std::string("cannot be read: ") + std::strerror(errno);
  std::uint64_t at = 0;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const std::string why = std::string("read error: ") + std::strerror(errno);
      ::close(fd);
      return why;
    }
    if (n == 0) break;
    sink(at, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
    at += static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return {};
}

// Pass 1: where each expunged message is. Moves whose bytes are not the message cyrconv wrote are
// reported (in the order of `ms`) and stay in the file.
bool find_cuts(const std::vector<const FollowMove*>& ms, const Paths& p, std::vector<char>& buffer, FolderScan& scan,
               FollowResult& r) {
  std::map<std::uint64_t, std::pair<const FollowMove*, ManifestRecord>> wanted;  // manifest offset -> move
  for (const FollowMove* m : ms) {
    std::string error;
    auto rec = parse_manifest_line(m->line, error);
    if (rec && rec->mbox_offset) wanted.try_emplace(*rec->mbox_offset, m, std::move(*rec));
  }
  std::set<const FollowMove*> found;
  bool any = false;
  std::optional<std::size_t> open_cut;  // a cut whose end is the next message's start
  MboxReader reader([&](MboxMessage&& f) {
    if (open_cut) scan.cuts[*open_cut].end = f.offset, open_cut.reset();
    if (!any) any = true, scan.first_message = f.offset, scan.first_has_imapbase = f.imapbase.has_value();
    const auto w = wanted.find(f.offset);
    if (w == wanted.end() || found.count(w->second.first) || !is_written(f, w->second.second)) return;
    found.insert(w->second.first);
    scan.cuts.push_back(Cut{f.offset, 0, w->second.first});
    open_cut = scan.cuts.size() - 1;
  });
  const std::string why = stream_file(p.file, buffer, [&](std::uint64_t at, std::string_view bytes) {
    reader.feed(bytes);
    scan.size = at + bytes.size();
  });
  if (!why.empty()) return add_error(r, p.file.string(), why), false;
  reader.finish();
  if (open_cut) scan.cuts[*open_cut].end = scan.size;
  for (const FollowMove* m : ms) {
    if (found.count(m)) continue;
    ++r.impossible;
    r.findings.push_back(finding(Finding::Severity::warning, "follow_source_impossible", p.file.string(), m->uid,
                                 "expunged in the source, but the bytes at its manifest offset are not the message "
                                 "cyrconv wrote: left in the file"));
  }
  return !scan.cuts.empty();
}

// The first message's "X-IMAPbase: ...\n" line as written, read from its first bytes.
std::string imapbase_line(const Paths& p, const FolderScan& scan) {
  const int fd = ::open(p.file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return {};
  const Cut& first = scan.cuts.front();
  std::string head(std::min<std::uint64_t>(first.end - first.start, 128 * 1024), '\0');
  const ssize_t n = ::pread(fd, head.data(), head.size(), static_cast<off_t>(first.start));
  ::close(fd);
  head.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  const std::size_t b = head.find("\nX-IMAPbase: ");
  if (b == std::string::npos) return {};
  const std::size_t e = head.find('\n', b + 1);
  return e == std::string::npos ? std::string() : head.substr(b + 1, e - b);
}

// Where a kept message starts in the new file: earlier cuts taken out, the moved X-IMAPbase line
// (inserted at old offset `inserted_at`, when `inserted`) put in.
struct OffsetMap {
  explicit OffsetMap(const std::vector<Cut>& c) : cuts(c) {
    removed_before.reserve(cuts.size() + 1);
    removed_before.push_back(0);
    for (const Cut& cut : cuts) removed_before.push_back(removed_before.back() + (cut.end - cut.start));
  }
  const std::vector<Cut>& cuts;
  std::vector<std::uint64_t> removed_before;  // [i]: bytes of cuts[0..i)
  bool inserted = false;
  std::uint64_t inserted_at = 0, inserted_size = 0;
  std::optional<std::uint64_t> kept(std::uint64_t old) const {
    const auto after = std::upper_bound(cuts.begin(), cuts.end(), old,
                                        [](std::uint64_t o, const Cut& c) { return o < c.start; });
    const auto i = static_cast<std::size_t>(after - cuts.begin());
    if (i > 0 && old < cuts[i - 1].end) return std::nullopt;  // inside a cut: not a kept message
    return old - removed_before[i] + (inserted && old > inserted_at ? inserted_size : 0);
  }
};

// Pass 2: the file copied without the cuts into `out`, the cuts into `held` (their manifest lines
// into `held_lines`), the X-IMAPbase line moved when the first message goes.
bool split_file(const Paths& p, const FolderScan& scan, std::vector<char>& buffer, OutputFile& out, OutputFile& held,
                std::string& held_lines, OffsetMap& offsets, FollowResult& r) {
  std::string imapbase;
  if (scan.cuts.front().start == scan.first_message && scan.first_has_imapbase) imapbase = imapbase_line(p, scan);
  WriteStatus failed;
  auto keep = [&](std::string_view s) {
    if (auto st = out.write(s); !st && failed) failed = st;
    return WriteStatus{};
  };
  ImapbaseInserter inserter(imapbase, keep);
  std::uint64_t fed = 0;  // kept bytes of messages fed to the inserter
  std::vector<std::pair<std::uint64_t, std::uint64_t>> runs;  // (fed, old offset) at each kept run's start
  std::size_t next_cut = 0;
  const std::string why = stream_file(p.file, buffer, [&](std::uint64_t at, std::string_view bytes) {
    while (!bytes.empty()) {
      while (next_cut < scan.cuts.size() && at >= scan.cuts[next_cut].end) ++next_cut;
      const Cut* c = next_cut < scan.cuts.size() ? &scan.cuts[next_cut] : nullptr;
      if (c && at >= c->start) {  // inside a cut
        if (at == c->start)
          held_lines += manifest_line_shifted(c->move->line, held.bytes_written() - c->start) + "\n";
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), c->end - at));
        if (auto st = held.write(bytes.substr(0, n)); !st && failed) failed = st;
        at += n, bytes.remove_prefix(n);
        continue;
      }
      const std::uint64_t stop = c ? c->start : scan.size;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(bytes.size(), stop - at));
      const std::string_view part = bytes.substr(0, n);
      if (imapbase.empty() || at + n <= scan.first_message) {
        keep(part);  // no line to move, or the bytes before the first message
      } else {
        if (runs.empty() || runs.back().second + (fed - runs.back().first) != at) runs.emplace_back(fed, at);
        (void)inserter.feed(part);
        fed += n;
      }
      at += n, bytes.remove_prefix(n);
    }
  });
  (void)inserter.finish();
  if (!why.empty()) return add_error(r, p.file.string(), why), false;
  if (!failed) return add_error(r, p.file_tmp.string(), failed.message), false;
  if (inserter.inserted()) {
    // The old offset of the byte the line went before.
    const auto run = std::prev(std::upper_bound(runs.begin(), runs.end(), std::pair<std::uint64_t, std::uint64_t>{inserter.inserted_at(), ~std::uint64_t{0}}));
    offsets.inserted = true;
    offsets.inserted_at = run->second + (inserter.inserted_at() - run->first);
    offsets.inserted_size = inserter.size();
  }
  return true;
}

// The folder's manifest without the cut messages' lines, kept offsets shifted, streamed into `out`.
bool rewrite_manifest(const Paths& p, const std::vector<Cut>& cuts, const OffsetMap& offsets, OutputFile& out,
                      FollowResult& r) {
  std::set<std::string_view> gone;
  for (const Cut& c : cuts) gone.insert(c.move->line);
  std::ifstream in(p.manifest, std::ios::binary);
  if (!in) return add_error(r, p.manifest.string(), std::string("cannot be read: ") + std::strerror(errno)), false;
  std::string line, error;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    const auto rec = parse_manifest_line(line, error);
    if (!rec) return add_error(r, p.manifest.string(), "line " + std::to_string(line_no) + ": " + error), false;
    if (gone.count(line)) continue;
    const auto now = rec->mbox_offset ? offsets.kept(*rec->mbox_offset) : std::nullopt;
    const std::string text = now ? manifest_line_shifted(line, *now - *rec->mbox_offset) : line;
    if (auto st = out.write(text); !st) return add_error(r, p.manifest_tmp.string(), st.message), false;
    if (auto st = out.write("\n"); !st) return add_error(r, p.manifest_tmp.string(), st.message), false;
  }
  if (in.bad()) return add_error(r, p.manifest.string(), std::string("read error: ") + std::strerror(errno)), false;
  return true;
}

// Step 1 and 2; false when there is nothing to cut (or an error, in `r`).
bool prepare(const FollowInput& in, const std::vector<const FollowMove*>& ms, const Paths& p,
             FollowResult& r) {
  if (struct stat st {}; ::lstat(p.file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    add_error(r, p.file.string(), "not a regular file: the mbox folder file was expected here");
    return false;
  }
  std::vector<char> buffer(chunk_size);
  FolderScan scan;
  if (!find_cuts(ms, p, buffer, scan, r)) return false;
  if (auto st = make_directories(p.held.parent_path()); !st) return add_error(r, p.held.string(), st.message), false;
  OutputFile out, held, manifest;
  for (auto [f, path] : {std::pair{&out, &p.file_tmp}, {&held, &p.held}, {&manifest, &p.manifest_tmp}})
    if (auto st = f->open(path->parent_path(), path->filename().string()); !st)
      return add_error(r, path->string(), st.message), false;
  std::string held_lines;
  OffsetMap offsets(scan.cuts);
  if (!split_file(p, scan, buffer, out, held, held_lines, offsets, r)) return false;
  if (!rewrite_manifest(p, scan.cuts, offsets, manifest, r)) return false;
  for (auto [f, path] : {std::pair{&held, &p.held}, {&out, &p.file_tmp}, {&manifest, &p.manifest_tmp}}) {
    if (auto st = f->commit(*path, -1, in.sync, OutputFile::OnExisting::replace); !st)
      return add_error(r, path->string(), st.message), false;
    crash_test_point();
  }
  if (auto st = write_small_file(p.held_manifest, held_lines, in.sync); !st)
    return add_error(r, p.held_manifest.string(), st.message), false;
  crash_test_point();
  return true;
}

// The number of lines of a manifest, each checked; nullopt with the reason in `r`.
std::optional<std::size_t> count_manifest_lines(const fs::path& path, FollowResult& r) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return add_error(r, path.string(), std::string("cannot be read: ") + std::strerror(errno)), std::nullopt;
  std::string line, error;
  std::size_t lines = 0;
  for (std::size_t line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    if (!parse_manifest_line(line, error))
      return add_error(r, path.string(), "line " + std::to_string(line_no) + ": " + error), std::nullopt;
    ++lines;
  }
  return lines;
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
  p.manifest = folder_manifest_path(in.user_root, side);
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
  if (!held.error.empty()) return add_error(r, p.held_manifest.string(), held.error);
  const auto now_lines = count_manifest_lines(p.manifest, r);
  if (!now_lines) return;
  for (const auto& rec : held.records) {
    ++r.messages_moved;
    r.findings.push_back(finding(Finding::Severity::info, "moved_to_holding", p.held.string(), rec.uid,
                                 "expunged in the source: cut out of " + rel + " (its bytes are in this mbox)"));
  }
  std::string error;
  if (auto done = read_folder_done(in.user_root, side, error); done && done->manifest_lines != *now_lines) {
    done->manifest_lines = *now_lines;
    if (auto st = write_folder_done(in.user_root, side, *done, in.sync); !st) add_error(r, side, st.message);
  }
}

}  // namespace cyrconv
