#include "converter/convert/folder_conversion.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "converter/convert/journal.h"
#include "converter/convert/uidlist_stream.h"
#include "converter/source/recover.h"
#include "writers/maildir.h"
#include "parsers/hex.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

ManifestEntry entry_from_record(const ManifestRecord& r) {
  ManifestEntry e;
  e.uid = r.uid;
  e.source_uid = r.source_uid;
  e.source_file = r.source_file;
  e.output_file = r.output_file;
  e.mbox_offset = r.mbox_offset.value_or(0);
  e.flags = r.flags;
  e.keywords = r.keywords;
  e.internaldate = r.internaldate;
  e.size = r.size;
  const auto sha1 = from_hex<20>(r.sha1);  // a manifest line without a valid digest has none
  e.sha1_known = sha1.has_value();
  if (sha1) e.sha1 = *sha1;
  e.disposition = parse_message_disposition(r.disposition).value_or(MessageDisposition::not_converted);
  e.changes = r.changes;
  e.reason = r.reason;
  return e;
}

std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// The file of an earlier message in cur/: where the manifest says, or (renamed by Dovecot since)
// the one with the same base name.
std::optional<fs::path> find_earlier_file(const fs::path& user_root, const std::string& output_file) {
  const fs::path p = user_root / output_file;
  struct stat st {};
  if (::lstat(p.c_str(), &st) == 0) return p;
  const std::string name = p.filename().string();
  const std::string base = name.substr(0, name.find(':'));
  DIR* d = ::opendir(p.parent_path().c_str());
  if (!d) return std::nullopt;
  std::optional<fs::path> found;
  while (dirent* e = ::readdir(d)) {
    const std::string_view n = e->d_name;
    if (n.size() > base.size() && n.substr(0, base.size()) == base && n[base.size()] == ':') {
      found = p.parent_path() / std::string(n);
      break;
    }
  }
  ::closedir(d);
  return found;
}

bool converted_before(const ManifestRecord& r) {
  return r.kind == Disposition::written || r.kind == Disposition::repaired || r.kind == Disposition::quarantined;
}

}  // namespace

FolderKeywords merged_keywords(const MailboxInventory& inv, const std::map<char, std::string>& existing) {
  FolderKeywords kw = plan_keywords(inv);
  FolderKeywords m;
  m.all_used = kw.all_used;
  for (const auto& [letter, name] : existing) {
    const std::size_t i = static_cast<std::size_t>(letter - 'a');
    if (m.letters_order.size() <= i) m.letters_order.resize(i + 1);
    m.letters_order[i] = name;
  }
  for (const auto& k : kw.all_used)
    if (std::find(m.letters_order.begin(), m.letters_order.end(), k) == m.letters_order.end() &&
        m.letters_order.size() < 26)
      m.letters_order.push_back(k);
  for (unsigned n = 0; n < 128 && n < inv.flag_names.size(); ++n) {
    if (!inv.flag_names[n]) continue;
    auto it = std::find(m.letters_order.begin(), m.letters_order.end(), *inv.flag_names[n]);
    if (it != m.letters_order.end()) m.letter_of_slot[n] = static_cast<char>('a' + (it - m.letters_order.begin()));
  }
  return m;
}

bool FolderConversion::take_plan_ranges() {
  if (!recovery)
    if (auto it = opt.plan_ranges.find({user.owner, job.mailbox->name.internal()}); it != opt.plan_ranges.end())
      plan = &it->second;
  lead = !plan || plan->front().mine;
  if (plan) {
    out.plan_split = true;
    out.ranges = plan->size();
    for (std::size_t r = 0; r < plan->size(); ++r)
      if ((*plan)[r].mine) out.plan_ranges.push_back(r);
    if (out.plan_ranges.empty()) {
      // The owner's entry without ranges keeps only extras.
      out.findings.clear();
      return false;
    }
  }
  return true;
}

// The folder's records are read again now (planning kept only its summary), a window at a time:
// once whole to check the index is still the one planned (and where each window starts), then
// as each step needs them. A damaged index out of UID order is held whole, sorted by UID.
bool FolderConversion::reload_records(const MailboxInventory& planned, const SeenState& seen) {
  inv = planned;
  seen_state = &seen;
  records_held = recovery || inv.live.size() == inv.live_count || !inv.uid_ascending;
  if (!recovery && inv.live.size() != inv.live_count) {
    LiveRecords again;
    if (records_held) {
      again = reload_live_records(*job.mailbox, seen, planned);
    } else {
      LiveRecordReader reader(*job.mailbox, seen, planned);
      std::vector<IndexRecord> window;
      marks.push_back(reader.position());
      while (reader.next(window, record_window)) marks.push_back(reader.position());
      again.error = reader.error();
    }
    if (!again.error.empty()) {
      out.uidvalidity = planned.header.uidvalidity;
      out.failed = true;
      out.fail_reason = again.error;
      out.count.messages = planned.live_count;
      out.count.not_converted = planned.live_count;
      out.findings.push_back(make_finding(Finding::Severity::error, "source_changed", job.mailbox->dir.string(), 0,
                                          again.error));
      progress.add(job.bytes, planned.live_count);
      return false;
    }
    inv.live = std::move(again.live);
  }
  // Item i is live record i in UID order (a duplicate UID's records in index order).
  if (records_held && !recovery)
    std::stable_sort(inv.live.begin(), inv.live.end(),
                     [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; });
  return true;
}

const IndexRecord* FolderConversion::ItemRecords::at(std::size_t i) {
  if (fc_.recovery || !error_.empty()) return nullptr;
  if (fc_.records_held) return &fc_.inv.live[i];
  if (i >= first_ && i < first_ + window_.size()) return &window_[i - first_];
  if (!reader_ || i < first_ || i >= first_ + window_.size() + record_window) {
    // Not the next window: start again where i's window starts.
    const std::size_t k = i / record_window;
    if (k >= fc_.marks.size()) {
      error_ = fc_.source.dir.string() + ": no live record " + std::to_string(i) + " in the index";
      return nullptr;
    }
    if (!reader_) reader_.emplace(*fc_.job.mailbox, *fc_.seen_state, fc_.inv);
    reader_->seek(fc_.marks[k]);
    first_ = k * record_window;
    window_.clear();
  }
  while (i >= first_ + window_.size()) {
    first_ += window_.size();
    if (!reader_->next(window_, record_window)) {
      error_ = !reader_->error().empty() ? reader_->error()
                                         : fc_.source.dir.string() + ": the index ended before live record " +
                                               std::to_string(i) + ": the source must be a snapshot no one writes to";
      return nullptr;
    }
  }
  return &window_[i - first_];
}

void FolderConversion::list_items() {
  items.reserve(recovery ? orphan_uids.size() : inv.live_count);  // not grown by doubling: 12 bytes a message
  if (recovery) {
    for (std::uint32_t uid : orphan_uids) items.push_back(Item{uid, 0});
  } else if (records_held) {
    for (const auto& r : inv.live) items.push_back(Item{r.uid, r.uid});
  } else {
    ItemRecords records(*this);
    for (std::size_t i = 0; i < inv.live_count; ++i) {
      const IndexRecord* r = records.at(i);
      if (!r) {
        items.clear();
        fail("source_changed", job.mailbox->dir.string(), records.error());
        return;
      }
      items.push_back(Item{r->uid, r->uid});
    }
  }
}

std::filesystem::path FolderConversion::folder_path(const FolderNameResult& n) {
  fo.locate(n);
  return mbox_format ? fo.mbox_file : fo.maildir;
}

PriorFolder FolderConversion::inspect(const FolderNameResult& n) {
  return inspect_prior_folder(user.root, side_file_name(n), !mbox_format, folder_path(n), uidvalidity, opt.gzip);
}

bool FolderConversion::must_move(const PriorFolder& p) const {
  return p.state == PriorFolder::State::foreign ||
         (p.state == PriorFolder::State::done && p.done->uidvalidity != uidvalidity);
}

void FolderConversion::fail(const std::string& kind, const std::string& file, const std::string& why) {
  out.failed = true;
  out.fail_reason = why;
  out.findings.push_back(make_finding(Finding::Severity::error, kind, file, 0, why));
}

// What is already at the target: nothing, our unfinished output, our finished output, or
// something we must not merge into (then a sibling folder takes the messages).
void FolderConversion::choose_target() {
  target = *job.name;
  prior = inspect(target);
  if (must_move(prior)) {
    const std::string why = prior.state == PriorFolder::State::foreign
                                ? prior.why
                                : "the source's UIDVALIDITY is " + std::to_string(uidvalidity) +
                                      ", the earlier conversion's " + std::to_string(prior.done->uidvalidity) +
                                      " (the folder was re-created)";
    const std::string was = target.path.empty() ? "INBOX" : target.path;
    target = uidvalidity_sibling(*job.name, uidvalidity);
    out.findings.push_back(make_finding(
        Finding::Severity::warning,
        prior.state == PriorFolder::State::foreign ? "target_not_ours" : "uidvalidity_changed",
        folder_path(*job.name).string(), 0, why + ": converted into " + target.path + " instead; " + was + " is left as it is"));
    out.target = target.path;
    out.renamed = true;
    out.rename_reason = target.why;
    prior = inspect(target);
    if (must_move(prior)) {
      prior.state = PriorFolder::State::unreadable;
      prior.why = (prior.why.empty() ? target.path : prior.why) + ": the sibling folder is taken as well";
    }
  }
  fo.locate(target);
  incremental = prior.state == PriorFolder::State::done;
  out.run = incremental ? "incremental" : prior.state == PriorFolder::State::partial ? "resumed" : "new";
  parts_dir = range_parts_dir(user.root, fo.side_name);
  if (plan && prior.state == PriorFolder::State::partial) {
    // Other shards' messages in cur/ make the folder look partial: resumed only if this shard
    // left parts of its own before.
    bool mine_before = false;
    std::error_code ec;
    for (std::size_t r : out.plan_ranges)
      for (const char* what : {"json", "manifest"})
        mine_before = mine_before || fs::exists(parts_dir / range_part_file(r, what), ec);
    out.run = mine_before ? "resumed" : "new";
  }
  if (prior.state == PriorFolder::State::unreadable) fail("output_exists", prior.why, prior.why);
}

// Incremental: the earlier manifest says what was converted; those messages are not written
// again, the others (new in the source, or not converted last time) are.
void FolderConversion::read_target_state() {
  if (incremental && !out.failed) {
    earlier = read_earlier_manifest(fo.manifest_path);
    if (!earlier.error.empty()) fail("journal_unreadable", fo.manifest_path.string(), earlier.error);
    target_next = prior.done->target_uidnext;
    std::string error;
    if (!mbox_format) {
      // Dovecot may list a UID it gave before it raises N in the header. Read line by line: the
      // uidlist is not held (some 60 bytes a message).
      if (const UidlistScan u = scan_uidlist(fo.uidlist_path); u.read.exists && u.read.error.empty()) {
        earlier_uidlist = u.read.bytes > 0;
        target_next = std::max(target_next, u.uidnext);
        if (u.max_uid) target_next = std::max(target_next, *u.max_uid + 1);
      }
      if (auto t = read_output_text(fo.maildir / "dovecot-keywords", error)) {
        std::vector<std::string> errors;
        target_keywords = parse_dovecot_keywords(*t, errors);
      }
    } else if (!out.failed) {
      std::string head;
      (void)stream_source_file(fo.mbox_file, w.buffer, [&](std::string_view c) {
        if (head.size() < (1u << 20)) head.append(c);
      });
      if (auto b = find_mbox_imapbase("\n" + head)) target_next = std::max(target_next, b->last_uid + 1);
    }
  }
}

void FolderConversion::match_earlier_lines() {
  // (source UID, line) sorted: the lines of one UID in manifest order, 8 bytes a line. The n-th
  // item of a UID takes the n-th line of it (`taken` counts per UID at its first line's slot).
  std::vector<std::pair<std::uint32_t, std::uint32_t>> of_uid(earlier.records.size());
  for (std::size_t k = 0; k < of_uid.size(); ++k)
    of_uid[k] = {earlier.source_uid(k), static_cast<std::uint32_t>(k)};
  std::sort(of_uid.begin(), of_uid.end());
  std::vector<std::uint32_t> taken(of_uid.size(), 0);
  dropped.assign(earlier.records.size(), 0);
  item_of_line.assign(earlier.records.size(), -1);
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::uint32_t uid = items[i].source_uid;
    const auto first = std::lower_bound(of_uid.begin(), of_uid.end(), std::pair<std::uint32_t, std::uint32_t>{uid, 0});
    if (first == of_uid.end() || first->first != uid) continue;
    const auto slot = static_cast<std::size_t>(first - of_uid.begin());
    const std::size_t n = taken[slot]++;
    if (slot + n >= of_uid.size() || of_uid[slot + n].first != uid) continue;
    const std::size_t k = of_uid[slot + n].second;
    if (converted_before(earlier.records[k])) {
      items[i].earlier = static_cast<std::int32_t>(k);
      item_of_line[k] = static_cast<std::ptrdiff_t>(i);
    } else {
      dropped[k] = 1;
    }
  }
}

// UIDs in the target. A new message keeps its Cyrus UID unless the target already used it
// (mail delivered there since): then it and every later one are numbered on from the target's
// UIDNEXT. The decision is journaled before anything is written, so a resumed run repeats it.
void FolderConversion::assign_target_uids() {
  if (incremental) {
    first_free = std::max<std::uint32_t>(target_next, 1);
    if (prior.pending && prior.pending->uidvalidity == uidvalidity && prior.pending->source_uidnext == source_uidnext)
      first_free = prior.pending->first_free_uid;
  }
  std::uint32_t next_uid = first_free;
  for (auto& item : items) {
    if (item.earlier >= 0) continue;
    ++new_items;
    if (recovery || (incremental && item.source_uid < next_uid)) {
      item.target_uid = next_uid;
    } else {
      item.target_uid = item.source_uid;
    }
    next_uid = std::max(next_uid, item.target_uid + 1);
  }
  // A first run keeps the source's UIDNEXT (verify checks it); an incremental one never goes
  // below what the target already handed out.
  uidnext = recovery ? next_uid : source_uidnext;
  if (incremental) uidnext = std::max({recovery ? 0u : source_uidnext, next_uid, target_next});
  out.uidnext = uidnext;
  if (incremental && new_items && !out.failed && mbox_format && opt.gzip)
    fail("mbox_gzip_not_extended", fo.mbox_file.string() + ".gz",
         "a compressed mbox is not extended by an incremental run: convert the new messages into a new --out");
  if (lead && incremental && new_items && !out.failed &&
      !(prior.pending && prior.pending->first_free_uid == first_free && prior.pending->source_uidnext == source_uidnext)) {
    if (auto st = write_folder_pending(user.root, fo.side_name, FolderPending{uidvalidity, source_uidnext, first_free},
                                       sync_folder);
        !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  }
}

void FolderConversion::choose_keywords() {
  kw = recovery                    ? FolderKeywords{}
                            : incremental && !mbox_format ? merged_keywords(inv, target_keywords)
                                                          : plan_keywords(inv);
  keywords_changed = !incremental;
  if (incremental && !mbox_format)
    for (std::size_t i = 0; i < kw.letters_order.size(); ++i)
      keywords_changed = keywords_changed || !target_keywords.count(static_cast<char>('a' + i));

}

// Earlier messages first: flags that changed in the source follow it (Maildir: a rename in
// cur/, the target's own changes kept), and their manifest lines are carried over.
void FolderConversion::carry_earlier_lines() {
  anything_changed = !incremental || new_items > 0 || keywords_changed || uidnext != prior.done->target_uidnext;
  ItemRecords records(*this);
  for (std::size_t k = 0; incremental && k < earlier.records.size(); ++k) {
    if (dropped[k]) {
      anything_changed = true;
      continue;
    }
    const ManifestRecord& rec = earlier.records[k];
    if (item_of_line[k] < 0) {
      if (converted_before(rec)) ++out.kept_not_in_source;
      earlier_kept.push_back(k);
      continue;
    }
    const Item& item = items[static_cast<std::size_t>(item_of_line[k])];
    const IndexRecord* record = records.at(static_cast<std::size_t>(item_of_line[k]));
    if (!record && !recovery) {
      fail("source_changed", job.mailbox->dir.string(), records.error());
      return;
    }
    if (recovery) {
      ++out.count.orphans;
      if (rec.kind == Disposition::quarantined)
        ++out.count.orphans_quarantined;
      else
        ++out.count.orphans_recovered;
    } else {
      ++out.count.messages;
      ++out.count.earlier;
      if (rec.kind == Disposition::quarantined) ++out.count.earlier_quarantined;
    }
    progress.add(record ? record->size : 0, 1);
    earlier_kept.push_back(k);
    if (!record) continue;
    if (auto line = carried_line(k, item, *record)) earlier_changed.emplace_back(k, std::move(*line));
  }
  if (out.flags_not_applied && mbox_format)
    out.findings.push_back(make_finding(Finding::Severity::warning, "flags_not_applied", fo.mbox_file.string(), 0,
                                        std::to_string(out.flags_not_applied) +
                                            " earlier message(s) changed flags in the source; the mbox is not "
                                            "rewritten for flags, the manifest holds the new ones"));
  if (out.kept_not_in_source)
    out.findings.push_back(make_finding(Finding::Severity::info, "kept_not_in_source", fo.manifest_path.string(), 0,
                                        std::to_string(out.kept_not_in_source) +
                                            " message(s) converted earlier are no longer in the source: kept"));
}

// Earlier line k, its flags following the source's when they changed there.
std::optional<std::string> FolderConversion::carried_line(std::size_t k, const Item& item, const IndexRecord& record) {
  ManifestRecord rec = earlier.records[k];
  FlagState was{system_flags_from_names(rec.flags), sorted(rec.keywords)};
  const std::vector<std::string> now_keywords = record_keywords(record, inv);
  FlagState now{converted_system_flags(record.system_flags), sorted(now_keywords)};
  if (was.system == now.system && was.keywords == now.keywords) return std::nullopt;
  anything_changed = true;
  if (!lead) return std::nullopt;  // range 0's shard renames and records it
  rec.flags = system_flag_names(now.system);
  rec.keywords = now_keywords;
  if (mbox_format || rec.kind == Disposition::quarantined || out.failed) {
    // An mbox is not rewritten for flags: the manifest carries them (README "Re-runs").
    if (rec.kind != Disposition::quarantined) ++out.flags_not_applied;
    if (mbox_format && rec.kind != Disposition::quarantined &&
        std::find(rec.changes.begin(), rec.changes.end(), std::string(mbox_flags_stale)) == rec.changes.end())
      rec.changes.push_back(std::string(mbox_flags_stale));
  } else if (auto file = find_earlier_file(user.root, rec.output_file)) {
    rename_for_flags(rec, item, *file, was, now);
  } else {
    ++out.flags_not_applied;  // gone from the target (expunged there since): left gone
  }
  std::string line = manifest_line(entry_from_record(rec), mbox_format);
  if (!line.empty()) line.pop_back();  // its '\n'
  return line;
}

// The Maildir file of an earlier message gets the merged flags: the source's change applied to
// what the target has now.
void FolderConversion::rename_for_flags(ManifestRecord& rec, const Item& item, const fs::path& found,
                                        const FlagState& was, const FlagState& now) {
  const fs::path* file = &found;
  const MaildirName current = parse_maildir_name(file->filename().string());
  FlagState there;
  std::string letters;
  for (char c : current.flags) {
    if (c == 'D') there.system |= imapflag::draft;
    if (c == 'F') there.system |= imapflag::flagged;
    if (c == 'R') there.system |= imapflag::answered;
    if (c == 'S') there.system |= imapflag::seen;
    if (c == 'T') there.system |= imapflag::deleted;
    if (c >= 'a' && c <= 'z' && static_cast<std::size_t>(c - 'a') < kw.letters_order.size())
      there.keywords.push_back(kw.letters_order[static_cast<std::size_t>(c - 'a')]);
  }
  there.keywords = sorted(there.keywords);
  const FlagState merged = merge_flag_change(there, was, now);
  for (const auto& k2 : merged.keywords) {
    auto it = std::find(kw.letters_order.begin(), kw.letters_order.end(), k2);
    if (it != kw.letters_order.end()) letters += static_cast<char>('a' + (it - kw.letters_order.begin()));
  }
  const std::string renamed = current.base + ":2," + maildir_info_flags(merged.system, letters);
  const fs::path to = file->parent_path() / renamed;
  if (to != *file && ::renameat2(AT_FDCWD, file->c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) != 0) {
    ++out.flags_not_applied;
    out.findings.push_back(make_finding(Finding::Severity::warning, "flags_not_applied", file->string(),
                                        item.source_uid, std::string("rename: ") + std::strerror(errno)));
  } else {
    ++out.flags_updated;
    rec.output_file = fs::path(rec.output_file).parent_path().string() + "/" + renamed;
  }
}

// Only range 0's shard reports what the preparation found and counted (earlier messages).
void FolderConversion::drop_preparation() {
  if (lead) return;
  out.count = AuditAccounting{};
  out.flags_updated = out.flags_not_applied = out.kept_not_in_source = 0;
  out.findings.clear();
  out.messages.clear();
}

void FolderConversion::write_part(const RangePart& part) {
  const std::string text = range_part_json(part);
  WriteStatus st = text.empty() ? WriteStatus{false, parts_dir.string() + ": a path of the folder is not UTF-8"}
                                : make_directories(parts_dir);
  if (st) st = write_small_file(parts_dir / range_part_file(part.range, "json"), text, sync_folder);
  if (!st) {
    run.note(st);
    fail("output_failed", st.message, st.message);
  }
}

// The same snapshot again: nothing to touch (a split folder's shard writes unchanged parts).
bool FolderConversion::nothing_changed() {
  if (!incremental || anything_changed) return false;
  if (lead && prior.pending) remove_folder_pending(user.root, fo.side_name);  // done, killed before this went
  if (plan) {
    drop_preparation();
    for (std::size_t r : out.plan_ranges) {
      RangePart part;
      part.range = r;
      part.ranges = plan->size();
      part.unchanged = true;
      write_part(part);
    }
  }
  return true;
}

void FolderConversion::open_output() {
  if (!out.failed) {
    const fs::path mbox_base = fo.mbox_file;
    std::string error;
    const bool have_mbox = incremental && mbox_format && fs::exists(mbox_base);
    // Listed already if an interrupted run of this addition got that far; only an incremental
    // Maildir run's uidlist needs them (a set of every UID would cost ~40 bytes a message).
    const bool extends_uidlist = incremental && earlier_uidlist;
    std::set<std::uint32_t> new_uids;
    for (const auto& item : items)
      if (extends_uidlist && item.earlier < 0) new_uids.insert(item.target_uid);
    if (auto st = fo.open(uidvalidity, uidnext, kw, keywords_changed && lead,
                          extends_uidlist ? &fo.uidlist_path : nullptr, new_uids,
                          have_mbox && lead ? &mbox_base : nullptr, w);
        !st) {
      run.note(st);
      fail("output_failed", st.message, st.message);
    }
  }
  std::size_t changed = 0;
  for (const std::size_t k : earlier_kept) {
    if (out.failed) break;
    const bool is_changed = changed < earlier_changed.size() && earlier_changed[changed].first == k;
    (void)fo.manifest.write((is_changed ? earlier_changed[changed++].second : earlier.lines[k]) + "\n");
  }
}

// UID ranges: a folder with more new messages than --split-bytes / --split-messages is cut into
// ranges converted in parallel, never inside a run of records of one UID (a duplicate record
// is recognised by its predecessor). Not with --on-corrupt fail: stopping a folder at its first
// bad message needs them in UID order.
void FolderConversion::cut_ranges() {
  if (plan) {
    // The plan's UID bounds (a range may hold no item of this snapshot).
    auto at = [&](std::uint64_t uid) {
      return static_cast<std::size_t>(
          std::partition_point(items.begin(), items.end(), [&](const Item& it) { return it.source_uid < uid; }) -
          items.begin());
    };
    for (const auto& r : *plan) cuts.emplace_back(at(r.first_uid), at(std::uint64_t{r.last_uid} + 1));
  } else {
    const bool may_split = opt.on_corrupt != OnCorrupt::fail && !out.failed;
    ItemRecords records(*this);
    std::size_t begin = 0;
    std::uint64_t bytes = 0, count = 0;
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].earlier >= 0) continue;
      const bool full = (opt.split_bytes && bytes >= opt.split_bytes) || (opt.split_messages && count >= opt.split_messages);
      if (may_split && full && i > begin && items[i].source_uid != items[i - 1].source_uid) {
        cuts.emplace_back(begin, i);
        begin = i;
        bytes = count = 0;
      }
      const IndexRecord* r = records.at(i);
      bytes += r ? r->size : 0;
      ++count;
    }
    cuts.emplace_back(begin, items.size());
  }
  out.ranges = cuts.size();
}

}  // namespace cyrconv
