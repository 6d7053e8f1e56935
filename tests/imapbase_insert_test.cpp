// ImapbaseInserter: the X-IMAPbase line lands right before the first "X-UID: " field whatever
// the chunking of the segment, and says where it went.
#include <doctest/doctest.h>

#include <string>

#include "writers/imapbase_insert.h"

using namespace cyrconv;

TEST_CASE("ImapbaseInserter: before the first X-UID field, at every chunk size") {
  const std::string segment =
      "From MAILER-DAEMON Thu Jan  1 00:00:00 2026\nSubject: x\nX-Cyrconv-Orig-X-UID: 9\nStatus: RO\n"
      "X-UID: 4\n\nbody X-UID: 5\n\nFrom MAILER-DAEMON Thu Jan  1 00:00:00 2026\nX-UID: 6\n\nb\n";
  const std::string line = "X-IMAPbase: 1 0000000010\n";
  const std::size_t at = segment.find("\nX-UID: 4") + 1;
  const std::string want = segment.substr(0, at) + line + segment.substr(at);
  for (std::size_t chunk = 1; chunk <= segment.size(); ++chunk) {
    CAPTURE(chunk);
    std::string got;
    ImapbaseInserter insert(line, [&](std::string_view b) {
      got.append(b);
      return WriteStatus{};
    });
    for (std::size_t i = 0; i < segment.size(); i += chunk) REQUIRE(insert.feed(std::string_view(segment).substr(i, chunk)));
    REQUIRE(insert.finish());
    CHECK(got == want);
    CHECK(insert.inserted());
    CHECK(insert.inserted_at() == at);
  }
}

TEST_CASE("ImapbaseInserter: a segment without X-UID passes unchanged and says so, a failing sink stops it") {
  std::string got;
  ImapbaseInserter insert("X-IMAPbase: 1 2\n", [&](std::string_view b) {
    got.append(b);
    return WriteStatus{};
  });
  REQUIRE(insert.feed("From a\nX-UI"));
  REQUIRE(insert.feed("D 4\n\n"));
  REQUIRE(insert.finish());
  CHECK(got == "From a\nX-UID 4\n\n");
  CHECK_FALSE(insert.inserted());

  ImapbaseInserter broken("X-IMAPbase: 1 2\n", [](std::string_view) { return WriteStatus{false, "disk: full"}; });
  CHECK_FALSE(broken.feed(std::string(100, 'a')));
}
