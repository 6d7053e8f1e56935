#pragma once
// The body of every fuzz target, one function per parser entry point. Header-only so that the
// libFuzzer executables (fuzz/, clang only) and the regular test build (tests/
// fuzz_regression_test.cpp, any compiler) run exactly the same code on an input: every input
// that once found a bug is replayed by CI through these functions.
//
// A target fails by crashing (sanitizer report, or fuzz_require on a violated property).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "parsers/annotations.h"
#include "parsers/cyrus_header.h"
#include "parsers/cyrus_index.h"
#include "parsers/cyrusdb.h"
#include "parsers/dav_resource.h"
#include "parsers/dlist.h"
#include "parsers/header_fields.h"
#include "parsers/mailboxes_db.h"
#include "parsers/message_check.h"
#include "parsers/message_date.h"
#include "parsers/mutf7.h"
#include "parsers/quota.h"
#include "parsers/seen.h"
#include "parsers/sieve_mailbox.h"
#include "parsers/subscriptions.h"
#include "parsers/utf8.h"
#ifndef CYRCONV_FUZZ_PARSERS_ONLY  // the fuzz executables of parsers/ targets link only cyrconv_parsers
#include "converter/plan/rename_map.h"
#include "writers/sieve_export.h"
#endif

namespace cyrconv::fuzz {

// A property the parsers promise; abort so libFuzzer keeps the input and the test fails.
inline void fuzz_require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
  }
}

// Touch every field of a result so lazily wrong values (views past the input) are read.
inline std::size_t touch(std::string_view s) {
  std::size_t h = s.size();
  for (unsigned char c : s) h = h * 31 + c;
  return h;
}

// The first byte chooses an option or split; the rest is the parser's input.
inline std::uint8_t take_byte(std::string_view& in) {
  if (in.empty()) return 0;
  auto b = static_cast<std::uint8_t>(in[0]);
  in.remove_prefix(1);
  return b;
}

inline void fuzz_cyrus_header(std::string_view in) {
  auto r = parse_cyrus_header(in, "fuzz");
  if (!r) touch(r.error().to_string());
}

inline void fuzz_cyrus_index(std::string_view in) {
  auto r = parse_cyrus_index(in, "fuzz");
  if (r) fuzz_require(r.value().records.size() <= in.size(), "more index records than bytes");
}

inline void fuzz_cyrus_expunge(std::string_view in) {
  auto r = parse_cyrus_expunge(in, "fuzz");
  if (r) fuzz_require(r.value().records.size() <= in.size(), "more expunge records than bytes");
}

inline void check_db(const Result<CyrusDb>& r, std::string_view in) {
  if (!r) return;
  std::size_t bytes = 0;
  for (const auto& rec : r.value().records) bytes += rec.key.size() + rec.value.size();
  // Every record is read from the file; a twoskip or skiplist cycle must not repeat records.
  fuzz_require(r.value().records.size() <= in.size() + 1, "more records than bytes");
  fuzz_require(bytes <= in.size() * 2 + 16, "record bytes exceed the file");
}

inline void fuzz_cyrusdb(std::string_view in) { check_db(read_cyrusdb(in, "fuzz"), in); }
inline void fuzz_cyrusdb_flat(std::string_view in) { check_db(read_flat_db(in, "fuzz"), in); }
inline void fuzz_cyrusdb_skiplist(std::string_view in) { check_db(read_skiplist_db(in, "fuzz"), in); }
inline void fuzz_cyrusdb_twoskip(std::string_view in) { check_db(read_twoskip_db(in, "fuzz"), in); }

inline void fuzz_mailboxes_db(std::string_view in) {
  auto db = read_cyrusdb(in, "fuzz");
  if (!db) return;
  auto r = parse_mailboxes_db(db.value().records, "fuzz");
  if (r)
    for (const auto& e : r.value().entries) touch(e.name.internal());
}

inline void fuzz_seen_db(std::string_view in) {
  auto db = read_cyrusdb(in, "fuzz");
  if (db) (void)parse_seen_db(db.value().records, "fuzz");
}

// key NUL value
inline void fuzz_seen_value(std::string_view in) {
  auto nul = in.find('\0');
  std::string_view key = nul == std::string_view::npos ? std::string_view{} : in.substr(0, nul);
  std::string_view value = nul == std::string_view::npos ? in : in.substr(nul + 1);
  (void)parse_seen_value(key, value, "fuzz");
}

inline void fuzz_cyrus_seen_file(std::string_view in) { (void)parse_cyrus_seen_file(in, "fuzz"); }

inline void fuzz_uid_set(std::string_view in) {
  auto r = parse_uid_set(in, "fuzz");
  if (!r) return;
  // Probe a few UIDs: contains() must agree with the ranges whatever their order.
  for (std::uint32_t uid : {0u, 1u, 2u, 100u, 0x7fffffffu, 0xffffffffu}) (void)r.value().contains(uid);
}

// owner NUL db-bytes
inline void fuzz_subscriptions(std::string_view in) {
  auto nul = in.find('\0');
  std::string_view owner = nul == std::string_view::npos ? std::string_view{"fred"} : in.substr(0, nul);
  std::string_view data = nul == std::string_view::npos ? in : in.substr(nul + 1);
  auto db = read_cyrusdb(data, "fuzz");
  if (!db) return;
  auto r = parse_subscriptions(db.value().records, owner, "fuzz");
  if (r)
    for (const auto& n : r.value()) touch(n.internal());
}

inline void fuzz_quota_value(std::string_view in) { (void)parse_quota_value(in, "fuzz"); }

inline void fuzz_annotations_db(std::string_view in) {
  auto db = read_cyrusdb(in, "fuzz");
  if (!db) return;
  auto r = parse_annotations_db(db.value().records, "fuzz");
  if (r)
    for (const auto& a : r.value().entries) touch(a.value);
}

inline void fuzz_sieve_message(std::string_view in) {
  auto r = parse_sieve_script_message(in, "fuzz");
  if (r) touch(r.value().content);
}

inline void fuzz_dlist(std::string_view in) {
  auto r = parse_dlist(in, "fuzz");
  if (r) touch(r.value().string_at("NAME"));
}

// Decode anything; and for input that is valid UTF-8 with no NUL (a folder name Cyrus could
// hold), decode(encode(s)) must give s back.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 9;
    if (n == 9 || s.size() - i <= n) return false;
    std::uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t min_for[] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_for[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

// Dates of messages rebuilt without an index (converter/source/recover.h): any header bytes.
inline void fuzz_message_date(std::string_view in) {
  if (auto d = message_header_date(in)) touch(std::to_string(d->seconds));
  if (auto t = parse_rfc5322_date(in)) touch(std::to_string(*t));
}

// Names from directories and mailboxes.db are any bytes: reports escape them to valid UTF-8,
// and only bytes that are not UTF-8 change.
inline void fuzz_name_escape(std::string_view in) {
  const std::string e = cyrconv::escape_invalid_utf8(in);
  fuzz_require(valid_utf8(e), "escape_invalid_utf8 produced invalid UTF-8");
  fuzz_require(cyrconv::valid_utf8(in) == (e == in), "escape_invalid_utf8 changed a valid name or kept an invalid one");
  fuzz_require(cyrconv::to_hex(in).size() == 2 * in.size(), "to_hex length");
}

inline void fuzz_mutf7(std::string_view in) {
  auto d = mutf7_decode(in, "fuzz");
  if (d) fuzz_require(valid_utf8(d.value()), "mutf7_decode produced invalid UTF-8");
  if (valid_utf8(in) && in.find('\0') == std::string_view::npos) {
    std::string enc = mutf7_encode(in);
    auto back = mutf7_decode(enc, "fuzz");
    fuzz_require(back.ok(), "mutf7_decode refused mutf7_encode output");
    fuzz_require(back.value() == in, "mutf7 round trip changed the name");
  }
}

inline bool same(const MessageCheckResult& a, const MessageCheckResult& b) {
  if (a.size != b.size || a.sha1 != b.sha1 || a.header_size != b.header_size || a.crlf_lines != b.crlf_lines ||
      a.lf_lines != b.lf_lines || a.bare_cr != b.bare_cr || a.nul_bytes != b.nul_bytes ||
      a.long_lines != b.long_lines || a.faults.size() != b.faults.size())
    return false;
  for (std::size_t i = 0; i < a.faults.size(); ++i) {
    const auto &x = a.faults[i], &y = b.faults[i];
    if (x.fault != y.fault || x.offset != y.offset || x.count != y.count || x.detail != y.detail) return false;
  }
  return true;
}

// First byte: bit 0 = MIME checks, the rest seeds the chunk sizes. The streaming result must
// not depend on how the file was split into reads.
inline void fuzz_message_check(std::string_view in) {
  std::uint8_t ctl = take_byte(in);
  MessageCheckOptions opt{.mime = (ctl & 1) != 0};
  MessageCheckResult whole = check_message(in, opt);
  MessageChecker checker(opt);
  std::uint32_t rng = 0x9E3779B9u ^ ctl;
  std::string_view rest = in;
  while (!rest.empty()) {
    rng = rng * 1103515245u + 12345u;
    std::size_t n = 1 + (rng >> 16) % ((ctl & 2) ? 7 : 97);
    n = std::min(n, rest.size());
    checker.feed(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  MessageCheckResult chunked = checker.finish();
  fuzz_require(same(whole, chunked), "chunked check differs from whole-message check");
  // The checker is reused across messages; a reset must give the same answer again.
  checker.reset();
  checker.feed(in);
  fuzz_require(same(whole, checker.finish()), "check after reset differs");
}

// Date, From, To, Cc, Message-ID syntax (parsers/header_fields.h; mimetic splits the addresses):
// the first byte seeds the chunk sizes. Chunking must not change the problems found; every
// detail is printable ASCII (reports are JSON) and every offset inside the input. The value
// checks also take the raw input whole, as a value no header scan would hand them.
inline void fuzz_header_fields(std::string_view in) {
  const std::uint8_t ctl = take_byte(in);
  HeaderFieldScanner whole, chunked;
  whole.feed(in);
  std::uint32_t rng = 0x85EBCA6Bu ^ ctl;
  for (std::string_view rest = in; !rest.empty();) {
    rng = rng * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(1 + (rng >> 16) % 61, rest.size());
    chunked.feed(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  std::vector<HeaderFieldProblem> a, b;
  whole.finish(a);
  chunked.finish(b);
  fuzz_require(a.size() == b.size(), "chunked header scan finds a different number of problems");
  for (std::size_t i = 0; i < a.size(); ++i) {
    fuzz_require(a[i].field == b[i].field && a[i].offset == b[i].offset && a[i].detail == b[i].detail,
                 "chunked header scan differs");
    fuzz_require(a[i].offset < in.size(), "problem offset outside the message");
    for (unsigned char c : a[i].detail) fuzz_require(c >= 0x20 && c < 0x7f, "detail not printable ASCII");
  }
  for (const std::string& p : {date_problem(in), address_list_problem(in), message_id_problem(in)})
    for (unsigned char c : p) fuzz_require(c >= 0x20 && c < 0x7f, "value detail not printable ASCII");
}

inline void fuzz_dav_resource(std::string_view in) {
  auto body = dav_resource_body(in, "fuzz");
  std::string_view obj = body ? body.value() : in;  // also split raw input
  auto parts = split_vcalendar(obj, "fuzz");
  if (!parts) return;
  auto inside = [&](std::string_view v) {
    return v.empty() || (v.data() >= obj.data() && v.data() + v.size() <= obj.data() + obj.size());
  };
  for (auto c : parts.value().components) fuzz_require(inside(c), "component outside the object");
  for (const auto& [tzid, block] : parts.value().timezones) fuzz_require(inside(block), "timezone outside");
}

#ifndef CYRCONV_FUZZ_PARSERS_ONLY
inline void fuzz_rename_map(std::string_view in) {
  auto r = parse_rename_map(in, "fuzz");
  if (!r) return;
  for (auto p : {NamingProfile::dovecot, NamingProfile::zimbra, NamingProfile::generic}) {
    (void)check_rename_map(r.value(), p);
    for (const auto& e : r.value().entries) (void)overrides_for(r.value(), e.user, p);
  }
}

// Sieve scripts are user input: the rewrite must never touch bytes outside the folder strings.
// Property: with a map that changes nothing, the script comes back unchanged.
inline void fuzz_sieve_rewrite(std::string_view in) {
  auto same = rewrite_sieve_folders(in, [](std::string_view n) { return std::optional<std::string>(std::string(n)); });
  if (same.script != in) std::abort();
  auto r = rewrite_sieve_folders(in, [](std::string_view n) { return std::optional<std::string>("X" + std::string(n)); });
  touch(r.script);
}
#endif

struct Target {
  const char* name;
  void (*run)(std::string_view);
};

inline constexpr Target targets[] = {
    {"cyrus_header", fuzz_cyrus_header},
    {"cyrus_index", fuzz_cyrus_index},
    {"cyrus_expunge", fuzz_cyrus_expunge},
    {"cyrusdb", fuzz_cyrusdb},
    {"cyrusdb_flat", fuzz_cyrusdb_flat},
    {"cyrusdb_skiplist", fuzz_cyrusdb_skiplist},
    {"cyrusdb_twoskip", fuzz_cyrusdb_twoskip},
    {"mailboxes_db", fuzz_mailboxes_db},
    {"seen_db", fuzz_seen_db},
    {"seen_value", fuzz_seen_value},
    {"cyrus_seen_file", fuzz_cyrus_seen_file},
    {"uid_set", fuzz_uid_set},
    {"subscriptions", fuzz_subscriptions},
    {"quota_value", fuzz_quota_value},
    {"annotations_db", fuzz_annotations_db},
    {"sieve_message", fuzz_sieve_message},
    {"dlist", fuzz_dlist},
    {"mutf7", fuzz_mutf7},
    {"message_date", fuzz_message_date},
    {"name_escape", fuzz_name_escape},
    {"message_check", fuzz_message_check},
    {"header_fields", fuzz_header_fields},
    {"dav_resource", fuzz_dav_resource},
#ifndef CYRCONV_FUZZ_PARSERS_ONLY
    {"rename_map", fuzz_rename_map},
    {"sieve_rewrite", fuzz_sieve_rewrite},
#endif
};

}  // namespace cyrconv::fuzz
