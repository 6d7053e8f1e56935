#include <doctest/doctest.h>

#include <string>

#include "parsers/dlist.h"

using cyrconv::DlistValue;
using cyrconv::parse_dlist;

TEST_CASE("dlist: kvlist of atoms, quoted, NIL and nested lists") {
  const std::string text =
      "%(T e N user.fred.Sent I 8c1f5a5e-7c2d-4f0e-9d7a-1b2c3d4e5f60 Q \"user.fred\" "
      "A %(fred lrswipkxtecdan anyone 0) U (Junk NIL $Forwarded))\n";
  auto r = parse_dlist(text, "cyrus.header", 115);
  REQUIRE(r.ok());
  const DlistValue& v = r.value();
  CHECK(v.kind == DlistValue::Kind::kvlist);
  CHECK(v.keys.size() == 6);
  CHECK(v.string_at("T") == "e");
  CHECK(v.string_at("N") == "user.fred.Sent");
  CHECK(v.string_at("Q") == "user.fred");
  CHECK(v.string_at("missing") == "");
  const DlistValue* acl = v.find("A");
  REQUIRE(acl);
  CHECK(acl->kind == DlistValue::Kind::kvlist);
  CHECK(acl->string_at("fred") == "lrswipkxtecdan");
  CHECK(acl->string_at("anyone") == "0");
  const DlistValue* flags = v.find("U");
  REQUIRE(flags);
  REQUIRE(flags->kind == DlistValue::Kind::list);
  REQUIRE(flags->items.size() == 3);
  CHECK(flags->items[0].text == "Junk");
  CHECK(flags->items[1].kind == DlistValue::Kind::nil);
  CHECK(flags->items[2].text == "$Forwarded");
  CHECK(v.find("U")->find("x") == nullptr);  // not a kvlist
}

TEST_CASE("dlist: empty containers, empty quoted string, quoted NIL is a string") {
  auto r = parse_dlist("%(A %() U () E \"\" S \"NIL\")", "t");
  REQUIRE(r.ok());
  CHECK(r.value().find("A")->kind == DlistValue::Kind::kvlist);
  CHECK(r.value().find("A")->items.empty());
  CHECK(r.value().find("U")->kind == DlistValue::Kind::list);
  CHECK(r.value().find("E")->kind == DlistValue::Kind::string);
  CHECK(r.value().find("E")->text.empty());
  CHECK(r.value().find("S")->kind == DlistValue::Kind::string);
  CHECK(r.value().string_at("S") == "NIL");
}

TEST_CASE("dlist: quoted escapes and literals with CRLF, LF and literal+") {
  auto q = parse_dlist("\"a\\\"b\\\\c\"", "t");
  REQUIRE(q.ok());
  CHECK(q.value().text == "a\"b\\c");

  std::string lit = std::string("(x {5}\r\nab\0 d {3+}\nxyz y)", 25);
  auto l = parse_dlist(lit, "t");
  REQUIRE(l.ok());
  REQUIRE(l.value().items.size() == 4);
  CHECK(l.value().items[1].text == std::string("ab\0 d", 5));
  CHECK(l.value().items[2].text == "xyz");
  CHECK(l.value().items[3].text == "y");

  auto key_lit = parse_dlist("%({1}\r\nK v)", "t");
  REQUIRE(key_lit.ok());
  CHECK(key_lit.value().string_at("K") == "v");
}

TEST_CASE("dlist: top-level atom and NIL, trailing bytes allowed") {
  auto a = parse_dlist("hello\r\n", "t");
  REQUIRE(a.ok());
  CHECK(a.value().kind == DlistValue::Kind::string);
  CHECK(a.value().text == "hello");
  auto n = parse_dlist("NIL", "t");
  REQUIRE(n.ok());
  CHECK(n.value().kind == DlistValue::Kind::nil);
  auto flag = parse_dlist("(\\Seen \\Deleted)", "t");
  REQUIRE(flag.ok());
  CHECK(flag.value().items[0].text == "\\Seen");
}

TEST_CASE("dlist: errors name the file and an offset") {
  auto check_err = [](std::string_view text, std::uint64_t min_off = 0) {
    auto r = parse_dlist(text, "mailboxes.db", 1000);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().file == "mailboxes.db");
    CHECK(r.error().offset >= 1000 + min_off);
    CHECK(r.error().offset <= 1000 + text.size());
    CHECK_FALSE(r.error().message.empty());
  };
  check_err("");
  check_err("%(A b");               // unterminated kvlist
  check_err("(a b");                // unterminated list
  check_err("%(A)");                // key without value
  check_err("%(A %{x y 3}\r\nabc)");  // sync file reference: not on disk
  check_err("\"abc");               // unterminated quoted
  check_err("{10}\r\nabc");         // literal past end
  check_err("{}\r\n");              // no length
  check_err("{3}abc");              // no CRLF
  check_err("{99999999999999999999}\r\n");  // overflow
  check_err("%x");
}

TEST_CASE("dlist: nesting depth is limited, not a stack overflow") {
  std::string deep(100000, '(');
  auto r = parse_dlist(deep, "t");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("deeper") != std::string::npos);
  std::string deep_kv;
  for (int i = 0; i < 1000; ++i) deep_kv += "%(k ";
  CHECK_FALSE(parse_dlist(deep_kv, "t").ok());
  std::string ok_depth(60, '(');
  ok_depth += std::string(60, ')');
  CHECK(parse_dlist(ok_depth, "t").ok());
}

TEST_CASE("dlist: every prefix of a valid text parses or fails cleanly") {
  const std::string text = "%(T e N user.x A %(a lr) U (f NIL {3}\r\nabc \"q\\\"\") Z ())";
  REQUIRE(parse_dlist(text, "t").ok());
  for (std::size_t n = 0; n < text.size(); ++n) {
    auto r = parse_dlist(std::string_view(text).substr(0, n), "t");
    if (!r.ok()) CHECK(r.error().offset <= n);
  }
}
