// parsers/header_fields.h: Date, From, To, Cc and Message-ID syntax, good and bad values, hostile
// headers (huge, NULs, 8-bit, folded, none at all), any chunking, and the checker's findings.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include <string>

#include "parsers/header_fields.h"
#include "parsers/message_check.h"

using namespace cyrconv;

namespace {

std::vector<HeaderFieldProblem> scan(std::string_view message, std::size_t chunk = 0) {
  HeaderFieldScanner s;
  if (chunk == 0) {
    s.feed(message);
  } else {
    for (std::size_t i = 0; i < message.size(); i += chunk) s.feed(message.substr(i, chunk));
  }
  std::vector<HeaderFieldProblem> out;
  s.finish(out);
  return out;
}

const MessageFaultHit* hit(const MessageCheckResult& r, MessageFault f) {
  for (const auto& h : r.faults)
    if (h.fault == f) return &h;
  return nullptr;
}

}  // namespace

TEST_CASE("header fields: dates") {
  for (const char* good : {"Wed, 23 Nov 2005 10:00:00 +0100", " 23 Nov 2005 10:00:00 -0500 (EST)",
                           "Tue, 1 Jul 03 10:52 GMT", "(sent) Mon, 01 Jan 2024 00:00:60 +0000"}) {
    INFO(good);
    CHECK(date_problem(good).empty());
  }
  CHECK(date_problem("") == "is empty");
  CHECK(date_problem(" (only a comment) ") == "is empty");
  for (const char* bad : {"garbage", "Wed, 23", "2005-11-23T10:00:00Z", "32 Nov 2005 10:00:00 +0000",
                          "23 Nov 2005 25:00:00 +0000", "23 Foo 2005 10:00:00 +0000", "23 Nov 2005",
                          "Nov 23 2005 10:00:00 +0000"}) {
    INFO(bad);
    const std::string p = date_problem(bad);
    CHECK(p.find("is not an RFC 5322 date-time") != std::string::npos);
    CHECK(p.find(bad) != std::string::npos);  // the value is quoted
  }
}

TEST_CASE("header fields: address lists") {
  for (const char* good : {"Joe <joe@example.com>", "joe@example.com", "\"Doe, J\" <j@x.org>, a@b.c",
                           "undisclosed-recipients:;", "friends: a@b.c, d@e.f;, g@h.i", "x@[192.0.2.1]",
                           "=?utf-8?q?J=C3=B6?= <j@x.de>", "joe@x.com (Joe)", "J\xc3\xb6rg <j@b\xc3\xbc.de>",
                           "\"john doe\"@x.com", "first.o'brien+tag@sub-domain.example", "joe@x.com,",
                           "Joe (at work) <joe@x.com>", "<joe@x.com>"}) {
    INFO(good);
    CHECK(address_list_problem(good).empty());
  }
  CHECK(address_list_problem(" ") == "is empty");
  const auto bad = [](std::string_view v, std::string_view why) {
    INFO(v);
    const std::string p = address_list_problem(v);
    CHECK_MESSAGE(p.find(why) != std::string::npos, p);
  };
  bad("MAILER-DAEMON", "has an address without '@'");
  bad("Doe, John <j@x.com>", "has an address without '@'");  // unquoted comma in the name
  bad("Joe <joe@>", "has no domain after '@'");
  bad("<@x.com>", "has no local part before '@'");
  bad("Joe <joe@x.com", "' ' in its local part");            // unclosed angle bracket
  bad("Joe Bloggs joe@x.com", "' ' in its local part");      // name without angle brackets
  bad("a@b@c", "'@' in its local part");
  bad("joe@x..com", "empty label in its domain");
  bad("joe@x.com.", "empty label in its domain");
  bad("joe@x!y.com", "has '!' in its domain");
  bad("joe@[1.2.3.4", "unclosed domain literal");
  bad("\"joe@x.com", "unclosed quote");
  bad("a@b.c, root", "has an address without '@'");
  bad("list:", "cannot be split into addresses");  // mimetic throws on this; we must not
  bad(std::string("jo\0e@x.com", 10), "'\\x00' in its local part");
}

TEST_CASE("header fields: message ids") {
  for (const char* good : {"<a.b@c.d>", " <x@y> (comment)", "<\"q q\"@x>", "<a@[1.2.3.4]>",
                           "(c) <1234.5678@host.example>"}) {
    INFO(good);
    CHECK(message_id_problem(good).empty());
  }
  CHECK(message_id_problem("") == "is empty");
  const auto bad = [](std::string_view v, std::string_view why) {
    INFO(v);
    const std::string p = message_id_problem(v);
    CHECK_MESSAGE(p.find(why) != std::string::npos, p);
  };
  bad("a@b", "not enclosed in '<' '>'");
  bad("<ab>", "has no '@'");
  bad("<@b>", "nothing before '@'");
  bad("<a@>", "nothing after '@'");
  bad("<a@b> <c@d>", "more than one msg-id");
  bad("<a b@c>", "white space or a control character");
  bad("<", "not enclosed");
}

TEST_CASE("header fields: the scanner keeps the first of each field, unfolded, until the blank line") {
  const std::string msg =
      "Received: from x by y; Wed, 23 Nov 2005 10:00:00 +0100\r\n"
      "Date: not a date\r\n"
      "Date: Wed, 23 Nov 2005 10:00:00 +0100\r\n"  // a second Date is not judged
      "From: Joe\r\n"
      "  <joe@x.com>\r\n"                          // folded: fine once unfolded
      "To: a@b.c,\r\n"
      "\troot\r\n"                                  // folded: the bad address is on the second line
      "CC : bad@\r\n"                              // obsolete white space before the colon
      "Message-ID: <x@y>\r\n"
      "\r\n"
      "Date: body text, not a field\r\n"
      "Message-ID: also body\r\n";
  for (std::size_t chunk : {0, 1, 2, 3, 7, 64}) {
    INFO("chunk " << chunk);
    const auto p = scan(msg, chunk);
    REQUIRE(p.size() == 3);
    CHECK(p[0].field == HeaderField::date);
    CHECK(p[0].offset == msg.find("Date: not"));
    CHECK(p[0].detail == "Date 'not a date' is not an RFC 5322 date-time");
    CHECK(p[1].field == HeaderField::to);
    CHECK(p[1].offset == msg.find("To:"));
    CHECK(p[1].detail.find("root") != std::string::npos);
    CHECK(p[2].field == HeaderField::cc);
    CHECK(p[2].offset == msg.find("CC :"));
  }
}

TEST_CASE("header fields: hostile headers") {
  SUBCASE("no header at all") {
    CHECK(scan("").empty());
    CHECK(scan("\r\nDate: x\r\n").empty());  // the header is empty; this is body
    CHECK(scan("just some text without a colon\r\nand more\r\n").empty());
  }
  SUBCASE("a header that never ends is still judged") {
    const auto p = scan("From: nobody\r\nMessage-ID: nothing");
    REQUIRE(p.size() == 2);
    CHECK(p[0].field == HeaderField::from);
    CHECK(p[1].field == HeaderField::message_id);
  }
  SUBCASE("NULs and 8-bit bytes are quoted, not copied, into the detail") {
    const auto p = scan(std::string("Date: \0\xff\x01 Nov\r\n\r\n", 17));
    REQUIRE(p.size() == 1);
    CHECK(p[0].detail == "Date '\\x00\\xff\\x01 Nov' is not an RFC 5322 date-time");
  }
  SUBCASE("a huge value is not judged, a huge header is walked with bounded memory") {
    std::string big = "To: " + std::string(HeaderFieldScanner::max_value + 10, 'x') + "\r\n";
    for (int i = 0; i < 20000; ++i) big += "X-Filler-" + std::to_string(i) + ": " + std::string(40, 'y') + "\r\n";
    big += "Date: nonsense\r\n\r\n";
    const auto p = scan(big, 4096);
    REQUIRE(p.size() == 1);  // the To value is over max_value: not judged, never truncated and misjudged
    CHECK(p[0].field == HeaderField::date);
    CHECK(p[0].detail.size() < 200);
  }
  SUBCASE("long name-like lines and lone continuation lines") {
    CHECK(scan("  continuation before any field\r\n" + std::string(5000, 'F') + ": v\r\n\r\n").empty());
    CHECK(scan("Message-IDENTITY: nonsense\r\nFromage: x\r\n\r\n").empty());  // other names
  }
  SUBCASE("a bare LF header and a reused scanner") {
    HeaderFieldScanner s;
    s.feed("Date: x\n\n");
    std::vector<HeaderFieldProblem> out;
    s.finish(out);
    CHECK(out.size() == 1);
    s.reset();
    s.feed("Date: Wed, 23 Nov 2005 10:00:00 +0100\n\n");
    out.clear();
    s.finish(out);
    CHECK(out.empty());
  }
}

TEST_CASE("header fields: the checker reports them as warnings in fault order, whatever the chunking") {
  const std::string msg =
      "Date: yesterday\r\nFrom: root\r\nTo: ok@example.com\r\nCc: Doe, John <j@x.com>\r\n"
      "Message-ID: <no-at-sign>\r\n\r\nbody\r\n";
  const MessageCheckResult whole = check_message(msg);
  REQUIRE(hit(whole, MessageFault::bad_date));
  REQUIRE(hit(whole, MessageFault::bad_address));
  REQUIRE(hit(whole, MessageFault::bad_message_id));
  CHECK(std::string(to_string(MessageFault::bad_date)) == "bad_date");
  CHECK(std::string(to_string(MessageFault::bad_address)) == "bad_address");
  CHECK(std::string(to_string(MessageFault::bad_message_id)) == "bad_message_id");
  const MessageFaultHit& a = *hit(whole, MessageFault::bad_address);
  CHECK(a.count == 2);  // From and Cc; To is fine
  CHECK(a.offset == msg.find("From:"));
  CHECK(a.detail.find("From 'root'") == 0);
  CHECK(a.detail.find("; Cc 'Doe, John <j@x.com>'") != std::string::npos);
  CHECK(hit(whole, MessageFault::bad_message_id)->offset == msg.find("Message-ID"));
  CHECK_FALSE(whole.has(MessageFault::missing_date));
  // The three come last, after the missing_* faults, in enum order.
  CHECK(whole.faults.back().fault == MessageFault::bad_message_id);

  MessageChecker c;
  for (int round = 0; round < 2; ++round) {  // a reused checker gives the same answer
    c.reset();
    for (std::size_t i = 0; i < msg.size(); i += 5) c.feed(std::string_view(msg).substr(i, 5));
    const MessageCheckResult chunked = c.finish();
    REQUIRE(chunked.faults.size() == whole.faults.size());
    for (std::size_t i = 0; i < whole.faults.size(); ++i) {
      CHECK(chunked.faults[i].fault == whole.faults[i].fault);
      CHECK(chunked.faults[i].offset == whole.faults[i].offset);
      CHECK(chunked.faults[i].detail == whole.faults[i].detail);
    }
  }
  // A good header adds none of them.
  const auto good = check_message(
      "Date: Wed, 23 Nov 2005 10:00:00 +0100\r\nFrom: a@b.c\r\nTo: d@e.f\r\nMessage-ID: <x@y>\r\n\r\nhi\r\n");
  CHECK(good.faults.empty());
}

TEST_CASE("header fields: the plain address lists answered without mimetic are ones its parse finds good") {
  for (const char* plain : {"Joe <joe@example.com>", "joe@example.com", "a@b.c, Joe Bloggs <j@x-y.org>",
                            "=?utf-8?q?J=C3=B6?= <j@x.de>", "<joe@x.com>", "first.o'brien+tag@sub-domain.example"})
    CHECK_MESSAGE(plain_address_list(plain), plain);
  for (const char* other : {"\"Doe, J\" <j@x.org>", "joe@x.com (Joe)", "friends: a@b.c;", "J. Doe <j@x.org>",
                            "joe@x.com,", "a..b@c", "x@[192.0.2.1]", "J\xc3\xb6rg <j@b.de>", "Joe <joe@x.com"})
    CHECK_MESSAGE(!plain_address_list(other), other);
  // Random lists over the characters that matter to the split: whatever the fast path accepts,
  // the parse must accept too.
  std::mt19937 rng(5322);
  const std::vector<std::string> tokens = {"a",  "Joe", "x.com", "b",  "@", "@", "<", ">", ",", ".", " ", "\t",
                                           "-",  "_",   "'",     "#",  "=", "?", "{", "}", "/", "!", "0", "~"};
  std::size_t accepted = 0;
  for (int round = 0; round < 100000; ++round) {
    std::string v;
    for (int n = 1 + static_cast<int>(rng() % 12); n > 0; --n) v += tokens[rng() % tokens.size()];
    if (rng() % 2) v = "Joe " + v + " <a@" + v + ">";
    if (!plain_address_list(v)) continue;
    ++accepted;
    INFO(v);
    CHECK(parsed_address_list_problem(v).empty());
  }
  CHECK(accepted > 1000);
}
