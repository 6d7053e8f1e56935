#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "parsers/cyrus_header.h"
#include "parsers/cyrus_index.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

// ---- helpers shared by the real-file tests ----------------------------------------------

std::array<std::uint8_t, 20> sha1_of(const std::string& bytes) {
  std::array<std::uint8_t, 20> out{};
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha1(), nullptr);
  return out;
}

std::int64_t mtime_of(const fs::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return -1;
  return static_cast<std::int64_t>(st.st_mtime);
}

// Extracts ../shared/fixtures/cyrus-old/<name>.tar.gz into `tmp`; returns the mailbox
// directory, or an empty path when the shared fixtures are not present on this machine.
fs::path extract_old_mailbox(const std::string& name, const test::TempDir& tmp) {
  const fs::path tarball = test::shared_fixtures_dir() / "cyrus-old" / (name + ".tar.gz");
  if (!fs::exists(tarball)) return {};
  const std::string cmd = "tar -xzf '" + tarball.string() + "' -C '" + tmp.path.string() + "'";
  REQUIRE(std::system(cmd.c_str()) == 0);
  const fs::path dir = tmp.path / name;
  REQUIRE(fs::is_directory(dir));
  return dir;
}

// Checks every record against its message file: size, SHA-1 (when the version stores one)
// and the file's mtime, which Cyrus sets to the internaldate.
void check_records_against_files(const CyrusIndex& idx, const fs::path& dir, bool expect_guid) {
  std::uint64_t live_bytes = 0;
  for (const IndexRecord& r : idx.records) {
    CAPTURE(r.uid);
    const fs::path msg = dir / (std::to_string(r.uid) + ".");
    REQUIRE(fs::exists(msg));
    const std::string body = test::read_file(msg);
    CHECK(r.size == body.size());
    CHECK(r.internaldate == mtime_of(msg));
    CHECK(r.header_size > 0);
    CHECK(r.header_size < r.size);
    CHECK(body.substr(r.header_size - 4, 4) == "\r\n\r\n");  // header_size includes the blank line
    if (expect_guid) {
      CHECK(r.has_guid());
      CHECK(r.guid == sha1_of(body));
    } else {
      CHECK_FALSE(r.has_guid());
    }
    if (r.live()) live_bytes += r.size;
  }
  CHECK(idx.header.quota_used == live_bytes);
}

// ---- synthetic images built from the layout tables in docs/cyrus-on-disk.md 2.2-2.5 ------

// Offsets transcribed from the document (independently of the parser's tables). -1 = absent.
struct DocLayout {
  std::uint32_t header_size, record_size;
  int last_appenddate, last_uid, quota, quota_width, uidvalidity, options, highestmodseq, exists,
      header_file_crc, recentuid, header_crc;
  int internaldate, size, size_width, header_size_field, system_flags, user_flags, guid, modseq, record_crc;
  bool ns;
};

DocLayout doc_layout(std::uint32_t v) {
  DocLayout l{};
  // Defaults shared by v0-v19.
  l.last_appenddate = 24; l.last_uid = 28; l.quota = 32; l.quota_width = 8; l.uidvalidity = 44;
  l.options = -1; l.highestmodseq = -1; l.exists = -1; l.header_file_crc = -1; l.recentuid = -1;
  l.header_crc = -1;
  l.internaldate = 4; l.size = 12; l.size_width = 4; l.header_size_field = 16; l.system_flags = 32;
  l.user_flags = 36; l.guid = -1; l.modseq = -1; l.record_crc = -1; l.ns = false;
  if (v <= 5) { l.quota_width = 4; l.uidvalidity = 40; }
  if (v <= 2) { l.header_size = 44; l.record_size = 52; }
  else if (v == 3) { l.header_size = 56; l.record_size = 52; }
  else if (v == 4) { l.header_size = 76; l.record_size = 52; l.options = 56; }
  else if (v == 5) { l.header_size = 76; l.record_size = 56; l.options = 56; }
  else if (v == 6) { l.header_size = 76; l.record_size = 60; l.options = 60; }
  else if (v == 7) { l.header_size = 76; l.record_size = 72; l.options = 60; }
  else if (v == 8) { l.header_size = 92; l.record_size = 80; l.options = 60; l.highestmodseq = 68; l.modseq = 72; }
  else if (v == 9) { l.header_size = 96; l.record_size = 80; l.options = 60; l.highestmodseq = 68; l.modseq = 72; }
  else if (v == 10) { l.header_size = 96; l.record_size = 88; l.options = 60; l.highestmodseq = 68; l.guid = 60; l.modseq = 80; }
  else {
    l.options = 60; l.highestmodseq = 68; l.exists = 84; l.header_file_crc = 96; l.recentuid = 104;
    l.guid = 60; l.modseq = 80;
    if (v <= 13) { l.header_size = 128; l.header_crc = 124; } else { l.header_size = 160; l.header_crc = 156; }
    if (v == 12) { l.record_size = 96; l.record_crc = 92; }
    else if (v <= 15) { l.record_size = 104; l.record_crc = 100; }
    else { l.record_size = 112; l.record_crc = 108; }
    if (v >= 19) { l.options = 64; l.highestmodseq = 72; l.exists = 60; }
    if (v == 20) {
      l.header_size = 192; l.record_size = 144; l.header_crc = 188; l.last_uid = 88; l.uidvalidity = 92;
      l.recentuid = 184; l.ns = true;
      l.internaldate = 8; l.size = 24; l.size_width = 8; l.header_size_field = 32; l.system_flags = 36;
      l.user_flags = 40; l.record_crc = 140;
    }
  }
  return l;
}

void put32(std::string& b, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xff);
}
void put64(std::string& b, std::size_t off, std::uint64_t v) {
  put32(b, off, static_cast<std::uint32_t>(v >> 32));
  put32(b, off + 4, static_cast<std::uint32_t>(v));
}
void put_width(std::string& b, int off, int width, std::uint64_t v) {
  if (off < 0 || static_cast<std::size_t>(off + width) > b.size()) return;
  if (width == 8) put64(b, static_cast<std::size_t>(off), v); else put32(b, static_cast<std::size_t>(off), static_cast<std::uint32_t>(v));
}

struct SynthRecord {
  std::uint32_t uid;
  std::int64_t internaldate;
  std::uint64_t size;
  std::uint32_t header_size;
  std::uint32_t system_flags;
  std::array<std::uint32_t, 4> user_flags;
  std::uint64_t modseq;
};

constexpr std::uint32_t synth_uidvalidity = 1234567;
constexpr std::uint32_t synth_last_uid = 9;
constexpr std::uint64_t synth_appenddate = 1700000500;

std::vector<SynthRecord> synth_records() {
  return {
      {1, 1700000001, 1111, 300, sysflag::seen, {1u, 0, 0, 0}, 3},
      {2, 1700000002, 2222, 400, sysflag::flagged | sysflag::expunged, {0, 0, 0, 1u << 31}, 4},
      {7, 1700000007, 7777, 500, sysflag::answered | sysflag::deleted, {0, 1u << 5, 0, 0}, 5},
  };
}

std::array<std::uint8_t, 20> synth_guid(std::uint32_t uid) {
  std::array<std::uint8_t, 20> g{};
  for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<std::uint8_t>(uid * 31 + i + 1);
  return g;
}

struct SynthOptions {
  std::uint32_t start_offset = 0;  // 0 = the version's nominal size
  std::uint32_t record_size = 0;
  std::uint32_t record_size_in_header = 0;
  bool exists_counts_live = true;   // v12+: header exists = live records (else = all)
};

std::string synth_index(std::uint32_t v, const std::vector<SynthRecord>& recs, SynthOptions o = {}) {
  const DocLayout l = doc_layout(v);
  const std::uint32_t hs = o.start_offset ? o.start_offset : l.header_size;
  const std::uint32_t rs = o.record_size ? o.record_size : l.record_size;
  std::string head(hs, '\0');
  put32(head, 8, v);
  put32(head, 12, hs);
  put32(head, 16, o.record_size_in_header ? o.record_size_in_header : rs);
  put32(head, 20, static_cast<std::uint32_t>(recs.size()));
  put_width(head, l.last_appenddate, l.ns ? 8 : 4, l.ns ? synth_appenddate * 1000000000ull + 999 : synth_appenddate);
  put_width(head, l.last_uid, 4, synth_last_uid);
  std::uint64_t quota = 0;
  std::uint32_t live = 0;
  for (const auto& r : recs)
    if (!(r.system_flags & sysflag::expunged)) { quota += r.size; ++live; }
  put_width(head, l.quota, l.quota_width, quota);
  put_width(head, l.uidvalidity, 4, synth_uidvalidity);
  put_width(head, l.options, 4, 1);  // pop3_new_uidl in v4-v7, options bit 0 in v8+
  put_width(head, l.highestmodseq, 8, 5);
  put_width(head, l.exists, 4, o.exists_counts_live ? live : static_cast<std::uint32_t>(recs.size()));
  put_width(head, l.header_file_crc, 4, 0xdeadbeef);
  put_width(head, l.recentuid, 4, 7);
  if (l.header_crc >= 0 && static_cast<std::uint32_t>(l.header_crc) + 4 <= hs)
    put32(head, static_cast<std::size_t>(l.header_crc), crc32_of(Bytes(head).substr(0, static_cast<std::size_t>(l.header_crc))));

  std::string out = head;
  for (const auto& r : recs) {
    std::string rec(rs, '\0');
    put32(rec, 0, r.uid);
    put_width(rec, l.internaldate, l.ns ? 8 : 4,
              l.ns ? static_cast<std::uint64_t>(r.internaldate) * 1000000000ull + 123456789 : static_cast<std::uint64_t>(r.internaldate));
    if (!l.ns) put32(rec, 8, 0x11111111);  // sentdate: must not be taken for anything
    put_width(rec, l.size, l.size_width, r.size);
    put_width(rec, l.header_size_field, 4, r.header_size);
    put_width(rec, l.system_flags, 4, r.system_flags);
    for (int w = 0; w < 4; ++w) put_width(rec, l.user_flags + 4 * w, 4, r.user_flags[static_cast<std::size_t>(w)]);
    if (v >= 7 && v <= 9 && rs >= 72)  // 12-byte replication UUID: must not be taken for a GUID
      for (std::size_t i = 60; i < 72; ++i) rec[i] = '\x5a';
    if (l.guid >= 0 && static_cast<std::uint32_t>(l.guid) + 20 <= rs) {
      const auto g = synth_guid(r.uid);
      for (std::size_t i = 0; i < 20; ++i) rec[static_cast<std::size_t>(l.guid) + i] = static_cast<char>(g[i]);
    }
    put_width(rec, l.modseq, 8, r.modseq);
    if (l.record_crc >= 0 && static_cast<std::uint32_t>(l.record_crc) + 4 <= rs)
      put32(rec, static_cast<std::size_t>(l.record_crc), crc32_of(Bytes(rec).substr(0, static_cast<std::size_t>(l.record_crc))));
    out += rec;
  }
  return out;
}

const std::vector<std::uint32_t> all_versions = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17, 18, 19, 20};

bool has_problem(const CyrusIndex& idx, IndexProblem::Kind k) {
  for (const auto& p : idx.problems)
    if (p.kind == k) return true;
  return false;
}

std::string problem_list(const CyrusIndex& idx) {
  std::string s;
  for (const auto& p : idx.problems) s += std::string(to_string(p.kind)) + " @" + std::to_string(p.offset) + ": " + p.detail + "\n";
  return s;
}

// Every truncation and single-byte corruption of `data` must give a value or a ParseError,
// never a crash; records never exceed what the file holds.
void check_robust(const std::string& data, const std::string& label) {
  for (std::size_t n = 0; n <= data.size(); ++n) {
    auto r = parse_cyrus_index(std::string_view(data).substr(0, n), label);
    if (r.ok()) CHECK(r.value().records.size() * r.value().header.record_size + r.value().header.start_offset <= n);
    auto e = parse_cyrus_expunge(std::string_view(data).substr(0, n), label);
    CHECK(e.ok() == r.ok());
  }
  std::string copy = data;
  for (std::size_t i = 0; i < copy.size(); ++i) {
    for (unsigned char x : {0xffu, 0x01u, 0x80u}) {
      copy[i] = static_cast<char>(copy[i] ^ static_cast<char>(x));
      auto r = parse_cyrus_index(copy, label);
      if (r.ok()) CHECK(r.value().records.size() * r.value().header.record_size + r.value().header.start_offset <= copy.size());
      copy[i] = data[i];
    }
  }
}

}  // namespace

// ---- real mailboxes from Cyrus's test data ------------------------------------------------

TEST_CASE("cyrus_index: real version 9 mailbox (Cyrus test data)") {
  test::TempDir tmp;
  const fs::path dir = extract_old_mailbox("version9", tmp);
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/fixtures/cyrus-old not present");
    return;
  }
  const std::string data = test::read_file(dir / "cyrus.index");
  auto r = parse_cyrus_index(data, "version9/cyrus.index");
  REQUIRE(r.ok());
  const CyrusIndex& idx = r.value();
  INFO(problem_list(idx));
  CHECK(idx.problems.empty());
  CHECK(idx.header.minor_version == 9);
  CHECK(idx.header.start_offset == 96);
  CHECK(idx.header.record_size == 80);
  CHECK(idx.header.num_records == 10);
  CHECK(idx.header.exists == 10);
  CHECK(idx.header.last_uid == 10);
  CHECK(idx.header.uidvalidity == 1471228252u);
  CHECK(idx.header.options == index_option_pop3_new_uidl);
  CHECK(idx.header.highestmodseq == 2);
  CHECK_FALSE(idx.header.has_crcs);
  REQUIRE(idx.records.size() == 10);
  for (std::uint32_t i = 0; i < 10; ++i) {
    CHECK(idx.records[i].uid == i + 1);
    CHECK(idx.records[i].live());
    CHECK(idx.records[i].system_flags == 0);
    // Written by Cyrus 3.0's reconstruct -V 9 as a u32 in the high half; read back as 2.
    CHECK(idx.records[i].modseq == 2);
  }
  check_records_against_files(idx, dir, /*expect_guid=*/false);
  CHECK(idx.records[0].size == 1035);
  CHECK(idx.records[0].internaldate == 1471228073);
  CHECK(idx.records[9].size == 1935);
  check_robust(data, "version9/cyrus.index");
}

TEST_CASE("cyrus_index: real version 12 mailbox (Cyrus test data)") {
  test::TempDir tmp;
  const fs::path dir = extract_old_mailbox("version12", tmp);
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/fixtures/cyrus-old not present");
    return;
  }
  const std::string data = test::read_file(dir / "cyrus.index");
  auto r = parse_cyrus_index(data, "version12/cyrus.index");
  REQUIRE(r.ok());
  const CyrusIndex& idx = r.value();
  INFO(problem_list(idx));
  CHECK(idx.problems.empty());
  CHECK(idx.header.minor_version == 12);
  CHECK(idx.header.start_offset == 128);
  CHECK(idx.header.record_size == 96);
  CHECK(idx.header.num_records == 9);
  CHECK(idx.header.exists == 9);
  CHECK(idx.header.last_uid == 9);
  CHECK(idx.header.recentuid == 9);
  CHECK(idx.header.uidvalidity == 1471228261u);
  CHECK(idx.header.has_crcs);
  CHECK(idx.header.header_crc_ok);
  // The index records the CRC32 of the cyrus.header it was written with.
  CHECK(idx.header.header_file_crc == crc32_of(test::read_file(dir / "cyrus.header")));
  REQUIRE(idx.records.size() == 9);
  for (std::uint32_t i = 0; i < 9; ++i) {
    CHECK(idx.records[i].uid == i + 1);
    CHECK(idx.records[i].crc_ok);
    CHECK(idx.records[i].modseq == 2);
    // The owner's \Seen lives in the index from v12 on: messages 1 and 3 are seen.
    CHECK(((idx.records[i].system_flags & sysflag::seen) != 0) == (i == 0 || i == 2));
  }
  check_records_against_files(idx, dir, /*expect_guid=*/true);
  CHECK(idx.records[0].size == 3027);

  // Every single-byte corruption is caught by a CRC (or refused outright).
  std::string copy = data;
  for (std::size_t i = 0; i < copy.size(); ++i) {
    copy[i] = static_cast<char>(copy[i] ^ 0x20);
    auto c = parse_cyrus_index(copy, "corrupt");
    CAPTURE(i);
    CHECK((!c.ok() || !c.value().problems.empty()));
    copy[i] = data[i];
  }
  check_robust(data, "version12/cyrus.index");
}

TEST_CASE("cyrus_index: truncating a real index keeps the complete records") {
  test::TempDir tmp;
  const fs::path dir = extract_old_mailbox("version12", tmp);
  if (dir.empty()) {
    MESSAGE("skipped: ../shared/fixtures/cyrus-old not present");
    return;
  }
  const std::string data = test::read_file(dir / "cyrus.index");
  for (std::size_t n = 0; n < data.size(); ++n) {
    CAPTURE(n);
    auto r = parse_cyrus_index(std::string_view(data).substr(0, n), "trunc");
    if (n < 128) {
      CHECK_FALSE(r.ok());
      continue;
    }
    REQUIRE(r.ok());
    CHECK(r.value().records.size() == (n - 128) / 96);
    CHECK(has_problem(r.value(), IndexProblem::Kind::truncated));
    CHECK_FALSE(has_problem(r.value(), IndexProblem::Kind::exists_mismatch));
  }
}

// ---- fixture spools generated with Debian's Cyrus 3.6 (when present) -----------------------

TEST_CASE("cyrus_index: every cyrus.index under fixtures/ parses without problems") {
  const fs::path root = test::fixtures_dir();
  std::size_t seen = 0;
  if (fs::exists(root)) {
    for (const auto& e : fs::recursive_directory_iterator(root)) {
      if (!e.is_regular_file() || e.path().filename() != "cyrus.index") continue;
      ++seen;
      const std::string data = test::read_file(e.path());
      auto r = parse_cyrus_index(data, e.path().string());
      CAPTURE(e.path().string());
      REQUIRE(r.ok());
      INFO(problem_list(r.value()));
      CHECK(r.value().problems.empty());
      for (const auto& rec : r.value().records) {
        if (!rec.live()) continue;
        const fs::path msg = e.path().parent_path() / (std::to_string(rec.uid) + ".");
        if (!fs::exists(msg)) continue;  // e.g. an archive partition elsewhere
        const std::string body = test::read_file(msg);
        CHECK(rec.size == body.size());
        if (r.value().header.minor_version >= 12) CHECK(rec.guid == sha1_of(body));
      }
    }
  }
  if (seen == 0) MESSAGE("no cyrus.index under fixtures/ yet");
}

namespace {

std::string hex_of(const std::array<std::uint8_t, 20>& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (auto b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::istringstream in(test::read_file(p));
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Flag names of one record as IMAP shows them (without \Seen and \Recent, checked apart).
std::set<std::string> imap_flags(const IndexRecord& r, const CyrusHeader& h) {
  std::set<std::string> f;
  if (r.system_flags & sysflag::answered) f.insert("\\Answered");
  if (r.system_flags & sysflag::flagged) f.insert("\\Flagged");
  if (r.system_flags & sysflag::deleted) f.insert("\\Deleted");
  if (r.system_flags & sysflag::draft) f.insert("\\Draft");
  for (unsigned n = 0; n < 128; ++n)
    if (r.user_flag(n)) f.insert(n < h.user_flags.size() && h.user_flags[n] ? *h.user_flags[n] : "#unnamed" + std::to_string(n));
  return f;
}

}  // namespace

// The fixture spools carry an oracle: what the Cyrus server that wrote them served over IMAP.
// Map each mailbox directory to its folder through the unique id in cyrus.header.
TEST_CASE("cyrus_index: fixture spools agree with the IMAP oracle") {
  std::size_t fixtures = 0, compared_messages = 0, mapped = 0;
  std::set<std::uint32_t> robust_checked;
  if (fs::exists(test::fixtures_dir())) {
    for (const auto& fixture : fs::directory_iterator(test::fixtures_dir())) {
      const fs::path folders_file = fixture.path() / "oracle-folders.jsonl";
      const fs::path messages_file = fixture.path() / "oracle.jsonl";
      if (!fs::exists(folders_file) || !fs::exists(messages_file) || !fs::exists(fixture.path() / "spool")) continue;
      ++fixtures;
      // A shared folder is listed once per user who sees it; tombstones reuse the id.
      std::map<std::string, std::vector<nlohmann::json>> folders_by_id;
      for (auto& f : read_jsonl(folders_file))
        if (f.contains("mailboxid") && f["mailboxid"].is_string() && (f["kind"] == "mail" || f["kind"] == "shared"))
          folders_by_id[f["mailboxid"].get<std::string>()].push_back(f);
      std::map<std::pair<std::string, std::string>, std::map<std::uint32_t, nlohmann::json>> messages;
      for (auto& m : read_jsonl(messages_file))
        messages[{m["user"].get<std::string>(), m["folder"].get<std::string>()}][m["uid"].get<std::uint32_t>()] = m;

      for (const auto& e : fs::recursive_directory_iterator(fixture.path() / "spool")) {
        if (!e.is_regular_file() || e.path().filename() != "cyrus.index") continue;
        const fs::path dir = e.path().parent_path();
        CAPTURE(dir.string());
        auto header = parse_cyrus_header(test::read_file(dir / "cyrus.header"), (dir / "cyrus.header").string());
        REQUIRE(header.ok());
        const std::string index_bytes = test::read_file(e.path());
        auto parsed = parse_cyrus_index(index_bytes, e.path().string());
        REQUIRE(parsed.ok());
        const CyrusIndex& idx = parsed.value();
        INFO(problem_list(idx));
        CHECK(idx.problems.empty());
        if (idx.header.minor_version >= 12)
          CHECK(idx.header.header_file_crc == crc32_of(test::read_file(dir / "cyrus.header")));
        // One real file per minor version also goes through truncation and corruption.
        if (robust_checked.insert(idx.header.minor_version).second) check_robust(index_bytes, e.path().string());

        auto folder_it = folders_by_id.find(header.value().unique_id);
        if (folder_it == folders_by_id.end()) continue;
        ++mapped;
        for (const nlohmann::json& folder : folder_it->second) {
          CAPTURE(folder.dump());
          CHECK(idx.header.minor_version == folder["index_version"].get<std::uint32_t>());
          CHECK(idx.header.uidvalidity == folder["uidvalidity"].get<std::uint32_t>());
          CHECK(idx.header.last_uid + 1 == folder["uidnext"].get<std::uint32_t>());
          if (idx.header.minor_version >= 8 && folder.contains("highestmodseq"))
            CHECK(idx.header.highestmodseq == folder["highestmodseq"].get<std::uint64_t>());
          if (idx.header.minor_version >= 12 && folder["exists"].is_number())
            CHECK(idx.header.exists == folder["exists"].get<std::uint32_t>());
          const auto& want = messages[{folder["user"].get<std::string>(), folder["folder"].get<std::string>()}];
          std::set<std::uint32_t> live_uids;
          for (const IndexRecord& r : idx.records) {
            if (!r.live()) continue;
            live_uids.insert(r.uid);
            CAPTURE(r.uid);
            auto m = want.find(r.uid);
            REQUIRE(m != want.end());
            const nlohmann::json& msg = m->second;
            CHECK(r.size == msg["size"].get<std::uint64_t>());
            CHECK(r.internaldate == msg["internaldate"].get<std::int64_t>());
            const std::string body = test::read_file(dir / (std::to_string(r.uid) + "."));
            CHECK(hex_of(sha1_of(body)) == msg["sha1"].get<std::string>());
            if (idx.header.minor_version == 10 || idx.header.minor_version >= 12) CHECK(hex_of(r.guid) == msg["sha1"].get<std::string>());
            std::set<std::string> oracle_flags;
            bool oracle_seen = false;
            for (const auto& f : msg["flags"]) {
              const std::string name = f.get<std::string>();
              if (name == "\\Seen") oracle_seen = true;
              else if (name != "\\Recent") oracle_flags.insert(name);
            }
            CHECK(imap_flags(r, header.value()) == oracle_flags);
            // Before v12 the owner's \Seen lives in the seen database, not in the index.
            const bool owned = folder["kind"] == "mail";
            if (idx.header.minor_version >= 12 && owned) CHECK(((r.system_flags & sysflag::seen) != 0) == oracle_seen);
            ++compared_messages;
          }
          CHECK(live_uids.size() == want.size());
        }
      }
    }
  }
  MESSAGE("fixture spools: " << fixtures << ", mailboxes mapped to the oracle: " << mapped
                             << ", messages compared: " << compared_messages
                             << ", index versions seen: " << robust_checked.size());
}

// ---- synthetic images for every version ----------------------------------------------------

TEST_CASE("cyrus_index: synthetic image of every minor version reads back exactly") {
  const auto recs = synth_records();
  for (std::uint32_t v : all_versions) {
    CAPTURE(v);
    const DocLayout l = doc_layout(v);
    const std::string data = synth_index(v, recs);
    auto r = parse_cyrus_index(data, "synthetic");
    REQUIRE(r.ok());
    const CyrusIndex& idx = r.value();
    INFO(problem_list(idx));
    CHECK(idx.problems.empty());
    const IndexHeader& h = idx.header;
    CHECK(h.minor_version == v);
    CHECK(h.start_offset == l.header_size);
    CHECK(h.record_size == l.record_size);
    CHECK(h.num_records == 3);
    CHECK(h.exists == (v >= 12 ? 2u : 3u));
    CHECK(h.last_uid == synth_last_uid);
    CHECK(h.uidvalidity == synth_uidvalidity);
    CHECK(h.last_appenddate == synth_appenddate);
    CHECK(h.quota_used == 1111u + 7777u);
    CHECK(h.options == (v >= 4 ? index_option_pop3_new_uidl : 0u));
    CHECK(h.highestmodseq == (v >= 8 ? 5u : 0u));
    CHECK(h.recentuid == (v >= 12 ? 7u : 0u));
    CHECK(h.header_file_crc == (v >= 12 ? 0xdeadbeefu : 0u));
    CHECK(h.has_crcs == (v >= 12));
    CHECK(h.header_crc_ok);
    REQUIRE(idx.records.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
      const IndexRecord& got = idx.records[i];
      const SynthRecord& want = recs[i];
      CHECK(got.uid == want.uid);
      CHECK(got.internaldate == want.internaldate);
      CHECK(got.size == want.size);
      CHECK(got.header_size == want.header_size);
      CHECK(got.system_flags == want.system_flags);
      CHECK(got.user_flags == want.user_flags);
      CHECK(got.modseq == (v >= 8 ? want.modseq : 0u));
      CHECK(got.crc_ok);
      if (v == 10 || v >= 12) {
        CHECK(got.has_guid());
        CHECK(got.guid == synth_guid(want.uid));
      } else {
        CHECK_FALSE(got.has_guid());
      }
    }
    CHECK(idx.records[0].user_flag(0));
    CHECK_FALSE(idx.records[0].user_flag(1));
    CHECK(idx.records[1].user_flag(127));
    CHECK(idx.records[2].user_flag(37));
    CHECK_FALSE(idx.records[2].user_flag(128));
    CHECK(idx.records[0].live());
    CHECK_FALSE(idx.records[1].live());
    check_robust(data, "synthetic v" + std::to_string(v));
  }
}

TEST_CASE("cyrus_index: v20 times are nanoseconds and size is 64-bit") {
  auto recs = synth_records();
  recs[0].size = 5ull * 1024 * 1024 * 1024;  // 5 GiB does not fit 32 bits
  recs[0].internaldate = 4102444800;         // 2100-01-01, beyond signed 32-bit seconds
  auto r = parse_cyrus_index(synth_index(20, recs), "v20");
  REQUIRE(r.ok());
  CHECK(r.value().records[0].size == 5ull * 1024 * 1024 * 1024);
  CHECK(r.value().records[0].internaldate == 4102444800);
  CHECK(r.value().header.last_appenddate == synth_appenddate);
}

TEST_CASE("cyrus_index: fields beyond a short header or record read as 0 (uidvalidity as 1)") {
  const auto recs = synth_records();
  SUBCASE("v0 header of 36 bytes: no uidvalidity") {
    auto r = parse_cyrus_index(synth_index(0, recs, {.start_offset = 36}), "short");
    REQUIRE(r.ok());
    CHECK(r.value().header.uidvalidity == 1);
    CHECK(r.value().header.last_uid == synth_last_uid);
    CHECK(r.value().header.quota_used == 1111u + 7777u);
    CHECK(r.value().records.size() == 3);
  }
  SUBCASE("v4 header of 44 bytes: no pop3_new_uidl") {
    auto r = parse_cyrus_index(synth_index(4, recs, {.start_offset = 44}), "short");
    REQUIRE(r.ok());
    CHECK(r.value().header.options == 0);
    CHECK(r.value().header.uidvalidity == synth_uidvalidity);
  }
  SUBCASE("v9 with 72-byte records: no modseq") {
    auto r = parse_cyrus_index(synth_index(9, recs, {.record_size = 72}), "short");
    REQUIRE(r.ok());
    CHECK(r.value().problems.empty());
    for (const auto& rec : r.value().records) CHECK(rec.modseq == 0);
    CHECK(r.value().records[2].size == 7777);
  }
  SUBCASE("v10 with 80-byte records: GUID (ends at 80) but no modseq") {
    auto r = parse_cyrus_index(synth_index(10, recs, {.record_size = 80}), "short");
    REQUIRE(r.ok());
    for (const auto& rec : r.value().records) {
      CHECK(rec.guid == synth_guid(rec.uid));
      CHECK(rec.modseq == 0);
    }
  }
  SUBCASE("v10 with 72-byte records: a partial GUID is no GUID") {
    auto r = parse_cyrus_index(synth_index(10, recs, {.record_size = 72}), "short");
    REQUIRE(r.ok());
    for (const auto& rec : r.value().records) {
      CHECK_FALSE(rec.has_guid());
      CHECK(rec.modseq == 0);
    }
  }
  SUBCASE("v6 with v5-sized 56-byte records and v3-sized header") {
    auto r = parse_cyrus_index(synth_index(6, recs, {.start_offset = 56, .record_size = 56}), "short");
    REQUIRE(r.ok());
    CHECK(r.value().header.options == 0);
    CHECK(r.value().header.uidvalidity == synth_uidvalidity);
    CHECK(r.value().records[1].user_flags[3] == (1u << 31));
  }
}

TEST_CASE("cyrus_index: problems are reported, the index stays usable") {
  const auto recs = synth_records();
  SUBCASE("header CRC") {
    std::string d = synth_index(17, recs);
    d[24] ^= 1;
    auto r = parse_cyrus_index(d, "x");
    REQUIRE(r.ok());
    CHECK_FALSE(r.value().header.header_crc_ok);
    CHECK(has_problem(r.value(), IndexProblem::Kind::header_crc_mismatch));
    CHECK(r.value().records.size() == 3);
  }
  SUBCASE("record CRC") {
    std::string d = synth_index(13, recs);
    d[128 + 104 + 12] ^= 1;  // size of the second record
    auto r = parse_cyrus_index(d, "x");
    REQUIRE(r.ok());
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::record_crc_mismatch);
    CHECK(r.value().problems[0].uid == 2);
    CHECK(r.value().problems[0].offset == 128 + 104);
    CHECK(r.value().records[0].crc_ok);
    CHECK_FALSE(r.value().records[1].crc_ok);
  }
  SUBCASE("truncated inside the last record") {
    std::string d = synth_index(10, recs);
    d.resize(d.size() - 10);
    auto r = parse_cyrus_index(d, "x");
    REQUIRE(r.ok());
    CHECK(r.value().records.size() == 2);
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::truncated);
    CHECK(r.value().problems[0].offset == 96 + 2 * 88);
  }
  SUBCASE("huge count is not trusted for the reservation") {
    std::string d = synth_index(16, recs);
    put32(d, 20, 0xffffffffu);
    put32(d, 156, crc32_of(Bytes(d).substr(0, 156)));
    auto r = parse_cyrus_index(d, "x");
    REQUIRE(r.ok());
    CHECK(r.value().records.size() == 3);
    CHECK(r.value().records.capacity() < 1000);
    CHECK(has_problem(r.value(), IndexProblem::Kind::truncated));
  }
  SUBCASE("trailing garbage") {
    std::string d = synth_index(12, recs) + "partial record";
    auto r = parse_cyrus_index(d, "x");
    REQUIRE(r.ok());
    CHECK(r.value().records.size() == 3);
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::trailing_garbage);
  }
  SUBCASE("UID 0, out of order, above last_uid") {
    auto bad = recs;
    bad[0].uid = 0;
    bad[2].uid = 2;   // duplicate of the second
    auto r = parse_cyrus_index(synth_index(9, bad), "x");
    REQUIRE(r.ok());
    CHECK(has_problem(r.value(), IndexProblem::Kind::uid_zero));
    CHECK(has_problem(r.value(), IndexProblem::Kind::uid_not_ascending));
    auto high = recs;
    high[2].uid = 99;
    auto h = parse_cyrus_index(synth_index(9, high), "x");
    REQUIRE(h.ok());
    REQUIRE(h.value().problems.size() == 1);
    CHECK(h.value().problems[0].kind == IndexProblem::Kind::uid_above_last_uid);
    CHECK(h.value().problems[0].uid == 99);
  }
  SUBCASE("exists mismatch (v12+)") {
    auto r = parse_cyrus_index(synth_index(19, recs, {.exists_counts_live = false}), "x");
    REQUIRE(r.ok());
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::exists_mismatch);
  }
  SUBCASE("v19 header with 144-byte records in the v20 layout") {
    std::string v20 = synth_index(20, recs);
    // Graft a v19 header (record_size 144) onto v20 records.
    std::string head = synth_index(19, {}, {.record_size_in_header = 144});
    put32(head, 20, 3);
    put32(head, 60, 2);  // exists
    put32(head, 156, crc32_of(Bytes(head).substr(0, 156)));
    auto r = parse_cyrus_index(head + v20.substr(192), "x");
    REQUIRE(r.ok());
    INFO(problem_list(r.value()));
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::suspect_layout);
    CHECK(r.value().records[2].size == 7777);
    CHECK(r.value().records[2].internaldate == 1700000007);
  }
  SUBCASE("v19 header with 144-byte records in the v19 layout, padded") {
    auto r = parse_cyrus_index(synth_index(19, recs, {.record_size = 144}), "x");
    REQUIRE(r.ok());
    REQUIRE(r.value().problems.size() == 1);
    CHECK(r.value().problems[0].kind == IndexProblem::Kind::suspect_layout);
    CHECK(r.value().records[2].size == 7777);
    CHECK(r.value().records[2].crc_ok);
  }
  for (int k = 0; k <= static_cast<int>(IndexProblem::Kind::suspect_layout); ++k)
    CHECK(std::string(to_string(static_cast<IndexProblem::Kind>(k))) != "unknown");
}

TEST_CASE("cyrus_index: unreadable files are refused with file and offset") {
  const auto recs = synth_records();
  auto refused_at = [](const std::string& d, std::uint64_t off) {
    auto r = parse_cyrus_index(d, "user/fred/cyrus.index");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().file == "user/fred/cyrus.index");
    CHECK(r.error().offset == off);
    CHECK_FALSE(r.error().message.empty());
  };
  refused_at("", 0);
  refused_at(std::string(23, '\0'), 23);
  std::string netnews = synth_index(9, recs);
  put32(netnews, 4, 1);
  refused_at(netnews, 4);
  std::string v11 = synth_index(10, recs);
  put32(v11, 8, 11);
  refused_at(v11, 8);
  std::string v21 = synth_index(20, recs);
  put32(v21, 8, 21);
  refused_at(v21, 8);
  refused_at(synth_index(12, recs, {.start_offset = 160}), 12);
  refused_at(synth_index(17, recs, {.record_size = 104}), 16);
  refused_at(synth_index(20, recs, {.record_size = 112}), 16);
  refused_at(synth_index(9, recs, {.start_offset = 30}), 12);
  refused_at(synth_index(9, recs, {.start_offset = 100}), 12);
  std::string zero_rs = synth_index(9, recs);
  put32(zero_rs, 16, 0);
  refused_at(zero_rs, 16);
  refused_at(synth_index(17, recs).substr(0, 100), 100);
}

TEST_CASE("cyrus_expunge: unsorted records are normal, the rest as cyrus.index") {
  auto recs = synth_records();
  std::swap(recs[0], recs[2]);  // expunge order, not UID order
  for (auto& r : recs) r.system_flags &= ~sysflag::expunged;
  const std::string d = synth_index(9, recs);
  auto e = parse_cyrus_expunge(d, "cyrus.expunge");
  REQUIRE(e.ok());
  CHECK(e.value().problems.empty());
  REQUIRE(e.value().records.size() == 3);
  CHECK(e.value().records[0].uid == 7);
  auto i = parse_cyrus_index(d, "cyrus.index");
  REQUIRE(i.ok());
  CHECK(has_problem(i.value(), IndexProblem::Kind::uid_not_ascending));
  std::string truncated = d.substr(0, d.size() - 1);
  auto t = parse_cyrus_expunge(truncated, "cyrus.expunge");
  REQUIRE(t.ok());
  CHECK(t.value().records.size() == 2);
  CHECK(has_problem(t.value(), IndexProblem::Kind::truncated));
}
