#include <doctest/doctest.h>

#include <string>

#include "parsers/message_id.h"
#include "writers/zimbra_flags.h"

using namespace cyrconv;

namespace {

std::string scan(std::string_view message, std::size_t piece) {
  MessageIdScanner s;
  for (std::size_t i = 0; i < message.size(); i += piece) s.feed(message.substr(i, piece));
  return s.value();
}

}  // namespace

TEST_CASE("Message-ID scanner: the first field of the header, unfolded, brackets off, any chunking") {
  const std::string m =
      "Received: from x\r\n\tby y; Mon, 5 Mar 2012\r\nmessage-id:\r\n <abc.123@example.org>\r\nMessage-ID: <second@x>\r\n"
      "Subject: t\r\n\r\nMessage-ID: <in-body@x>\r\n";
  for (std::size_t piece : {1u, 2u, 7u, 4096u}) CHECK(scan(m, piece) == "abc.123@example.org");
  CHECK(scan("Subject: none\n\nMessage-ID: <body@x>\n", 3) == "");
  CHECK(scan("X-Message-ID: <not@this>\nMessage-Id : <obs@x>\n\n", 5) == "obs@x");
  CHECK(scan("Message-ID: <" + std::string(2000, 'a') + "@x>\n\n", 64) == "");  // too long to search for
}

TEST_CASE("zmmailbox lines: documented commands, quoted arguments, hits by search index") {
  CHECK(zmm_create_tag("$Label1") == "createTag \"$Label1\"\n");
  CHECK(zmm_create_folder("Archiv/Entwürfe", "message") == "createFolder -V message \"/Archiv/Entwürfe\"\n");
  CHECK(zmm_search("Inbox/Sub dir", "abc@x", 2) ==
        "search -t message -l 2 \"in:\\\"/Inbox/Sub dir\\\" msgid:\\\"abc@x\\\"\"\n");
  CHECK(zmm_modify_flags(1, "ufr") == "modifyItemFlags \"#1\" \"ufr\"\n");
  CHECK(zmm_tag(3, "Draft (Cyrus)") == "tagMessage \"#1-3\" \"Draft (Cyrus)\" 1\n");
  CHECK(zmm_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
}

TEST_CASE("zmmailbox read-back: the group's search narrowed by every flag and tag it must have") {
  CHECK(zmm_check("Inbox", "abc@x", 2, "ufrw", false, {"Draft (Cyrus)", "$Label1"}) ==
        "search -t message -l 2 \"in:\\\"/Inbox\\\" msgid:\\\"abc@x\\\" is:flagged is:replied is:forwarded is:unread "
        "tag:\\\"Draft (Cyrus)\\\" tag:\\\"$Label1\\\"\"\n");
  CHECK(zmm_check("A", "m@x", 1, "r", true, {}) == "search -t message -l 1 \"in:\\\"/A\\\" msgid:\\\"m@x\\\" is:replied is:read\"\n");
  CHECK(checkable_tag("Draft (Cyrus)"));
  CHECK_FALSE(checkable_tag("a\"b"));
  CHECK_FALSE(checkable_tag("a\\b"));
}

TEST_CASE("Zimbra tag names and searchable values") {
  CHECK(zimbra_tag_name("$Forwarded") == "$Forwarded");
  CHECK(zimbra_tag_name("a:b\\c") == "a_b_c");
  CHECK(zimbra_tag_name("  x  ") == "x");
  CHECK(zimbra_tag_name("") == "_");
  CHECK(zimbra_tag_name(std::string(300, 'k')).size() == 255);
  CHECK(searchable("abc@example.org"));
  CHECK_FALSE(searchable(""));
  CHECK_FALSE(searchable("a b@x"));
  CHECK_FALSE(searchable("a\"b@x"));
  CHECK_FALSE(searchable("a\\b@x"));
}
