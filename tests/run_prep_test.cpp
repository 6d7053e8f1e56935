// converter/plan/run_prep.h: the run preparation convert and zimbra-tgz share, on a store written
// by real Cyrus 3.6 (fixtures/cyrus36-default) and on a damaged copy of it (orphan files).
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "converter/plan/output_layout.h"
#include "converter/plan/run_prep.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

SourceInputs default_fixture(const fs::path& root) {
  SourceInputs in;
  in.partitions.emplace_back("default", root / "spool");
  in.config_dir = root / "config";
  return in;
}

std::vector<const NamingOutcome*> naming_of(const std::vector<RunUser>& users) {
  std::vector<const NamingOutcome*> out;
  for (const auto& u : users) out.push_back(&u.naming);
  return out;
}

bool has_finding(const std::vector<Finding>& fs, const std::string& kind) {
  return std::any_of(fs.begin(), fs.end(), [&](const Finding& f) { return f.kind == kind; });
}

}  // namespace

TEST_CASE("prepare_run: every user's folders selected, inventoried as summaries, named, DELETED ones only reported") {
  const fs::path fixture = test::fixtures_dir() / "cyrus36-default";
  RunPrepOptions opt;
  opt.block = 4096;
  RunPreparation prep = prepare_run(default_fixture(fixture), opt);
  REQUIRE_FALSE(prep.plan.refused());
  REQUIRE(prep.selected.size() > 5);
  REQUIRE(prep.inv.size() == prep.selected.size());
  REQUIRE(prep.block_bytes.size() == prep.selected.size());
  std::set<std::string> owners;
  std::uint64_t messages = 0;
  for (std::size_t i = 0; i < prep.selected.size(); ++i) {
    const MailboxRef& mb = *prep.selected[i];
    CHECK_FALSE(mb.deleted);
    owners.insert(mb.name.owner());
    const MailboxInventory& inv = prep.inv[i];
    messages += inv.live_count;
    // Mail folders keep only their summary; the records are read again when converted.
    if (mb.kind == MailboxKind::email) CHECK(inv.live.empty());
    // Whole blocks, at least the message bytes.
    CHECK(prep.block_bytes[i] % 4096 == 0);
    CHECK(prep.block_bytes[i] >= inv.bytes);
    CHECK((prep.block_bytes[i] == 0) == (inv.live_count == 0));
  }
  CHECK(messages > 50);
  CHECK(owners.count("alice") == 1);
  for (const auto& f : prep.not_converted) {
    CHECK(f.action == "deleted");
    CHECK(has_finding(f.findings, "deleted_folder_skipped"));
  }

  std::vector<RunUser> users = take_run_users(prep, "/out");
  REQUIRE(users.size() == prep.plan.users.size());
  for (const auto& u : users) {
    CHECK(u.state != nullptr);
    CHECK(u.root == fs::path("/out") / u.root_rel);
    CHECK_FALSE(u.naming.folders.empty());
  }
  const std::vector<FolderJob> jobs = plan_folder_jobs(prep, naming_of(users));
  // One job per selected folder (no orphans in a clean store), in `selected` order, each named
  // by its user's naming, without the per-message findings convert accounts itself.
  REQUIRE(jobs.size() == prep.selected.size());
  for (std::size_t k = 0; k < jobs.size(); ++k) {
    const FolderJob& job = jobs[k];
    CHECK(job.mailbox == prep.selected[k]);
    CHECK(job.orphans_of == nullptr);
    CHECK(job.inventory == k);
    REQUIRE(job.name != nullptr);
    CHECK(job.name->internal_name == job.mailbox->name.internal());
    CHECK(job.out.target == job.name->path);
    CHECK(job.bytes == prep.inv[k].bytes);
    CHECK_FALSE(has_finding(job.out.findings, "message_file_missing"));
  }
}

TEST_CASE("prepare_run: --users selects one user, names an unknown one, guests get only the folders they convert") {
  const fs::path fixture = test::fixtures_dir() / "cyrus36-default";
  RunPrepOptions opt;
  opt.users = {"alice", "nobody"};
  RunPreparation prep = prepare_run(default_fixture(fixture), opt);
  REQUIRE_FALSE(prep.selected.empty());
  for (const auto* mb : prep.selected) CHECK(mb->name.owner() == "alice");
  CHECK(has_finding(prep.findings, "user_not_found"));
  CHECK(prep.block_bytes == std::vector<std::uint64_t>(prep.selected.size(), 0));  // opt.block 0: not computed

  std::vector<RunUser> users = take_run_users(prep, "/out");
  REQUIRE(users.size() == 1);
  // A guest converting only its INBOX.
  const auto inbox = [&](std::size_t, std::size_t i) { return prep.selected[i]->name.internal() == "user.alice"; };
  const std::vector<FolderJob> jobs = plan_folder_jobs(prep, naming_of(users), [](std::size_t) { return true; }, inbox);
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].mailbox->name.internal() == "user.alice");
  CHECK(plan_folder_jobs(prep, naming_of(users), [](std::size_t) { return true; }, nullptr).empty());
}

TEST_CASE("plan_folder_jobs: a folder with orphan files is followed by its recovery folder") {
  test::TempDir tmp;
  const fs::path fixture = test::fixtures_dir() / "cyrus36-default";
  fs::copy(fixture / "spool", tmp.path / "spool", fs::copy_options::recursive);
  fs::copy(fixture / "config", tmp.path / "config", fs::copy_options::recursive);
  // An orphan: a message file no index record lists, in alice's INBOX.
  RunPreparation clean = prepare_run(default_fixture(tmp.path), RunPrepOptions{});
  const auto it = std::find_if(clean.selected.begin(), clean.selected.end(),
                               [](const MailboxRef* mb) { return mb->name.internal() == "user.alice"; });
  REQUIRE(it != clean.selected.end());
  const fs::path dir = (*it)->dir;
  const std::uint32_t uid = clean.inv[static_cast<std::size_t>(it - clean.selected.begin())].header.last_uid + 5;
  fs::copy_file(fixture / "spool" / fs::relative(dir, tmp.path / "spool") / "1.", dir / (std::to_string(uid) + "."));

  RunPreparation prep = prepare_run(default_fixture(tmp.path), RunPrepOptions{});
  std::vector<RunUser> users = take_run_users(prep, tmp.path / "out");
  const std::vector<FolderJob> jobs = plan_folder_jobs(prep, naming_of(users));
  REQUIRE(jobs.size() == prep.selected.size() + 1);
  const auto rec = std::find_if(jobs.begin(), jobs.end(), [](const FolderJob& j) { return j.orphans_of != nullptr; });
  REQUIRE(rec != jobs.end());
  REQUIRE(rec != jobs.begin());
  CHECK((rec - 1)->mailbox == rec->orphans_of);  // right after its folder
  CHECK(rec->orphans_of->name.internal() == "user.alice");
  CHECK(rec->mailbox == nullptr);
  CHECK(rec->out.action == "recover_orphans");
  REQUIRE(rec->name != nullptr);
  CHECK(rec->name->internal_name == "user.alice" + std::string(orphan_suffix));
  CHECK(prep.plan.orphans[rec->inventory] == std::vector<std::uint32_t>{uid});
}
