// The checks of a folder that do not depend on the output format: the manifest against the
// source, listed dispositions, the quarantine tree, and each message's bytes.
#include <tbb/blocked_range.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>
#include <tbb/task_group.h>
#include <tbb/task_arena.h>

#include <algorithm>
#include <array>

#include "parsers/hex.h"
#include "converter/plan/output_layout.h"
#include "converter/verify/verify_folder.h"
#include "writers/maildir.h"

namespace cyrconv::verify {

void read_manifest(FolderContext& c, const fs::path& path) {
  std::string why;
  c.manifest.index(
      [&](const std::function<void(std::string_view)>& sink) {
        why = read_file_chunks(path, c.w, c.out().bytes_read, sink);
        return why;
      },
      [&](std::size_t line_no, const std::string& what) {
        c.add(error("manifest_unreadable", path, 0, "line " + std::to_string(line_no) + ": " + what));
      });
  if (!c.manifest.lines().empty()) c.manifest.open(path);  // a failure shows when a line is read again
  if (!why.empty()) c.add(error("manifest_missing", path, 0, "the flag manifest of this folder cannot be read: " + why));
}

void pair_with_manifest(FolderContext& c, const PairFn& fn, const std::function<void(const ManifestRecord&)>& left) {
  const auto& lines = c.manifest.lines();
  std::size_t k = 0;
  auto leave_before = [&](std::uint32_t uid) {
    for (; k < lines.size() && lines[k].source_uid < uid; ++k)
      if (left) left(c.manifest.record(lines[k]));
  };
  for_each_source_message(c, [&](const SourceMessage& m) {
    leave_before(m.source_uid);
    if (k < lines.size() && lines[k].source_uid == m.source_uid) {
      const ManifestRecord e = c.manifest.record(lines[k++]);
      fn(m, &e);
    } else {
      fn(m, nullptr);
    }
  });
  for (; k < lines.size(); ++k)
    if (left) left(c.manifest.record(lines[k]));
}

namespace {

// Which census mark the counts say a message got (README "verify").
std::optional<CensusMark> census_mark(const VerifyCounts& before, const VerifyCounts& k) {
  if (k.verified + k.quarantined + k.not_converted > before.verified + before.quarantined + before.not_converted)
    return CensusMark::converted;
  if (k.mismatched > before.mismatched) return CensusMark::mismatched;
  if (k.skipped_deleted > before.skipped_deleted) return CensusMark::left_out;
  if (k.lost > before.lost) return CensusMark::reported_lost;
  return std::nullopt;
}

// A manifest line no source message takes: converted from an earlier snapshot and gone from
// this one (kept, as convert keeps it), or unknown.
void report_left_line(FolderContext& c, const ManifestRecord& e, const fs::path& mpath) {
  const std::uint32_t uid = e.source_uid;
  const bool earlier = c.job.done && (e.kind == Disposition::written || e.kind == Disposition::repaired ||
                                      e.kind == Disposition::quarantined);
  if (earlier) {
    ++c.out().count.extra;
    c.add(info("kept_not_in_source", mpath, uid,
               uid_text(uid) + ": converted by an earlier run, no longer in the source: kept (" + e.source_file + ")"));
  } else {
    c.add(error("manifest_entry_unknown", mpath, uid,
                uid_text(uid) + ": the manifest lists a message the source folder does not have (" + e.source_file + ")"));
  }
}

// One source message's checks and its census mark.
void check_source(FolderContext& c, const PairFn& fn, const SourceMessage& m, const ManifestRecord* e) {
  c.step = Step::source;
  const VerifyCounts before = c.out().count;
  fn(m, e);
  const bool archived = m.record && (m.record->system_flags & sysflag::archived) && !c.mailbox.archive_dir.empty();
  if (auto mark = census_mark(before, c.out().count)) c.job.marks.push_back({m.source_uid, *mark, archived});
}

// One event of pair_with_manifest kept for a window: a source message (with copies of what
// its pointers name, as a streamed record is gone by the next window) or a line left over.
struct Slot {
  bool left = false;
  SourceMessage m;
  IndexRecord record;
  std::optional<ManifestRecord> e;
  HashResults hashes;
};

// The window's files, hashed on the run's threads (tbb::global_control caps them).
void hash_window(std::vector<Slot>& slots, std::size_t n, tbb::enumerable_thread_specific<Worker>& workers) {
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, n, 16), [&](const tbb::blocked_range<std::size_t>& r) {
    Worker& w = workers.local();
    for (std::size_t i = r.begin(); i != r.end(); ++i) {
      HashResults& hs = slots[i].hashes;
      for (std::size_t k = 0; k < hs.n; ++k) {
        HashResult& h = hs.items[k];
        h.bytes_read = 0;
        h.digest = hash_file(h.path, h.lf_to_crlf, w, h.bytes_read, h.why);
        h.size = w.sha.size();
        h.vsize = w.sha.vsize();
      }
    }
  });
}

}  // namespace

void for_each_source(FolderContext& c, const fs::path& mpath, const PairFn& fn) {
  pair_with_manifest(
      c, [&](const SourceMessage& m, const ManifestRecord* e) { check_source(c, fn, m, e); },
      [&](const ManifestRecord& e) {
        c.step = Step::manifest_left;
        report_left_line(c, e, mpath);
      });
}

std::size_t folder_window(const FolderContext& c) {
  return c.opt.folder_window ? c.opt.folder_window : default_folder_window;
}

bool windowed(const FolderContext& c) {
  // A small folder, or one thread, is checked as it is read (with --io-depth's prefetch).
  if (source_count(c) <= folder_window(c)) return false;
  return c.opt.folder_window != 0 ||
         tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism) > 1;
}

void for_each_source_windowed(FolderContext& c, const fs::path& mpath, std::size_t window, const PlanFn& plan,
                              const PairFn& fn) {
  // Two windows, flat in the folder's size: while one window's files are hashed, the checks of
  // the one before run on this thread, then the next window is gathered.
  std::array<std::vector<Slot>, 2> slots{std::vector<Slot>(window), std::vector<Slot>(window)};
  std::array<std::size_t, 2> filled{0, 0};
  std::size_t g = 0;                   // the window being gathered
  std::optional<std::size_t> pending;  // the window being hashed, checked next
  tbb::enumerable_thread_specific<Worker> workers;
  tbb::task_group hashing;
  auto check_window = [&](std::size_t k) {
    for (std::size_t i = 0; i < filled[k]; ++i) {
      Slot& s = slots[k][i];
      if (s.left) {
        c.step = Step::manifest_left;
        report_left_line(c, *s.e, mpath);
        continue;
      }
      c.ready = &s.hashes;
      check_source(c, fn, s.m, s.e ? &*s.e : nullptr);
      c.ready = nullptr;
    }
    filled[k] = 0;
  };
  auto advance = [&] {
    const Step step = c.step;  // as gathering left it, for a finding made while pairing
    if (pending) hashing.wait();
    const std::size_t k = g, n = filled[g];
    hashing.run([&slots, &workers, k, n] { hash_window(slots[k], n, workers); });
    if (pending) check_window(*pending);
    pending = k;
    g = 1 - g;
    c.step = step;
  };
  // The step is set as the sequential path sets it, for a finding made while pairing
  // (source_changed).
  auto gather = [&] {
    pair_with_manifest(
        c,
        [&](const SourceMessage& m, const ManifestRecord* e) {
          c.step = Step::source;
          Slot& s = slots[g][filled[g]++];
          s.left = false;
          s.m = m;
          if (m.record) {
            s.record = *m.record;
            s.m.record = &s.record;
          }
          if (e)
            s.e = *e;
          else
            s.e.reset();
          s.hashes.n = 0;
          plan(s.m, e, s.hashes);
          if (filled[g] == window) advance();
        },
        [&](const ManifestRecord& e) {
          c.step = Step::manifest_left;
          Slot& s = slots[g][filled[g]++];
          s.left = true;
          s.e = e;
          if (filled[g] == window) advance();
        });
    if (filled[g]) advance();
    if (pending) {
      hashing.wait();
      check_window(*pending);
    }
  };
  // isolate: while this thread waits for the hashing it runs only these tasks, never another
  // folder's check, which would take the Worker this folder's checks are using.
  tbb::this_task_arena::isolate([&] {
    try {
      gather();
    } catch (...) {
      hashing.cancel();
      hashing.wait();
      throw;
    }
  });
}

void plan_kept_and_source(const fs::path& qdir, const SourceMessage& m, const ManifestRecord* e, HashResults& h) {
  const Disposition d = e ? e->kind : Disposition::written;
  auto kept = [&](const char* label) { return qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".eml"); };
  if (d == Disposition::quarantined) {
    h.add(kept("quarantined"), false);
    h.add(m.file, false);
  } else if (d == Disposition::repaired) {
    h.add(kept("original"), false);
    h.add(m.file, false);
  } else if (d == Disposition::written && !m.guid) {
    h.add(m.file, false);
  }
}

void start_prefetch(FolderContext& c, const fs::path& qdir,
                    const std::function<std::optional<fs::path>(const SourceMessage&, const ManifestRecord*)>& output_of) {
  // A guess that cannot change a result: a file read ahead and then not asked for is dropped, a
  // file asked for and not read ahead is read directly (converter/source/prefetch.h).
  if (!c.io || c.io_depth < 2) return;
  std::vector<fs::path> ahead;
  pair_with_manifest(
      c,
      [&](const SourceMessage& m, const ManifestRecord* e) {
        const Disposition d = e ? e->kind : Disposition::written;
        auto kept = [&](const char* label) { return qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".eml"); };
        if (d == Disposition::quarantined) {
          ahead.push_back(kept("quarantined"));
          ahead.push_back(m.file);
        } else if (d == Disposition::written || d == Disposition::repaired) {
          if (auto out = output_of(m, e)) ahead.push_back(std::move(*out));
          if (d == Disposition::repaired) {
            ahead.push_back(kept("original"));
            ahead.push_back(m.file);
          } else if (!m.guid) {
            ahead.push_back(m.file);
          }
        }
      },
      nullptr);
  c.w.prefetch.start(c.io, static_cast<std::size_t>(c.io_depth), read_buffer_size, std::move(ahead));
}

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

void check_kept_original(FolderContext& c, const SourceMessage& m, const fs::path& qdir, const char* label, bool& bad) {
  const fs::path eml = qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".eml");
  const fs::path reason = qdir / (std::string(label) + "-" + std::to_string(m.source_uid) + ".reason");
  std::error_code ec;
  if (!fs::is_regular_file(reason, ec)) {
    c.add(error("quarantine_file_missing", reason, m.uid, uid_text(m.uid) + ": the reason file is not there"));
    bad = true;
  }
  std::string why;
  const auto got = c.hash(eml, false, why);
  if (!got) {
    c.add(error("quarantine_file_missing", eml, m.uid, uid_text(m.uid) + ": the original bytes are not there: " + why));
    bad = true;
    return;
  }
  // Kept bytes are the source file as it is (a quarantined file may not match its GUID).
  std::string source_why;
  const auto want = c.hash(m.file, false, source_why);
  if (!want) {
    c.add(error("source_unreadable", m.file, m.uid, source_why));
    bad = true;
  } else if (*got != *want) {
    c.add(error("quarantine_mismatch", eml, m.uid,
                uid_text(m.uid) + ": SHA-1 " + to_hex(*got) + ", the source file's is " + to_hex(*want)));
    bad = true;
  }
}

std::optional<Outcome> check_listed(FolderContext& c, const SourceMessage& m, const ManifestRecord& e,
                                    const fs::path& qdir, const fs::path& mpath, bool& bad) {
  switch (e.kind) {
    case Disposition::written:
    case Disposition::repaired:
      return std::nullopt;
    case Disposition::quarantined:
      check_kept_original(c, m, qdir, "quarantined", bad);
      return bad ? Outcome::mismatched : Outcome::quarantined;
    case Disposition::missing:
      if (!m.file_missing) {
        c.add(error("disposition_mismatch", mpath, m.uid,
                    uid_text(m.uid) + ": listed as missing, but the source file " + m.file.string() + " is there"));
        return Outcome::mismatched;
      }
      return bad ? Outcome::mismatched : Outcome::listed_missing;
    case Disposition::skipped_deleted:
      if (!(m.flags & imapflag::deleted)) {
        c.add(error("disposition_mismatch", mpath, m.uid,
                    uid_text(m.uid) + ": listed as skipped_deleted, but it is not \\Deleted"));
        return Outcome::mismatched;
      }
      return bad ? Outcome::mismatched : Outcome::skipped_deleted;
    case Disposition::not_converted:
      return bad ? Outcome::mismatched : Outcome::not_converted;
    case Disposition::unknown:
      break;
  }
  c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": unknown disposition '" + e.disposition + "'"));
  return Outcome::mismatched;
}

void check_body(FolderContext& c, const SourceMessage& m, const ManifestRecord* e, const fs::path& file,
                const Digest& got, const std::string& how, const fs::path& qdir, const fs::path& mpath, bool& bad) {
  if (e && e->kind == Disposition::repaired) {
    check_kept_original(c, m, qdir, "original", bad);
    return;
  }
  const auto want = c.source_sha1(m);
  if (!want) {
    bad = true;
    return;
  }
  if (got != *want) {
    c.add(error("body_mismatch", file, m.uid,
                uid_text(m.uid) + ": SHA-1 " + to_hex(got) + how + ", the source's is " + to_hex(*want)));
    bad = true;
  }
  if (e && e->sha1 != to_hex(*want)) {
    c.add(error("manifest_mismatch", mpath, m.uid, uid_text(m.uid) + ": sha1 " + e->sha1 + ", the source's is " + to_hex(*want)));
    bad = true;
  }
}

void finish_findings(FolderContext& c) {
  std::stable_sort(c.findings.begin(), c.findings.end(), [](const FolderContext::Placed& a, const FolderContext::Placed& b) {
    if (a.finding.uid != b.finding.uid) return a.finding.uid < b.finding.uid;
    if (a.step != b.step) return a.step < b.step;
    return a.position < b.position;
  });
  for (auto& p : c.findings) c.out().findings.push_back(std::move(p.finding));
  c.findings = {};
}

}  // namespace cyrconv::verify
