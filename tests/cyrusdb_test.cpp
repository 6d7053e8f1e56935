// cyrusdb readers against real files written by Debian's Cyrus 3.6 tools (fixtures/cyrusdb,
// made by tools/make-cyrusdb-fixtures) plus synthetic edge cases and damaged variants.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>

#include "parsers/cyrusdb.h"
#include "test_support.h"

using namespace cyrconv;

namespace {

std::string fixture(const std::string& name) { return test::read_file(test::fixtures_dir() / "cyrusdb" / name); }

std::map<std::string, std::string> as_map(const CyrusDb& db) {
  std::map<std::string, std::string> m;
  for (const auto& r : db.records) m[r.key] = r.value;
  return m;
}

const std::map<std::string, std::string> kBasic = {
    {"alpha", "1"},
    {"beta", "two words"},
    {"empty", ""},
    {"tab\tkey", "line1\nline2\tcol\xff" "end"},
    {"cr\rkey", "v\r"},
    {"user.fred", "0 default fred\tlrswipkxtecda\t"},
    {"zz-long", std::string(300, 'x')},
};

const std::map<std::string, std::string> kChurn = {
    {"k00", "v00"}, {"k01", "v01"}, {"k02", "v02-replaced"}, {"k03", "v03-replaced"}, {"k04", "v04"},
    {"k06", "v06"}, {"k07", "v07-again"}, {"k08", "v08"}, {"k09", "v09"},
};

// Recomputes a twoskip record's head CRC after its pointers were edited (level-0 records
// without 64-bit lengths only).
void rewrite_twoskip_head(std::string& d, std::size_t off) {
  const std::size_t level = static_cast<unsigned char>(d[off + 1]);
  const std::size_t crc_at = off + 8 + 8 * (level + 1);
  const std::uint32_t crc = crc32_of(std::string_view(d).substr(off, crc_at - off));
  for (int i = 0; i < 4; ++i) d[crc_at + i] = static_cast<char>(crc >> (24 - 8 * i));
}
void put_be64(std::string& d, std::size_t off, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) d[off + i] = static_cast<char>(v >> (56 - 8 * i));
}

}  // namespace

TEST_CASE("cyrusdb: formats are detected by magic") {
  CHECK(detect_cyrusdb_format(fixture("basic.flat")) == CyrusDbFormat::flat);
  CHECK(detect_cyrusdb_format(fixture("basic.skiplist")) == CyrusDbFormat::skiplist);
  CHECK(detect_cyrusdb_format(fixture("basic.twoskip")) == CyrusDbFormat::twoskip);
  CHECK(detect_cyrusdb_format("") == CyrusDbFormat::empty);
  CHECK(detect_cyrusdb_format(std::string("SQLite format 3\0rest", 20)) == CyrusDbFormat::sqlite);
  std::string bdb(64, '\0');
  bdb[12] = 0x62; bdb[13] = 0x31; bdb[14] = 0x05; bdb[15] = 0x00;  // btree magic, little-endian writer
  CHECK(detect_cyrusdb_format(bdb) == CyrusDbFormat::berkeley);
  CHECK(std::string(to_string(CyrusDbFormat::twoskip)) == "twoskip");
}

TEST_CASE("cyrusdb: Berkeley DB and SQLite are refused with advice") {
  std::string bdb(64, '\0');
  bdb[12] = 0x00; bdb[13] = 0x05; bdb[14] = 0x31; bdb[15] = 0x62;
  auto r = read_cyrusdb(bdb, "mailboxes.db");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "mailboxes.db");
  CHECK(r.error().message.find("cvt_cyrusdb") != std::string::npos);
  auto s = read_cyrusdb(std::string("SQLite format 3\0xxxxxxxx", 24), "x.dav");
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("SQLite") != std::string::npos);
  auto e = read_cyrusdb("", "empty.sub");
  REQUIRE(e.ok());
  CHECK(e.value().records.empty());
}

TEST_CASE("cyrusdb: the same real database as flat, skiplist and twoskip gives identical records") {
  for (const char* name : {"basic.flat", "basic.skiplist", "basic.twoskip"}) {
    CAPTURE(name);
    auto r = read_cyrusdb(fixture(name), name);
    REQUIRE(r.ok());
    CHECK(r.value().warnings.empty());
    CHECK(as_map(r.value()) == kBasic);
    CHECK(r.value().records.size() == kBasic.size());
  }
  // Flat really escapes: the file holds FF 89 for the TAB inside the key.
  CHECK(fixture("basic.flat").find("tab\xff\x89key") != std::string::npos);
}

TEST_CASE("cyrusdb: replacements and deletes (skiplist log part, twoskip DELETE/stale records)") {
  for (const char* name : {"churn.skiplist", "churn.twoskip"}) {
    CAPTURE(name);
    auto r = read_cyrusdb(fixture(name), name);
    REQUIRE(r.ok());
    CHECK(r.value().warnings.empty());
    CHECK(as_map(r.value()) == kChurn);
    CHECK(r.value().records.size() == kChurn.size());
  }
  // twoskip keeps records in key order along the list.
  auto t = read_twoskip_db(fixture("churn.twoskip"), "churn.twoskip");
  REQUIRE(t.ok());
  CHECK(std::is_sorted(t.value().records.begin(), t.value().records.end(),
                       [](const DbRecord& a, const DbRecord& b) { return a.key < b.key; }));
  // The file does contain DELETE records and stale values that must not show up.
  const std::string raw = fixture("churn.twoskip");
  CHECK(raw.find("v05") != std::string::npos);
  CHECK(raw.find("v11") != std::string::npos);
}

TEST_CASE("cyrusdb: an interrupted transaction (cyr_dbtool damage) is ignored with a warning") {
  for (const char* name : {"churn-damaged.skiplist", "churn-damaged.twoskip"}) {
    CAPTURE(name);
    auto r = read_cyrusdb(fixture(name), name);
    REQUIRE(r.ok());
    CHECK_FALSE(r.value().warnings.empty());
    CHECK(as_map(r.value()) == kChurn);
    CHECK(fixture(name).find("CRASHME") != std::string::npos);
  }
}

TEST_CASE("cyrusdb flat: escaping, pre-2.5 files, TABs in values, damaged lines") {
  auto r = read_flat_db("a\tb\tc\td\nk\xff\x80\xff\xff\tv\xff\x8a\n", "f");
  REQUIRE(r.ok());
  REQUIRE(r.value().records.size() == 2);
  CHECK(r.value().records[0].key == "a");
  CHECK(r.value().records[0].value == "b\tc\td");  // the key ends at the first TAB only
  CHECK(r.value().records[1].key == std::string("k\0\xff", 3));
  CHECK(r.value().records[1].value == "v\n");
  auto t = read_flat_db("user.fred\t0 default fred\tlrs\t\nuser.bob\t0 def", "old");
  REQUIRE(t.ok());
  CHECK(t.value().records.size() == 1);
  CHECK(t.value().warnings.size() == 1);  // no final LF: truncated copy
  auto n = read_flat_db("nokey\n\n", "f");
  REQUIRE(n.ok());
  CHECK(n.value().records.size() == 1);
  CHECK(n.value().warnings.size() == 2);
}

TEST_CASE("cyrusdb twoskip: header CRC, committed size and pointer cycles are checked") {
  const std::string good = fixture("basic.twoskip");
  std::string bad_hdr = good;
  bad_hdr[40] ^= 1;
  auto h = read_twoskip_db(bad_hdr, "t");
  REQUIRE_FALSE(h.ok());
  CHECK(h.error().offset == 60);

  // Make the first record point to itself on both level-0 links.
  std::string cyc = good;
  const std::size_t first = load_be64(cyc, 64 + 8);  // DUMMY ptr[0]
  const std::size_t alt = load_be64(cyc, 64 + 16);   // DUMMY ptr[1]
  const std::size_t rec = std::max(first, alt);
  REQUIRE(rec > 64);
  put_be64(cyc, rec + 8, rec);
  if (static_cast<unsigned char>(cyc[rec + 1]) >= 1) put_be64(cyc, rec + 16, rec);
  rewrite_twoskip_head(cyc, rec);
  auto c = read_twoskip_db(cyc, "t");
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("cycle") != std::string::npos);

  std::string cut = good.substr(0, good.size() - 8);
  auto t = read_twoskip_db(cut, "t");
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().message.find("truncated") != std::string::npos);
}

namespace {

// How a damaged variant of a file came out, against the records of the intact file.
struct DamageOutcomes {
  std::size_t errors = 0, warned = 0, unchanged = 0, silent_subset = 0, silent_other = 0;
};

void classify(DamageOutcomes& o, const Result<CyrusDb>& r, const std::map<std::string, std::string>& intact) {
  if (!r.ok()) {
    CHECK_FALSE(r.error().message.empty());  // an error always says what was expected
    ++o.errors;
    return;
  }
  if (!r.value().warnings.empty()) {
    ++o.warned;
    return;
  }
  auto got = as_map(r.value());
  if (got == intact) {
    ++o.unchanged;
    return;
  }
  // Silent and different: acceptable only as fewer records (a cut at a record boundary, which a
  // format without a record count cannot see), never as a changed or invented one.
  bool subset = std::all_of(got.begin(), got.end(), [&](const auto& kv) {
    auto it = intact.find(kv.first);
    return it != intact.end() && it->second == kv.second;
  });
  ++(subset ? o.silent_subset : o.silent_other);
}

}  // namespace

TEST_CASE("cyrusdb: truncated and garbled real files give an error or warnings, never a crash") {
  for (const char* name : {"basic.flat", "basic.skiplist", "basic.twoskip", "churn.skiplist", "churn.twoskip",
                           "churn-damaged.skiplist", "churn-damaged.twoskip", "seen.twoskip", "sub-v2.flat"}) {
    CAPTURE(name);
    const std::string data = fixture(name);
    auto whole = read_cyrusdb(data, name);
    REQUIRE(whole.ok());
    const auto intact = as_map(whole.value());
    DamageOutcomes cut, flipped;
    for (std::size_t len = 0; len < data.size(); ++len)
      classify(cut, read_cyrusdb(std::string_view(data).substr(0, len), name), intact);
    for (std::size_t i = 0; i < data.size(); ++i) {
      for (unsigned char x : {0x01, 0x80, 0xFF}) {
        std::string g = data;
        g[i] = static_cast<char>(g[i] ^ x);
        classify(flipped, read_cyrusdb(g, name), intact);
      }
    }
    // Every cut shorter than the file is at least 90% of the time an error or a warning; the rest
    // are cuts at a boundary the format cannot see (a flat file's line end, a skiplist commit).
    const std::size_t cuts = data.size();
    CHECK(cut.errors + cut.warned >= cuts * 9 / 10);
    // A cut only drops records, unless the file rewrote values: then a cut right after an earlier
    // commit is that earlier state (churn.skiplist: the values before their replacement).
    const bool rewrites = std::string(name).rfind("churn", 0) == 0;
    if (!rewrites || whole.value().format == CyrusDbFormat::twoskip) CHECK(cut.silent_other == 0);
    if (whole.value().format == CyrusDbFormat::twoskip) {
      // twoskip has CRCs over every record: a flipped byte never passes as other data.
      CHECK(flipped.silent_other == 0);
      CHECK(flipped.silent_subset == 0);
      CHECK(flipped.errors + flipped.warned > 0);
    }
    MESSAGE(std::string(name) << ": cut " << cut.errors << " errors, " << cut.warned << " warned, " << cut.unchanged
                 << " unchanged, " << cut.silent_subset << " fewer, " << cut.silent_other << " altered; flipped " << flipped.errors
                 << " errors, " << flipped.warned << " warned, " << flipped.unchanged << " unchanged, "
                 << flipped.silent_subset << " fewer, " << flipped.silent_other << " altered");
  }
  // Truncating a skiplist inside its committed part is an error, never silent data loss.
  const std::string sk = fixture("churn.skiplist");
  auto r = read_skiplist_db(std::string_view(sk).substr(0, 200), "churn.skiplist");
  CHECK_FALSE(r.ok());
}
