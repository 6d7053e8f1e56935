#include <doctest/doctest.h>

#include <string>

#include "parsers/message_date.h"

using namespace cyrconv;

TEST_CASE("RFC 5322 dates, with the obsolete forms real mail carries") {
  CHECK(parse_rfc5322_date("Thu, 1 Jan 1970 00:00:00 +0000") == 0);
  CHECK(parse_rfc5322_date("Tue, 1 Jul 2003 10:52:37 +0200") == 1057049557);
  CHECK(parse_rfc5322_date(" 1 Jul 2003 10:52:37 +0200 (CEST)") == 1057049557);
  CHECK(parse_rfc5322_date("Tue, 01 Jul 03 08:52 GMT") == 1057049520);  // two-digit year, no seconds
  CHECK(parse_rfc5322_date("Mon, 30 Jun 2003 16:52:37 PDT") == 1057017157);
  CHECK(parse_rfc5322_date("29 Feb 2000 23:59:59 -0000") == 951868799);
  CHECK_FALSE(parse_rfc5322_date("yesterday"));
  CHECK_FALSE(parse_rfc5322_date("32 Jan 2003 10:00:00 +0000"));
  CHECK_FALSE(parse_rfc5322_date("1 Foo 2003 10:00:00 +0000"));
  CHECK_FALSE(parse_rfc5322_date("1 Jan 2003 25:00:00 +0000"));
  CHECK_FALSE(parse_rfc5322_date(""));
}

TEST_CASE("the delivery date of a message: the first Received: that parses, else Date:") {
  const std::string both =
      "Return-Path: <a@b>\r\n"
      "Received: from mx by imap (Cyrus) with LMTPA;\r\n\tTue, 01 Jul 2003 10:52:37 +0200\r\n"
      "Received: from elsewhere; Mon, 30 Jun 2003 00:00:00 +0000\r\n"
      "Date: Sun, 29 Jun 2003 00:00:00 +0000\r\n"
      "\r\n"
      "Received: in the body; Thu, 1 Jan 1970 00:00:00 +0000\r\n";
  auto d = message_header_date(both);
  REQUIRE(d);
  CHECK(d->source == HeaderDate::Source::received);
  CHECK(d->seconds == 1057049557);

  auto only_date = message_header_date("Subject: x\nReceived: no date here\nDate: Thu, 1 Jan 1970 00:01:00 +0000\n\n");
  REQUIRE(only_date);
  CHECK(only_date->source == HeaderDate::Source::date);
  CHECK(only_date->seconds == 60);

  CHECK_FALSE(message_header_date("Subject: x\r\n\r\nDate: Thu, 1 Jan 1970 00:01:00 +0000\r\n"));
  CHECK_FALSE(message_header_date(std::string("\xff\xfe\0garbage", 10)));
}
