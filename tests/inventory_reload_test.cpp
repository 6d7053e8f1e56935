// reload_live_records: convert drops each mail folder's records after planning and reads them
// again right before converting the folder, so memory holds the folders in progress only.
#include <doctest/doctest.h>

#include "converter/source/discover.h"
#include "converter/source/inventory.h"
#include "converter/plan/plan_names.h"
#include "converter/source/user_state.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

SourceInputs copied_fixture(const fs::path& to) {
  fs::copy(test::fixtures_dir() / "cyrus36-default", to, fs::copy_options::recursive);
  SourceInputs in;
  in.partitions.push_back({"default", to / "spool"});
  in.config_dir = to / "config";
  return in;
}

}  // namespace

TEST_CASE("reload_live_records gives the records inventory gave, \\Seen applied, a changed index is an error") {
  test::TempDir tmp;
  const SourceInputs in = copied_fixture(tmp.path / "store");
  const Discovery disc = discover(in);
  std::vector<const MailboxRef*> mail;
  for (const auto& mb : disc.mailboxes)
    if (mb.on_disk && !mb.deleted && mb.kind == MailboxKind::email) mail.push_back(&mb);
  REQUIRE(mail.size() > 3);
  const SourceStates states = load_source_states(in, mail);

  std::size_t compared = 0, seen_flags = 0;
  for (const MailboxRef* mb : mail) {
    const MailboxInventory inv = inventory_mailbox(*mb, states.seen_for(*mb));
    CHECK(inv.live_count == inv.live.size());
    const LiveRecords again = reload_live_records(*mb, states.seen_for(*mb), inv);
    CHECK(again.error.empty());
    REQUIRE(again.live.size() == inv.live.size());
    for (std::size_t i = 0; i < inv.live.size(); ++i) {
      CHECK(again.live[i].uid == inv.live[i].uid);
      CHECK(again.live[i].system_flags == inv.live[i].system_flags);
      CHECK(again.live[i].user_flags == inv.live[i].user_flags);
      CHECK(again.live[i].size == inv.live[i].size);
      seen_flags += (again.live[i].system_flags & sysflag::seen) != 0;
      ++compared;
    }
  }
  CHECK(compared > 20);
  CHECK(seen_flags > 0);

  // The snapshot changes under the run: another mailbox's index appears in this one's place.
  const MailboxRef* a = nullptr;
  const MailboxRef* b = nullptr;
  std::vector<MailboxInventory> invs;
  for (const MailboxRef* mb : mail) {
    MailboxInventory inv = inventory_mailbox(*mb, states.seen_for(*mb));
    if (!a && inv.live_count) {
      a = mb;
      invs.push_back(std::move(inv));
    } else if (a && !b && inv.header.last_uid != invs[0].header.last_uid) {
      b = mb;
    }
  }
  REQUIRE(a);
  REQUIRE(b);
  fs::copy_file(b->dir / "cyrus.index", a->dir / "cyrus.index", fs::copy_options::overwrite_existing);
  const LiveRecords changed = reload_live_records(*a, states.seen_for(*a), invs[0]);
  CHECK(changed.live.empty());
  CHECK(changed.error.find("changed since it was first read") != std::string::npos);
  CHECK(changed.error.find((a->dir / "cyrus.index").string()) != std::string::npos);

  fs::remove(a->dir / "cyrus.index");
  const LiveRecords gone = reload_live_records(*a, states.seen_for(*a), invs[0]);
  CHECK_FALSE(gone.error.empty());
}
