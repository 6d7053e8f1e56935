// A folder's records without holding them (issue 25): the inventory's summary and UID lists
// with and without its records kept, the records read again a window at a time
// (LiveRecordReader), and walk_cyrus_index_range against the whole walk.
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "converter/plan/plan_names.h"
#include "converter/source/discover.h"
#include "converter/source/inventory.h"
#include "converter/source/live_records.h"
#include "converter/source/source_io.h"
#include "converter/source/user_state.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

SourceInputs inputs_of(const fs::path& root) {
  SourceInputs in;
  in.partitions.push_back({"default", root / "spool"});
  in.config_dir = root / "config";
  return in;
}

bool same_record(const IndexRecord& a, const IndexRecord& b) {
  return a.uid == b.uid && a.system_flags == b.system_flags && a.user_flags == b.user_flags &&
         a.internaldate == b.internaldate && a.size == b.size && a.header_size == b.header_size &&
         a.modseq == b.modseq && a.guid == b.guid && a.crc_ok == b.crc_ok;
}

std::vector<std::uint32_t> finding_uids(const MailboxInventory& inv, const std::string& kind) {
  std::vector<std::uint32_t> uids;
  for (const auto& f : inv.findings)
    if (f.kind == kind) uids.push_back(f.uid);
  std::sort(uids.begin(), uids.end());
  return uids;
}

// Every mailbox of a store: inventory with and without records, and the records read again in
// windows of `window`, agree. Returns how many live records were compared.
std::size_t compare_store(const SourceInputs& in, std::size_t window) {
  const Discovery disc = discover(in);
  std::vector<const MailboxRef*> all;
  for (const auto& mb : disc.mailboxes)
    if (mb.on_disk) all.push_back(&mb);
  const SourceStates states = load_source_states(in, all);
  std::size_t compared = 0;
  for (const MailboxRef* mb : all) {
    CAPTURE(mb->dir.string());
    const SeenState seen = states.seen_for(*mb);
    const MailboxInventory kept = inventory_mailbox(*mb, seen);
    std::vector<IndexRecord> handed;
    InventoryOptions walk;
    walk.keep_records = false;
    walk.each_live = [&](const IndexRecord& r) { handed.push_back(r); };
    const MailboxInventory summary = inventory_mailbox(*mb, seen, walk);
    CHECK(kept.live_count == kept.live.size());
    CHECK(summary.live_count == kept.live_count);
    CHECK(summary.live.size() == (summary.recovered ? summary.live_count : 0));
    CHECK(summary.bytes == kept.bytes);
    CHECK(summary.seen_source == kept.seen_source);
    CHECK(summary.uid_ascending == kept.uid_ascending);
    CHECK(summary.used_user_flags == kept.used_user_flags);
    CHECK(summary.findings.size() == kept.findings.size());
    for (std::size_t i = 0; i < std::min(summary.findings.size(), kept.findings.size()); ++i) {
      CHECK(summary.findings[i].kind == kept.findings[i].kind);
      CHECK(summary.findings[i].uid == kept.findings[i].uid);
      CHECK(summary.findings[i].detail == kept.findings[i].detail);
    }
    // The UID lists are the findings' UIDs; the flags summary is the records' union.
    CHECK(summary.missing_uids == finding_uids(summary, "message_file_missing"));
    CHECK(summary.orphan_uids == finding_uids(summary, "orphan_message_file"));
    CHECK(summary.missing_uids.size() == summary.missing_files);
    CHECK(summary.orphan_uids.size() == summary.orphan_files);
    std::array<std::uint32_t, 4> used{};
    bool ascending = true;
    for (std::size_t i = 0; i < kept.live.size(); ++i) {
      for (std::size_t w = 0; w < 4; ++w) used[w] |= kept.live[i].user_flags[w];
      ascending = ascending && (i == 0 || kept.live[i - 1].uid <= kept.live[i].uid);
    }
    CHECK(used == kept.used_user_flags);
    CHECK(ascending == kept.uid_ascending);
    // Each record handed over once, \Seen applied, in index order.
    REQUIRE(handed.size() == kept.live.size());
    for (std::size_t i = 0; i < handed.size(); ++i) CHECK(same_record(handed[i], kept.live[i]));
    // Read again a window at a time: the same records.
    LiveRecordReader reader(*mb, seen, summary);
    std::vector<IndexRecord> again, part;
    while (reader.next(part, window)) {
      CHECK(part.size() <= window);
      again.insert(again.end(), part.begin(), part.end());
    }
    CHECK(reader.error().empty());
    REQUIRE(again.size() == kept.live.size());
    for (std::size_t i = 0; i < again.size(); ++i) CHECK(same_record(again[i], kept.live[i]));
    compared += again.size();
    if (summary.recovered) continue;
    // Where each window starts, then each window read again from there by a second reader (a
    // UID range converted from the middle of a folder), backwards to show no order is needed.
    LiveRecordReader walk_marks(*mb, seen, summary);
    std::vector<LiveRecordReader::Position> marks{walk_marks.position()};
    while (walk_marks.next(part, window)) marks.push_back(walk_marks.position());
    REQUIRE(marks.size() == (kept.live.size() + window - 1) / window + 1);
    LiveRecordReader seeking(*mb, seen, summary);
    for (std::size_t k = marks.size() - 1; k-- > 0;) {
      CAPTURE(k);
      seeking.seek(marks[k]);
      REQUIRE(seeking.next(part, window));
      REQUIRE(part.size() == std::min(window, kept.live.size() - k * window));
      for (std::size_t i = 0; i < part.size(); ++i) CHECK(same_record(part[i], kept.live[k * window + i]));
      CHECK(seeking.position().live == marks[k + 1].live);
      CHECK(seeking.position().record == marks[k + 1].record);
    }
    CHECK(seeking.error().empty());
  }
  return compared;
}

}  // namespace

TEST_CASE("inventory without records: the same summary, UID lists and records, read again in windows") {
  std::size_t compared = 0;
  for (const char* name : {"cyrus36-default", "cyrus36-legacy", "cyrus36-oldindex", "cyrus36-dotsep", "cyrus36-extras"}) {
    CAPTURE(name);
    compared += compare_store(inputs_of(test::fixtures_dir() / name), 3);
  }
  CHECK(compared > 100);
}

TEST_CASE("inventory UID lists: a missing message file and an orphan file, also without records") {
  test::TempDir tmp;
  fs::copy(test::fixtures_dir() / "cyrus36-default", tmp.path / "store", fs::copy_options::recursive);
  const SourceInputs in = inputs_of(tmp.path / "store");
  const Discovery disc = discover(in);
  const MailboxRef* mb = nullptr;
  for (const auto& m : disc.mailboxes) {
    if (!m.on_disk || m.kind != MailboxKind::email) continue;
    if (inventory_mailbox(m, SeenState{}).live_count >= 3) {
      mb = &m;
      break;
    }
  }
  REQUIRE(mb);
  const MailboxInventory before = inventory_mailbox(*mb, SeenState{});
  const std::uint32_t gone = before.live[1].uid;
  fs::remove(mb->dir / (std::to_string(gone) + "."));
  const std::uint32_t orphan = before.header.last_uid + 7;
  std::ofstream(mb->dir / (std::to_string(orphan) + ".")) << "Subject: orphan\r\n\r\nbody\r\n";
  compare_store(in, 1);
  InventoryOptions walk;
  walk.keep_records = false;
  const MailboxInventory after = inventory_mailbox(*mb, SeenState{}, walk);
  CHECK(after.missing_uids == std::vector<std::uint32_t>{gone});
  CHECK(after.orphan_uids == std::vector<std::uint32_t>{orphan});
  CHECK(after.missing(gone));
  CHECK_FALSE(after.missing(before.live[0].uid));
}

TEST_CASE("LiveRecordReader: an index that changed since the inventory is an error, at open or at the end") {
  test::TempDir tmp;
  fs::copy(test::fixtures_dir() / "cyrus36-default", tmp.path / "store", fs::copy_options::recursive);
  const SourceInputs in = inputs_of(tmp.path / "store");
  const Discovery disc = discover(in);
  const MailboxRef* mb = nullptr;
  MailboxInventory planned;
  for (const auto& m : disc.mailboxes) {
    if (!m.on_disk || m.kind != MailboxKind::email) continue;
    planned = inventory_mailbox(m, SeenState{});
    if (planned.index_read && planned.live_count >= 2) {
      mb = &m;
      break;
    }
  }
  REQUIRE(mb);
  // The same header, one live record fewer than the inventory counted: found at the end.
  MailboxInventory fewer = planned;
  ++fewer.live_count;
  LiveRecordReader reader(*mb, SeenState{}, fewer);
  CHECK(reader.error().empty());
  std::vector<IndexRecord> part;
  std::size_t n = 0;
  while (reader.next(part, 1)) n += part.size();
  CHECK(n == planned.live_count);
  CHECK(reader.error().find("changed since it was first read") != std::string::npos);
  // Another UIDVALIDITY: refused at open.
  MailboxInventory other = planned;
  ++other.header.uidvalidity;
  LiveRecordReader refused(*mb, SeenState{}, other);
  CHECK(refused.error().find("changed since it was first read") != std::string::npos);
  CHECK_FALSE(refused.next(part));
  CHECK(part.empty());
}

TEST_CASE("walk_cyrus_index_range: any window decodes as the whole walk does") {
  std::size_t indexes = 0;
  for (const char* name : {"cyrus36-default", "cyrus36-legacy", "cyrus36-oldindex"}) {
    for (const auto& e : fs::recursive_directory_iterator(test::fixtures_dir() / name / "spool")) {
      if (e.path().filename() != "cyrus.index" || !e.is_regular_file()) continue;
      SourceOpen f = SourceOpen::map(e.path());
      REQUIRE(f.status == SourceOpen::Status::ok);
      const auto whole = parse_cyrus_index(f.file.bytes(), e.path().string());
      if (!whole) continue;
      ++indexes;
      const auto& records = whole.value().records;
      for (std::size_t first = 0; first <= records.size(); first += 2) {
        std::vector<IndexRecord> got;
        const auto part = walk_cyrus_index_range(f.file.bytes(), e.path().string(), first, 3,
                                                 [&](const IndexRecord& r, std::uint64_t) { got.push_back(r); });
        REQUIRE(part);
        CHECK(part.value().header.last_uid == whole.value().header.last_uid);
        CHECK(part.value().records == records.size());
        REQUIRE(got.size() == std::min<std::size_t>(3, records.size() - first));
        for (std::size_t i = 0; i < got.size(); ++i) CHECK(same_record(got[i], records[first + i]));
      }
    }
  }
  CHECK(indexes > 10);
}

TEST_CASE("for_each_live_window: windows in index or UID order, held records as they are, a changed index an error") {
  const SourceInputs in = inputs_of(test::fixtures_dir() / "cyrus36-legacy");
  const Discovery disc = discover(in);
  std::vector<const MailboxRef*> all;
  for (const auto& mb : disc.mailboxes)
    if (mb.on_disk) all.push_back(&mb);
  const SourceStates states = load_source_states(in, all);
  const auto by_uid = [](const IndexRecord& a, const IndexRecord& b) { return a.uid < b.uid; };
  std::size_t walked = 0;
  for (const MailboxRef* mb : all) {
    CAPTURE(mb->dir.string());
    const SeenState seen = states.seen_for(*mb);
    const MailboxInventory kept = inventory_mailbox(*mb, seen);
    InventoryOptions walk;
    walk.keep_records = false;
    MailboxInventory summary = inventory_mailbox(*mb, seen, walk);
    if (summary.recovered || !summary.index_read) continue;
    std::vector<IndexRecord> sorted = kept.live;
    std::stable_sort(sorted.begin(), sorted.end(), by_uid);
    for (bool uid_order : {false, true}) {
      CAPTURE(uid_order);
      std::vector<IndexRecord> got;
      std::size_t calls = 0;
      const std::string error = for_each_live_window(*mb, seen, summary, uid_order, [&](const std::vector<IndexRecord>& w) {
        CHECK(w.size() <= 3);
        CHECK_FALSE(w.empty());
        got.insert(got.end(), w.begin(), w.end());
        ++calls;
      }, 3);
      CHECK(error.empty());
      CHECK(calls == (kept.live.size() + 2) / 3);
      const auto& want = uid_order ? sorted : kept.live;
      REQUIRE(got.size() == want.size());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(same_record(got[i], want[i]));
      walked += got.size();
    }
    if (kept.live.size() < 2) continue;
    // An index out of UID order (as the inventory says): read whole, sorted, given at once.
    MailboxInventory unordered = summary;
    unordered.uid_ascending = false;
    std::size_t calls = 0;
    std::vector<IndexRecord> got;
    CHECK(for_each_live_window(*mb, seen, unordered, true, [&](const std::vector<IndexRecord>& w) {
            ++calls;
            got = w;
          }, 1).empty());
    CHECK(calls == 1);
    REQUIRE(got.size() == sorted.size());
    for (std::size_t i = 0; i < got.size(); ++i) CHECK(same_record(got[i], sorted[i]));
    // Records the inventory holds: given as they are (index order), sorted when asked by UID.
    MailboxInventory held = kept;
    std::reverse(held.live.begin(), held.live.end());
    held.uid_ascending = false;
    for (bool uid_order : {false, true}) {
      calls = 0;
      CHECK(for_each_live_window(*mb, seen, held, uid_order, [&](const std::vector<IndexRecord>& w) {
              ++calls;
              got = w;
            }, 1).empty());
      CHECK(calls == 1);
      REQUIRE(got.size() == held.live.size());
      for (std::size_t i = 0; i < got.size(); ++i) CHECK(same_record(got[i], uid_order ? sorted[i] : held.live[i]));
    }
    // The index changed since the inventory: an error, nothing given.
    MailboxInventory other = summary;
    ++other.header.uidvalidity;
    calls = 0;
    const std::string error = for_each_live_window(*mb, seen, other, true, [&](const std::vector<IndexRecord>&) { ++calls; });
    CHECK(error.find("changed since it was first read") != std::string::npos);
    CHECK(calls == 0);
  }
  CHECK(walked > 50);
}
