// Issue 9, resource limits: inputs built at test time that claim or contain absurd sizes must
// be handled in bounded time and memory, each with a clear finding. Time limits are loose
// (sanitizer builds run these too); a quadratic or unbounded path would blow them by far.
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "converter/source/discover.h"
#include "parsers/bytes.h"
#include "parsers/cyrus_index.h"
#include "parsers/cyrusdb.h"
#include "parsers/message_check.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

long max_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

void put_be32(std::string& s, std::size_t off, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[off + i] = static_cast<char>(v >> (24 - 8 * i));
}
void append_be(std::string& s, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>(v >> (8 * i)));
}

// One twoskip record: type, level, lengths, level+1 pointers, head and tail CRCs, key+value padded.
std::string twoskip_record(char type, std::uint8_t level, std::string_view key, std::string_view value,
                           std::initializer_list<std::uint64_t> ptrs) {
  std::string r;
  r.push_back(type);
  r.push_back(static_cast<char>(level));
  append_be(r, key.size(), 2);
  append_be(r, value.size(), 4);
  for (auto p : ptrs) append_be(r, p, 8);
  std::string kv = std::string(key) + std::string(value);
  kv.resize((kv.size() + 7) & ~std::size_t{7}, '\0');
  append_be(r, crc32_of(r), 4);
  append_be(r, crc32_of(kv), 4);
  return r + kv;
}

}  // namespace

TEST_CASE("an index claiming 4 billion records in a 1 KB file is read fast and reported truncated") {
  std::string data = test::read_file(test::fixtures_dir() /
                                     "cyrus36-default/spool/uuid/3/o/3o1jyin91encdvwmb8z4lh4r/cyrus.index");
  REQUIRE(data.size() < 1024);
  put_be32(data, 20, 0xFFFFFFFFu);  // num_records
  data.resize(1024, '\0');
  const long rss0 = max_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  auto r = parse_cyrus_index(data, "huge-count.index");
  CHECK(seconds_since(t0) < 1.0);
  CHECK(max_rss_kib() - rss0 < 64 * 1024);  // nothing near the 4e9 * record_size the count implies
  REQUIRE(r.ok());
  CHECK(r.value().records.size() <= 1024 / 52);
  bool truncated = false;
  for (const auto& p : r.value().problems) truncated = truncated || p.kind == IndexProblem::Kind::truncated;
  CHECK(truncated);
}

TEST_CASE("a 10 MB header line is measured, not stored: line_too_long in bounded memory") {
  std::string chunk(64 * 1024, 'x');
  MessageChecker checker(MessageCheckOptions{.mime = true});
  const long rss0 = max_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  checker.feed("From: a@example.org\r\nSubject: ");
  for (int i = 0; i < 160; ++i) checker.feed(chunk);  // 10 MiB, one line
  checker.feed("\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a@b>\r\n\r\nbody\r\n");
  MessageCheckResult r = checker.finish();
  CHECK(seconds_since(t0) < 10.0);
  CHECK(max_rss_kib() - rss0 < 8 * 1024);  // the line is never buffered
  CHECK(r.has(MessageFault::line_too_long));
  CHECK(r.size > 10u * 1024 * 1024);
}

TEST_CASE("a MIME message with a million parts is checked in bounded time") {
  std::string msg =
      "From: a@example.org\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <a@b>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n";
  const std::string part = "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n";
  msg.reserve(msg.size() + part.size() * 1'000'000 + 16);
  for (int i = 0; i < 1'000'000; ++i) msg += part;
  msg += "--b--\r\n";
  const long rss0 = max_rss_kib();
  const auto t0 = std::chrono::steady_clock::now();
  MessageCheckResult r = check_message(msg, MessageCheckOptions{.mime = true});
  CHECK(seconds_since(t0) < 15.0);          // well under 2 s in a release build
  CHECK(max_rss_kib() - rss0 < 16 * 1024);  // no per-part state kept
  CHECK(r.size == msg.size());
  CHECK_FALSE(r.has(MessageFault::mime_unclosed_multipart));

  // Nested 100000 deep (the checker tracks 32 levels): every part opens another multipart.
  std::string nested = "Content-Type: multipart/mixed; boundary=b0\r\n\r\n";
  for (int i = 0; i < 100'000; ++i)
    nested += "--b" + std::to_string(i) + "\r\nContent-Type: multipart/mixed; boundary=b" + std::to_string(i + 1) + "\r\n\r\n";
  const auto t1 = std::chrono::steady_clock::now();
  MessageCheckResult rn = check_message(nested, MessageCheckOptions{.mime = true});
  CHECK(seconds_since(t1) < 15.0);
  CHECK(rn.has(MessageFault::mime_unclosed_multipart));
}

TEST_CASE("a folder tree 600 levels deep is cut off with tree_too_deep") {
  test::TempDir tmp;
  fs::path dir = tmp.path / "spool";
  for (int i = 0; i < 600; ++i) dir /= "d";
  fs::create_directories(dir);
  SourceInputs in;
  in.partitions.emplace_back("default", tmp.path / "spool");
  const auto t0 = std::chrono::steady_clock::now();
  Discovery d = discover(in);
  CHECK(seconds_since(t0) < 10.0);
  bool too_deep = false;
  for (const auto& f : d.findings) too_deep = too_deep || f.kind == "tree_too_deep";
  CHECK(too_deep);
}

TEST_CASE("a twoskip file whose record pointers form a cycle is refused, not looped on") {
  std::string db("\xA1\x02\x8B\x0D" "twoskip file\0\0\0\0", 20);
  append_be(db, 1, 4);   // version
  append_be(db, 1, 8);   // generation
  append_be(db, 1, 8);   // num_records
  append_be(db, 0, 8);   // repack size
  std::string dummy = twoskip_record('=', 1, "", "", {96, 0});
  std::string self = twoskip_record('+', 1, "k", "v", {96, 0});  // points at itself
  REQUIRE(dummy.size() == 32);
  append_be(db, 64 + dummy.size() + self.size(), 8);  // current_size
  append_be(db, 0, 4);                                  // flags
  append_be(db, crc32_of(db), 4);
  db += dummy + self;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = read_cyrusdb(db, "cycle.twoskip");
  CHECK(seconds_since(t0) < 1.0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("cycle") != std::string::npos);

  // The same file without the cycle reads its one record: the builder above is right.
  std::string fixed = db.substr(0, 64) + dummy + twoskip_record('+', 1, "k", "v", {0, 0});
  auto ok = read_cyrusdb(fixed, "fixed.twoskip");
  REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.error().to_string()));
  CHECK(ok.value().records.size() == 1);
}

TEST_CASE("a flat database of a million bad lines keeps a bounded list of warnings") {
  std::string data(1'000'000, '\n');
  data += std::string(100'000, '\xff') + "\n";
  const auto t0 = std::chrono::steady_clock::now();
  auto r = read_flat_db(data, "bad.flat");
  CHECK(seconds_since(t0) < 5.0);
  REQUIRE(r.ok());
  CHECK(r.value().warnings.size() <= 101);  // the first 100, then one line counting the rest
  CHECK(r.value().warnings.back().message.find("more line warnings") != std::string::npos);
}
