#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>
#include <tbb/task_arena.h>

#include <mutex>
#include <optional>

#include "converter/convert/folder_conversion.h"
#include "writers/imapbase_insert.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

// Range 0 writes into the folder's own files.
std::unique_ptr<RangeOutput> FolderConversion::first_range() {
  auto ro = std::make_unique<RangeOutput>();
  ro->mbox = &fo.writer;
  ro->manifest = &fo.manifest;
  ro->uidlist = &fo.uidlist;
  ro->mbox_first = fo.mbox_first;
  ro->failed = out.failed;
  ro->fail_reason = out.fail_reason;
  return ro;
}

// A later range writes into unnamed files of its own, opened when it starts (a range not
// yet started holds no descriptor). A file that cannot be opened fails the range, and its
// lines never reach the folder's files.
std::unique_ptr<RangeOutput> FolderConversion::later_range() {
  auto ro = std::make_unique<RangeOutput>();
  ro->own_writer = MboxWriter(&ro->own_mbox);
  ro->mbox = &ro->own_writer;
  ro->manifest = &ro->own_manifest;
  ro->uidlist = &ro->own_uidlist;
  ro->failed = out.failed;
  ro->fail_reason = out.fail_reason;
  return ro;
}

void FolderConversion::open_own_files(RangeOutput& ro, const fs::path& dir, const std::string& hint) {
  // Distinct hints: where O_TMPFILE is refused they name the temporary files.
  for (auto [file, what] : {std::pair{&ro.own_manifest, ".manifest"}, std::pair{&ro.own_uidlist, ".uidlist"},
                            std::pair{&ro.own_mbox, ".mbox"}}) {
    if (ro.failed || (file == &ro.own_mbox && !mbox_format) || (file == &ro.own_uidlist && mbox_format)) continue;
    if (auto st = file->open(dir, hint + what); !st) {
      run.note(st);
      ro.failed = true;
      ro.lost_lines = true;
      ro.fail_reason = st.message;
      ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
    }
  }
}

// A shard plan's ranges of the folder that this shard holds, in parallel, each into part files
// for `report merge` to join.
void FolderConversion::convert_plan_ranges() {
  drop_preparation();
  out.parts = user.root_rel + "/journal/ranges/" + fo.side_name;
  if (auto st = make_directories(parts_dir); !st) {
    run.note(st);
    fail("output_failed", st.message, st.message);
  }
  for (std::size_t r : out.plan_ranges) {
    if (r == 0) {
      ranges.push_back(first_range());
      continue;
    }
    auto ro = later_range();
    open_own_files(*ro, parts_dir, range_part_file(r, "part"));
    ranges.push_back(std::move(ro));
  }
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, ranges.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& b) {
          for (std::size_t k = b.begin(); k != b.end(); ++k) {
            const std::size_t r = out.plan_ranges[k];
            convert_range(cuts[r].first, cuts[r].second, *ranges[k], true);
            if (r != 0)
              for (OutputFile* f : {&ranges[k]->own_manifest, &ranges[k]->own_uidlist, &ranges[k]->own_mbox})
                (void)f->park();
          }
        },
        tbb::simple_partitioner());
  });
  // Each range's files become its parts (a re-run replaces them), its <r>.json last.
  for (std::size_t k = 0; k < ranges.size(); ++k) commit_plan_part(k);
}

void FolderConversion::commit_plan_part(std::size_t k) {
  const std::size_t r = out.plan_ranges[k];
  RangeOutput& ro = *ranges[k];
  using OnExisting = OutputFile::OnExisting;
  for (auto [file, what] : {std::pair{ro.manifest, "manifest"}, std::pair{ro.uidlist, "uidlist"},
                            std::pair{ro.mbox->plain(), "mbox"}}) {
    if (ro.failed || (what == std::string_view("mbox") && !mbox_format) ||
        (what == std::string_view("uidlist") && mbox_format))
      continue;
    if (auto st = file->commit(parts_dir / range_part_file(r, what), -1, sync_folder, OnExisting::replace); !st) {
      run.note(st);
      ro.failed = true;
      ro.fail_reason = st.message;
      ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
    }
  }
  RangePart part;
  part.range = r;
  part.ranges = plan->size();
  part.failed = ro.failed;
  part.messages = ro.count.messages;
  part.written = ro.count.written + ro.count.repaired;
  part.bytes_written = ro.bytes_written;
  if (r == 0) {
    part.format = mbox_format ? "mbox" : "maildir";
    part.folder = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
    part.uidlist = fo.uidlist_path.lexically_relative(user.root).string();
    part.manifest = fo.manifest_path.lexically_relative(user.root).string();
    part.gzip = opt.gzip;
    part.sync = sync_folder;
    part.mbox_replace = incremental;
    part.imapbase_pending = mbox_format && ro.mbox_first;
    const std::string meta = mbox_metadata_headers(0, 0, {}, &fo.mbox_state);
    part.imapbase = meta.substr(0, meta.find('\n') + 1);
    part.done.folder = source.name.internal();
    part.done.target = target.path;
    part.done.uidvalidity = uidvalidity;
    part.done.source_uidnext = source_uidnext;
    part.done.target_uidnext = uidnext;
    part.done.manifest_lines = earlier_kept.size() + new_items;
    part.done.output = (mbox_format ? fo.mbox_file : fo.maildir).lexically_relative(user.root).string();
    part.done.uniqueid = source.unique_id;
  }
  write_part(part);
  ro.own_mbox.abort();
  ro.own_manifest.abort();
  ro.own_uidlist.abort();
}

// A later range of a folder split by size: into unnamed files of its own, parked until appended.
void FolderConversion::run_later_range(std::size_t k, const fs::path& scratch_dir) {
  RangeOutput& ro = *ranges[k];
  open_own_files(ro, scratch_dir, fo.side_name + ".range-" + std::to_string(k));
  convert_range(cuts[k].first, cuts[k].second, ro, true);
  // Done before the ranges ahead of it, maybe: its buffers go until it is appended.
  for (OutputFile* f : {&ro.own_manifest, &ro.own_uidlist, &ro.own_mbox}) (void)f->park();
}

// Appends range k to the folder's files; mbox offsets in its manifest lines move by where
// its segment lands. `imapbase`: the X-IMAPbase line its first message lacks, to insert
// (range 0 committed no message, this range is the first that did).
void FolderConversion::append_range(std::size_t k, std::vector<char>& buffer, const std::string* imapbase) {
  RangeOutput& ro = *ranges[k];
  auto append = [](auto& to) { return [&to](std::string_view chunk) { return to.write(chunk); }; };
  WriteStatus st;
  if (!mbox_format) {
    st = ro.own_uidlist.read_back(buffer, append(fo.uidlist));
    if (st) st = ro.own_manifest.read_back(buffer, append(fo.manifest));
  } else {
    const std::uint64_t delta = fo.writer.bytes_written();
    std::uint64_t inserted_at = UINT64_MAX, shift = 0;  // lines at or past it move by shift more
    if (!imapbase) {
      st = ro.own_mbox.read_back(buffer, append(fo.writer));
    } else {
      ImapbaseInserter insert(*imapbase, append(fo.writer));
      st = ro.own_mbox.read_back(buffer, [&](std::string_view chunk) { return insert.feed(chunk); });
      if (st) st = insert.finish();
      if (st && !insert.inserted())
        st = WriteStatus{false, fo.mbox_file.string() + ": range " + std::to_string(k) +
                                    ": no X-UID field to put X-IMAPbase before"};
      if (st) {
        inserted_at = insert.inserted_at();
        shift = insert.size();
        ro.bytes_written += shift;
      }
    }
    std::string line;
    if (st)
      st = ro.own_manifest.read_back(buffer, [&](std::string_view chunk) -> WriteStatus {
        while (!chunk.empty()) {
          const std::size_t eol = chunk.find('\n');
          line.append(chunk.substr(0, eol));
          if (eol == std::string_view::npos) break;
          chunk.remove_prefix(eol + 1);
          const auto off = shift ? manifest_line_mbox_offset(line) : std::nullopt;
          const std::uint64_t moved = delta + (off && *off >= inserted_at ? shift : 0);
          if (auto w2 = fo.manifest.write(manifest_line_shifted(line, moved) + "\n"); !w2) return w2;
          line.clear();
        }
        return {};
      });
  }
  if (!st) {
    run.note(st);
    ro.lost_lines = true;
    if (!ro.failed) {
      ro.failed = true;
      ro.fail_reason = st.message;
      ro.findings.push_back(make_finding(Finding::Severity::error, "output_failed", st.message, 0, st.message));
    }
  }
  ro.own_mbox.abort();
  ro.own_manifest.abort();
  ro.own_uidlist.abort();
}

namespace {

// Ranges are appended as soon as every range before them is in, by the thread that finished
// the last of those, so the copying overlaps the conversion of the ranges still running
// instead of trailing the folder. In mbox the folder's first message must carry X-IMAPbase:
// when range 0 committed none, the first later range that did gets the line inserted (rare:
// every message of range 0 missing or quarantined).
struct RangeJoin {
  FolderConversion& c;
  std::mutex join_lock;
  std::vector<char> range_done;
  std::size_t joined = 1;     // ranges before this one are in the folder's files
  bool imapbase_owed = false;  // until a committed message carries it
  std::string imapbase;

  explicit RangeJoin(FolderConversion& conv) : c(conv), range_done(conv.cuts.size(), 0) {
    imapbase_owed = c.mbox_format && c.fo.mbox_first;
    if (imapbase_owed) {
      const std::string meta = mbox_metadata_headers(0, 0, {}, &c.fo.mbox_state);
      imapbase = meta.substr(0, meta.find('\n') + 1);
    }
  }
  void finished(std::size_t k) {
    std::lock_guard<std::mutex> g(join_lock);
    range_done[k] = 1;
    if (!range_done[0]) return;
    imapbase_owed = imapbase_owed && c.ranges[0]->mbox_first;  // range 0 wrote it with its first message
    while (joined < c.cuts.size() && range_done[joined]) {
      const bool insert = imapbase_owed && c.ranges[joined]->mbox_committed > 0;
      c.append_range(joined, c.workers.local().buffer, insert ? &imapbase : nullptr);
      imapbase_owed = imapbase_owed && !insert;
      ++joined;
    }
  }
};

}  // namespace

// The folder's UID ranges in parallel (one range: just that), joined in UID order.
void FolderConversion::convert_split_ranges() {
  if (mbox_format && opt.gzip && !out.failed)
    if (auto st = fo.compress_as_written(); !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  ranges.push_back(first_range());
  if (cuts.size() == 1) {
    convert_range(cuts[0].first, cuts[0].second, *ranges[0], true);
    return;
  }
  for (std::size_t k = 1; k < cuts.size(); ++k) ranges.push_back(later_range());
  const fs::path scratch_dir = mbox_format ? fo.mbox_file.parent_path() : fo.maildir / "tmp";
  RangeJoin join(*this);
  // Isolated: while this thread waits for the ranges, it takes only ranges of this folder,
  // never another folder (whose worker state it would share).
  tbb::this_task_arena::isolate([&] {
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, cuts.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& r) {
          for (std::size_t k = r.begin(); k != r.end(); ++k) {
            if (k == 0)
              convert_range(cuts[0].first, cuts[0].second, *ranges[0], true);
            else
              run_later_range(k, scratch_dir);
            join.finished(k);
          }
        },
        tbb::simple_partitioner());
  });
}

// What the ranges counted, in UID order; a stop is reported once. A range whose lines could
// not be appended leaves the folder uncommitted (no uidlist, manifest or journal entry), so
// the next run converts it again instead of committing files that do not list its messages.
// Returns whether some range's lines were lost.
bool FolderConversion::gather_ranges() {
  bool lines_lost = false;
  if (run.log) run.log->spill(out.messages, out.spilled);  // the preparation's, ahead of the ranges'
  for (auto& rp : ranges) {
    RangeOutput& ro = *rp;
    lines_lost = lines_lost || ro.lost_lines;
    out.count += ro.count;
    out.skipped_deleted += ro.skipped_deleted;
    out.bytes_written += ro.bytes_written;
    if (ro.failed && !out.failed) {
      out.failed = true;
      out.fail_reason = ro.fail_reason;
    }
    for (auto& f : ro.findings) {
      if (f.kind == "stopped" && std::any_of(out.findings.begin(), out.findings.end(),
                                             [](const Finding& g) { return g.kind == "stopped"; }))
        continue;
      out.findings.push_back(std::move(f));
    }
    out.spilled.insert(out.spilled.end(), ro.spilled.begin(), ro.spilled.end());
    // Left in memory only when the log could not take them (then they may list after entries
    // of later ranges: nothing is lost, the order within each range holds).
    for (auto& m : ro.messages) out.messages.push_back(std::move(m));
  }
  if (recovery) {
    // Orphans are counted against their source folder's accounting, not as index messages.
    out.count.written = out.count.repaired = out.count.quarantined = 0;
  }
  return lines_lost;
}

}  // namespace cyrconv
