// verify's compact per-folder state (issue 25): the scratch store gives back what was appended
// across its flushes to the file; the manifest index reports bad lines by number and gives the
// lines back in Cyrus UID order; the streamed uidlist gives exactly what parse_dovecot_uidlist
// gives for the same text, however it is cut into chunks; the cur/ listing keeps the first name
// of a base and finds files by base.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "converter/verify/maildir_listing.h"
#include "converter/verify/manifest_index.h"
#include "converter/verify/output_reader.h"
#include "converter/verify/scratch_store.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;
using namespace cyrconv::verify;

TEST_CASE("ScratchStore: appended bytes come back, before and after they reach the file") {
  ScratchStore s;
  std::vector<std::pair<std::uint64_t, std::string>> put;
  for (int i = 0; i < 20000; ++i) {  // ~250 KB: several 64 KiB flushes
    std::string v = "entry-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 7), 'x');
    put.emplace_back(s.append(v), v);
  }
  std::string got;
  for (std::size_t i = 0; i < put.size(); i += 997) {
    s.read(put[i].first, put[i].second.size(), got);
    CHECK(got == put[i].second);
  }
  s.read(put.back().first, put.back().second.size(), got);  // still in memory
  CHECK(got == put.back().second);
  CHECK(s.size() == put.back().first + put.back().second.size());

  struct Rec {
    std::uint32_t a;
    std::uint64_t b;
  };
  SpilledRecords<Rec> recs;
  for (std::uint32_t i = 0; i < 10000; ++i) recs.push_back(Rec{i, std::uint64_t{i} * 3});
  CHECK(recs.size() == 10000);
  CHECK(recs[0].b == 0);
  CHECK(recs[4321].a == 4321);
  CHECK(recs[9999].b == 29997);
}

TEST_CASE("ManifestIndex: bad lines by number, lines by Cyrus UID then file order, read back") {
  const test::TempDir tmp;
  const fs::path path = tmp.path / "m.jsonl";
  const std::vector<std::string> lines = {
      R"({"uid":5,"source_file":"5.","disposition":"written","sha1":"a"})",
      R"({"uid":9,"source_uid":2,"source_file":"2.","disposition":"repaired"})",
      "{not json",
      "",
      R"({"uid":6,"source_uid":5,"source_file":"5.","disposition":"quarantined"})",
      R"({"uid":1,"source_file":"1.","disposition":"missing"})",
  };
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  std::ofstream(path) << text;

  ManifestIndex m;
  std::vector<std::string> bad;
  m.index(
      [&](const std::function<void(std::string_view)>& sink) {
        for (std::size_t at = 0; at < text.size(); at += 7) sink(std::string_view(text).substr(at, 7));  // cut anywhere
        return std::string();
      },
      [&](std::size_t n, const std::string&) { bad.push_back("line " + std::to_string(n)); });
  CHECK(bad == std::vector<std::string>{"line 3"});
  REQUIRE(m.open(path).empty());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> got;  // (source_uid, uid)
  for (const auto& l : m.lines()) {
    const ManifestRecord r = m.record(l);
    CHECK(r.source_uid == l.source_uid);
    got.emplace_back(r.source_uid, r.uid);
  }
  CHECK(got == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 1}, {2, 9}, {5, 5}, {5, 6}});
  CHECK(m.record(m.lines()[2]).kind == Disposition::written);
  CHECK(m.record(m.lines()[3]).kind == Disposition::quarantined);
  CHECK(disposition_of("bogus") == Disposition::unknown);
}

namespace {

void check_uidlist_like_parser(const std::string& text, std::size_t chunk) {
  CAPTURE(text);
  CAPTURE(chunk);
  const ParsedUidlist want = parse_dovecot_uidlist(text);
  UidlistIndex u;
  for (std::size_t at = 0; at < text.size(); at += chunk) u.feed(std::string_view(text).substr(at, chunk));
  u.finish();
  CHECK(u.version == want.version);
  CHECK(u.uidvalidity == want.uidvalidity);
  CHECK(u.uidnext == want.uidnext);
  CHECK(u.errors == want.errors);
  std::map<std::uint32_t, std::string> got;
  for (const auto& e : u.entries()) got.emplace(e.uid, u.base(e));
  CHECK(got == want.base_of_uid);
  for (const auto& [uid, base] : want.base_of_uid) {
    auto* e = u.find(uid);
    REQUIRE(e);
    CHECK(u.base(*e) == base);
  }
  CHECK(!u.find(424242));
}

}  // namespace

TEST_CASE("UidlistIndex gives what parse_dovecot_uidlist gives, in any chunks") {
  const std::vector<std::string> texts = {
      "3 V1500000000 N4\n1 :a.V1U1.cyrconv,S=5,W=6\n2 :b\n3 :c\n",
      "3 V7 N9\n5 :e\n2 :b\n5 :again\n\njunk\n2 :b2\n0 :zero\n7 G1 :g",
      "",
      "\n",
      "2 Vx N\n",
      "3 V1 N2",
  };
  for (const auto& t : texts)
    for (std::size_t chunk : {1u, 3u, 4096u}) check_uidlist_like_parser(t, chunk);
}

TEST_CASE("CurListing: regular files by base, the first name of a base wins") {
  const test::TempDir tmp;
  const fs::path dir = tmp.path;
  for (const char* n : {"b.host,S=1:2,S", "a.host,S=2:2,", "b.host,S=1:2,FS", "c.host"}) std::ofstream(dir / n) << "x";
  fs::create_directory(dir / "sub.dir");
  CurListing cur;
  REQUIRE(cur.list(dir).empty());
  CHECK(cur.entries().size() == 3);
  CHECK(cur.find("a.host,S=2") == std::optional<std::string>("a.host,S=2:2,"));
  CHECK(cur.find("b.host,S=1") == std::optional<std::string>("b.host,S=1:2,FS"));  // "...:2,FS" < "...:2,S"
  CHECK(cur.find("c.host") == std::optional<std::string>("c.host"));
  CHECK(!cur.find("sub.dir"));
  CHECK(!cur.find("b.host"));
  CurListing none;
  CHECK(none.list(dir / "missing").find("cannot list directory") != std::string::npos);
}
