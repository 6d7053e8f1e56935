// The memory-lean readers of the source pass and the incremental run (issue 25): the index
// walked without a record vector, a directory listed as UIDs, the earlier manifest kept as line
// places. Each must give exactly what the whole-value readers give.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "converter/convert/prior_output.h"
#include "converter/source/uid_listing.h"
#include "parsers/cyrus_index.h"
#include "test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

bool same(const IndexRecord& a, const IndexRecord& b) {
  return a.uid == b.uid && a.system_flags == b.system_flags && a.user_flags == b.user_flags &&
         a.internaldate == b.internaldate && a.size == b.size && a.header_size == b.header_size &&
         a.modseq == b.modseq && a.guid == b.guid && a.crc_ok == b.crc_ok;
}

// walk_cyrus_index hands over the records parse_cyrus_index keeps, at their offsets, with the
// same header and problems, for the file and for every truncation of it.
void check_walk_equals_parse(const std::string& data, const std::string& label) {
  for (std::size_t n : {data.size(), data.size() - 1, data.size() / 2, std::size_t{100}, std::size_t{10}}) {
    if (n > data.size()) continue;
    const std::string_view part = std::string_view(data).substr(0, n);
    auto parsed = parse_cyrus_index(part, label);
    std::vector<IndexRecord> walked;
    std::vector<std::uint64_t> offsets;
    std::size_t announced = 0;
    auto w = walk_cyrus_index(
        part, label,
        [&](const IndexRecord& r, std::uint64_t offset) {
          walked.push_back(r);
          offsets.push_back(offset);
        },
        [&](const IndexHeader&, std::size_t records) { announced = records; });
    REQUIRE(w.ok() == parsed.ok());
    if (!parsed.ok()) {
      CHECK(w.error().to_string() == parsed.error().to_string());
      continue;
    }
    const CyrusIndex& p = parsed.value();
    CHECK(w.value().records == p.records.size());
    CHECK(announced == p.records.size());
    REQUIRE(walked.size() == p.records.size());
    for (std::size_t i = 0; i < walked.size(); ++i) {
      CHECK(same(walked[i], p.records[i]));
      CHECK(offsets[i] == p.header.start_offset + i * std::uint64_t{p.header.record_size});
    }
    REQUIRE(w.value().problems.size() == p.problems.size());
    for (std::size_t i = 0; i < p.problems.size(); ++i) {
      CHECK(w.value().problems[i].kind == p.problems[i].kind);
      CHECK(w.value().problems[i].offset == p.problems[i].offset);
      CHECK(w.value().problems[i].detail == p.problems[i].detail);
    }
  }
}

void write(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("walk_cyrus_index: the same records, offsets, header and problems as parse_cyrus_index") {
  std::size_t seen = 0;
  for (const auto& e : fs::recursive_directory_iterator(test::fixtures_dir())) {
    if (e.path().filename() != "cyrus.index" || !e.is_regular_file()) continue;
    const std::string data = test::read_file(e.path());
    check_walk_equals_parse(data, e.path().string());
    // A damaged copy: a record CRC and a UID out of order give problems in both.
    if (data.size() > 300) {
      std::string copy = data;
      copy[data.size() - 3] ^= 0x5a;
      check_walk_equals_parse(copy, "damaged " + e.path().string());
    }
    ++seen;
  }
  CHECK(seen > 10);
}

TEST_CASE("list_message_uids: message files as UIDs, everything else typed, nothing followed") {
  test::TempDir tmp;
  const fs::path d = tmp.path;
  for (const char* f : {"1.", "10.", "4294967295.", "01.", "4294967296.", "2", "cyrus.index", "x."}) write(d / f, "m");
  fs::create_directory(d / "5.");
  fs::create_symlink(d / "1.", d / "7.");
  REQUIRE(::mkfifo((d / "8.").c_str(), 0600) == 0);
  std::vector<std::uint32_t> uids;
  std::vector<std::pair<std::string, DirEntry::Type>> other;
  CHECK(list_message_uids(d, uids, [&](std::string_view n, DirEntry::Type t) { other.emplace_back(n, t); }).empty());
  std::sort(uids.begin(), uids.end());
  CHECK(uids == std::vector<std::uint32_t>{1, 10, 4294967295u});
  std::sort(other.begin(), other.end());
  const std::vector<std::pair<std::string, DirEntry::Type>> want{
      {"01.", DirEntry::Type::file},        {"2", DirEntry::Type::file},
      {"4294967296.", DirEntry::Type::file}, {"5.", DirEntry::Type::directory},
      {"7.", DirEntry::Type::symlink},      {"8.", DirEntry::Type::other},
      {"cyrus.index", DirEntry::Type::file}, {"x.", DirEntry::Type::file}};
  CHECK(other == want);
  // As list_directory says it: the same error text.
  uids.clear();
  const std::string err = list_message_uids(d / "missing", uids, [](std::string_view, DirEntry::Type) {});
  CHECK(err == list_directory(d / "missing").error);
  CHECK(!err.empty());
}

TEST_CASE("read_earlier_manifest: lines and records read again from the file it checked") {
  test::TempDir tmp;
  const fs::path m = tmp.path / "INBOX.jsonl";
  const std::string a =
      R"({"uid":1,"source_file":"a/1.","output_file":"INBOX/cur/1","flags":["\\Seen"],"keywords":[],)"
      R"("internaldate":5,"size":10,"sha1":"00","disposition":"written"})";
  const std::string b =
      R"({"uid":3,"source_uid":2,"source_file":"a/2.","output_file":"","flags":[],"keywords":["k"],)"
      R"("internaldate":6,"size":11,"sha1":"01","disposition":"quarantined","reason":"r"})";
  write(m, a + "\n\n" + b + "\r\n");
  const EarlierManifest e = read_earlier_manifest(m);
  REQUIRE(e.error.empty());
  REQUIRE(e.lines.size() == 2);
  REQUIRE(e.records.size() == 2);
  CHECK(e.lines[0] == a);
  CHECK(e.lines[1] == b + "\r");  // a line end's CR stays, as before
  CHECK(e.records[1].source_uid == 2);
  CHECK(e.source_uid(0) == 1);
  CHECK(e.source_uid(1) == 2);
  CHECK(e.records[1].disposition == "quarantined");
  std::vector<std::string> all_lines;
  for (const auto& l : e.lines) all_lines.push_back(l);
  CHECK(all_lines == std::vector<std::string>{a, b + "\r"});
  const std::vector<ManifestRecord> records = e.records;
  CHECK(records.size() == 2);
  CHECK(records[0].flags == std::vector<std::string>{"\\Seen"});
  // The manifest replaced by a rename (as every writer does): what was read stays readable.
  write(tmp.path / "new.jsonl", b + "\n");
  fs::rename(tmp.path / "new.jsonl", m);
  CHECK(e.lines[0] == a);
  CHECK(e.records[0].uid == 1);

  write(m, a + "\nnot json\n" + b + "\n");
  const EarlierManifest bad = read_earlier_manifest(m);
  CHECK(bad.error.rfind(m.string() + ": line 2: ", 0) == 0);
  CHECK(bad.lines.size() == 1);

  const EarlierManifest none = read_earlier_manifest(tmp.path / "gone.jsonl");
  CHECK(none.error == (tmp.path / "gone.jsonl").string() + ": missing, but the journal says the folder was converted");
  CHECK(none.lines.empty());
  CHECK(none.records.size() == 0);
  const EarlierManifest empty;
  CHECK(empty.records.size() == 0);
}
