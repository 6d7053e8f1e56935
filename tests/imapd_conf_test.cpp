#include <doctest/doctest.h>

#include <string>

#include "converter/plan/folder_naming.h"
#include "parsers/imapd_conf.h"
#include "parsers/mailbox_name.h"

using namespace cyrconv;

TEST_CASE("imapd.conf: partitions, configdirectory and the naming settings, libconfig's spellings") {
  const std::string text =
      "# a comment\n"
      "configdirectory: /var/lib/cyrus\n"
      "partition-default:   /var/spool/cyrus/mail  \n"
      "Partition-News: /srv/news\r\n"
      "archivepartition-default: /srv/archive\n"
      "\n"
      "unixhierarchysep: off\n"
      "altnamespace: t\n"
      "hashimapspool: 1\n"
      "fulldirhash: bogus\n"
      "virtdomains: yes\n"
      "@include: /etc/cyrus-local.conf\n"
      "sasl_pwcheck_method: saslauthd\n";
  auto r = parse_imapd_conf(text, "imapd.conf");
  REQUIRE(r);
  const ImapdConf& c = r.value();
  REQUIRE(c.partitions.size() == 2);
  CHECK(c.partitions[0] == std::pair<std::string, std::string>{"default", "/var/spool/cyrus/mail"});
  CHECK(c.partitions[1] == std::pair<std::string, std::string>{"news", "/srv/news"});
  REQUIRE(c.archive_partitions.size() == 1);
  CHECK(c.archive_partitions[0].second == "/srv/archive");
  CHECK(c.configdirectory == std::optional<std::string>("/var/lib/cyrus"));
  CHECK(c.unixhierarchysep == std::optional<bool>(false));
  CHECK(c.altnamespace == std::optional<bool>(true));
  CHECK(c.hashimapspool == std::optional<bool>(true));
  CHECK_FALSE(c.fulldirhash.has_value());  // not a boolean: left unset and listed
  CHECK(c.virtdomains == std::optional<std::string>("userid"));
  REQUIRE(c.ignored.size() == 2);
  CHECK(c.ignored[0].find("line 10: fulldirhash") == 0);
  CHECK(c.ignored[1].find("@include") != std::string::npos);
}

TEST_CASE("imapd.conf: a line without key and colon is an error naming its offset") {
  auto r = parse_imapd_conf("configdirectory: /x\nthis is not a setting\n", "etc/imapd.conf");
  REQUIRE_FALSE(r);
  CHECK(r.error().offset == 20);
  CHECK(r.error().message.find("line 2") != std::string::npos);
}

TEST_CASE("'^' in names: a '.' under unixhierarchysep yes, a literal '^' under no") {
  const MailboxName n = parse_internal_name("user.jdoe.caret^name.Kind^x");
  CHECK(n.internal() == "user.jdoe.caret^name.Kind^x");  // the stored form either way
  const FolderNameInput dot = folder_name_input(n, MailboxKind::email, std::nullopt, CaretMeaning::dot);
  const FolderNameInput caret = folder_name_input(n, MailboxKind::email, std::nullopt, CaretMeaning::caret);
  CHECK(dot.levels == std::vector<std::string>{"caret.name", "Kind.x"});
  CHECK(caret.levels == std::vector<std::string>{"caret^name", "Kind^x"});
  CHECK(caret.internal_name == dot.internal_name);
}
