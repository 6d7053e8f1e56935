// `cyrconv audit`: the streaming checker, the damaged spools of tools/damage (the audit finds
// exactly the injected faults and the accounting adds up), and the clean real fixtures (no
// index or file damage; message findings only on the messages the fixtures hold on purpose).
#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "converter/audit/audit.h"
#include "converter/source/inventory.h"
#include "writers/audit_report.h"
#include "parsers/message_check.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

using Key = std::tuple<std::string, std::uint32_t, std::string>;  // directory under the spool, uid, kind

SourceInputs inputs_of(const fs::path& spool, const fs::path& config) {
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  if (!config.empty()) in.config_dir = config;
  return in;
}

std::set<Key> keys_of(const AuditReport& r, const fs::path& spool) {
  std::set<Key> out;
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      const std::string dir = fs::path(f.directory).lexically_relative(spool).string();
      for (const auto& fd : f.findings) out.emplace(dir, fd.uid, fd.kind);
      for (const auto& m : test::entries(r, f))
        for (const auto& fd : m.findings) out.emplace(dir, m.uid, fd.kind);
    }
  return out;
}

void check_balanced(const AuditReport& r) {
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      CHECK_MESSAGE(f.count.balanced(), f.directory);
      // Every message the index lists is accounted for.
      CHECK(f.count.messages == f.count.written + f.count.repaired + f.count.quarantined + f.count.missing +
                                    f.count.not_converted);
    }
  CHECK(r.totals.balanced());
}

AuditOptions deep() {
  AuditOptions o;
  o.mime = true;
  return o;
}

// Independent of the checker: does some header line start with "name:" (any case)?
// (No std::regex: GCC 12's trips -Wmaybe-uninitialized under the sanitizers.)
bool has_field(const std::string& header, const std::string& name) {
  for (std::size_t pos = 0; pos <= header.size();) {
    std::size_t k = 0;
    while (k < name.size() && pos + k < header.size() &&
           std::tolower(static_cast<unsigned char>(header[pos + k])) == name[k])
      ++k;
    std::size_t c = pos + k;
    while (k == name.size() && c < header.size() && (header[c] == ' ' || header[c] == '\t')) ++c;
    if (k == name.size() && c < header.size() && header[c] == ':') return true;
    const std::size_t nl = header.find('\n', pos);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  return false;
}

std::string hex(const std::array<std::uint8_t, 20>& d) {
  std::string s;
  const char* x = "0123456789abcdef";
  for (auto b : d) (s += x[b >> 4]) += x[b & 15];
  return s;
}

}  // namespace

TEST_CASE("message check: chunked feeding equals one buffer, SHA-1 and line classes") {
  const std::string msg =
      "From: a@b\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <x@y>\r\n"
      "Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\npreamble\r\n--BB\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nPGh0bWw+Cg==\r\n--BB--\r\n";
  MessageCheckResult whole = check_message(msg);
  CHECK(whole.faults.empty());
  CHECK(whole.size == msg.size());
  MessageChecker c;
  for (char ch : msg) c.feed(std::string_view(&ch, 1));
  MessageCheckResult bytewise = c.finish();
  CHECK(bytewise.sha1 == whole.sha1);
  CHECK(bytewise.faults.empty());
  CHECK(hex(check_message("abc").sha1) == "a9993e364706816aba3e25717850c26c9cd0d89d");

  c.reset();
  c.feed("From: a\r\nDate: x\r\nMessage-ID: <m>\r\n\r\nbody\nmore\rtext\r\n");
  MessageCheckResult r = c.finish();
  CHECK(r.has(MessageFault::mixed_line_endings));
  CHECK(r.has(MessageFault::bare_cr));
  CHECK(r.bare_cr == 1);
  CHECK_FALSE(r.has(MessageFault::nul_bytes));
  CHECK(check_message("From: a\r\n\r\n--x\r\n").has(MessageFault::missing_date));
  CHECK(check_message("").has(MessageFault::zero_length));
}

TEST_CASE("audit: every damaged spool from tools/damage shows exactly its injected fault") {
  test::TempDir tmp;
  const auto manifest = nlohmann::json::parse(test::make_damaged_spools(tmp.path, "--minimal"));
  REQUIRE(manifest["cases"].size() >= 20);

  const fs::path clean_spool = test::fixtures_dir() / "cyrus36-default" / "spool";
  const AuditReport clean = run_audit(inputs_of(clean_spool, test::fixtures_dir() / "cyrus36-default" / "config"), deep());
  const std::set<Key> all_baseline = keys_of(clean, clean_spool);

  for (const auto& c : manifest["cases"]) {
    const std::string cls = c["class"];
    CAPTURE(cls);
    // --minimal: the case holds only the damaged mailbox; compare with that folder of the clean run.
    const fs::path spool = tmp.path / std::string(c["spool"]);
    const AuditReport r = run_audit(inputs_of(spool, {}), deep());
    const std::set<Key> got = keys_of(r, spool);
    {  // The same report read in windows of 3 messages (orphans and missing files at window edges).
      AuditOptions small = deep();
      small.window_messages = 3;
      AuditReport a = run_audit(inputs_of(spool, {}), small), b = r;
      a.seconds = b.seconds = 0;
      CHECK(audit_report_json(a) == audit_report_json(b));
    }
    std::set<Key> baseline;
    AuditAccounting clean_count;
    for (const auto& k : all_baseline)
      if (std::get<0>(k) == c["directory"]) baseline.insert(k);
    for (const auto& u : clean.users)
      for (const auto& f : u.folders)
        if (fs::path(f.directory).lexically_relative(clean_spool) == std::string(c["directory"])) clean_count = f.count;
    REQUIRE(r.folders == 1);
    std::set<Key> added, expected;
    std::set_difference(got.begin(), got.end(), baseline.begin(), baseline.end(), std::inserter(added, added.end()));
    for (const auto& e : c["expect"]) expected.emplace(std::string(c["directory"]), e["uid"], std::string(e["kind"]));
    CHECK(added == expected);
    // Findings may only disappear for the damaged message itself (e.g. its file is gone).
    for (const auto& k : baseline)
      if (!got.count(k)) CHECK(std::get<1>(k) == c["uid"].get<std::uint32_t>());
    check_balanced(r);
    CHECK(r.totals.messages - clean_count.messages == (cls == "duplicate_index_record" ? 1u : cls == "truncated_index" ? std::uint64_t(-1) : 0u));

    // What convert would do.
    if (cls == "message_file_missing") CHECK(r.totals.missing == 1);
    if (cls == "zero_length" || cls == "size_mismatch" || cls == "sha1_mismatch" || cls == "duplicate_index_record")
      CHECK(r.totals.quarantined == 1);
    if (cls == "orphan_message_file" || cls == "truncated_index") CHECK(r.totals.orphans_recovered == 1);
    if (cls == "nul_bytes" || cls == "bare_cr" || cls == "bare_lf" || cls == "no_blank_line_after_header")
      CHECK(r.totals.repaired == clean_count.repaired + 1);
    // Warning-only classes are written unchanged: no problem for the exit status.
    const bool warning_only = cls == "header_line_not_field" || cls == "line_too_long" || cls == "header_8bit" ||
                              cls.rfind("mime_", 0) == 0;
    CHECK(r.problems() == !warning_only);
  }

  {  // --on-corrupt=quarantine on the NUL case: the message leaves the output
    const fs::path spool = tmp.path / "nul_bytes" / "spool";
    AuditOptions q = deep();
    q.on_corrupt = OnCorrupt::quarantine;
    const AuditReport rq = run_audit(inputs_of(spool, {}), q);
    CHECK(rq.totals.repaired == 0);
    CHECK(rq.totals.quarantined == 1);
    check_balanced(rq);
  }
}

TEST_CASE("audit: --on-corrupt=fail stops the damaged folder while the others go on") {
  const fs::path root = test::fixtures_dir() / "cyrus36-default";
  AuditOptions f = deep();
  f.on_corrupt = OnCorrupt::fail;
  const AuditReport r = run_audit(inputs_of(root / "spool", root / "config"), f);
  for (const auto& u : r.users)
    for (const auto& fo : u.folders) {
      CAPTURE(fo.name);
      CHECK(fo.failed == (fo.name == "Raw"));  // Raw's first message has bare-LF lines
      if (fo.name == "Raw") {
        CHECK(fo.count.not_converted == fo.count.messages);
        CHECK(fo.fail_reason.find("UID 1:") == 0);
      }
    }
  check_balanced(r);
}

TEST_CASE("audit: clean real fixtures have no index or file damage, findings only where the fixtures mean them") {
  // Raw folder: the messages NOTES.txt describes (bare LF / mixed line ends through BINARY,
  // broken MIME, header only, "From: foo"). Other MIME and header-field findings come from
  // deliberately broken messages of the shipped test corpora (python email tests, enmime:
  // "To: XX", "From: MAILER DAEMON <>", "Message-ID: <xxxx>") and are counted.
  struct Expect {
    const char* fixture;
    std::set<std::tuple<std::uint32_t, std::string>> raw;
    std::map<std::string, std::uint64_t> other;  // kind -> count outside Raw
  };
  const Expect expects[] = {
      {"cyrus36-default",
       {{1, "mixed_line_endings"}, {2, "mixed_line_endings"}, {3, "mixed_line_endings"},
        {7, "mime_unclosed_multipart"}, {8, "mime_bad_base64"}, {11, "mime_boundary_not_found"},
        {12, "bad_address"}, {13, "mime_boundary_not_found"}},
       {{"mime_bad_base64", 3}, {"mime_unclosed_multipart", 2}, {"mime_boundary_not_found", 2},
        {"mime_missing_boundary", 2}, {"bad_address", 3}, {"bad_message_id", 1}}},
      {"cyrus36-legacy",
       {{1, "mixed_line_endings"}, {4, "mime_boundary_not_found"}},
       {{"mime_unclosed_multipart", 2}, {"mime_boundary_not_found", 2}, {"mime_missing_boundary", 1},
        {"mime_bad_base64", 1}, {"header_line_not_field", 1}, {"bad_address", 2}}},
      {"cyrus36-oldindex", {},
       {{"mime_missing_boundary", 1}, {"mime_boundary_not_found", 2}, {"mime_unclosed_multipart", 2},
        {"mime_bad_base64", 1}}},
  };
  for (const auto& e : expects) {
    CAPTURE(e.fixture);
    const fs::path root = test::fixtures_dir() / e.fixture;
    const AuditReport r = run_audit(inputs_of(root / "spool", root / "config"), deep());
    CHECK(r.errors == 0);
    // Without --deep no MIME finding appears.
    const AuditReport shallow = run_audit(inputs_of(root / "spool", root / "config"), {});
    for (const auto& [kind, n] : shallow.fault_counts) CHECK_MESSAGE(kind.rfind("mime_", 0) != 0, kind);
    CHECK(r.totals.quarantined == 0);
    CHECK(r.totals.missing == 0);
    CHECK(r.totals.orphans == 0);
    check_balanced(r);
    std::set<std::tuple<std::uint32_t, std::string>> raw;
    std::map<std::string, std::uint64_t> other;
    for (const auto& u : r.users)
      for (const auto& f : u.folders) {
        CHECK_MESSAGE(f.findings.empty(), f.directory);
        for (const auto& m : test::entries(r, f)) {
          const std::string msg = test::read_file(m.file);
          const std::string header = msg.substr(0, msg.find("\r\n\r\n"));
          for (const auto& fd : m.findings) {
            if (fd.kind == "missing_date" || fd.kind == "missing_from" || fd.kind == "missing_message_id") {
              const std::string name = fd.kind == "missing_date" ? "date" : fd.kind == "missing_from" ? "from" : "message-id";
              CHECK_MESSAGE(!has_field(header, name), m.file, " ", fd.kind);
              continue;
            }
            if (f.name == "Raw") raw.emplace(m.uid, fd.kind);
            else ++other[fd.kind];
          }
        }
      }
    CHECK(raw == e.raw);
    CHECK(other == e.other);
    if (std::string(e.fixture) == "cyrus36-oldindex") CHECK_FALSE(r.problems());
  }
}

TEST_CASE("audit: every message lacking Date, From or Message-ID gets exactly that warning") {
  const fs::path root = test::fixtures_dir() / "cyrus36-default";
  const AuditReport r = run_audit(inputs_of(root / "spool", root / "config"), {});
  using Key = std::tuple<std::string, std::string, std::uint32_t, std::string>;  // user, folder, UID, kind
  std::set<Key> reported, expected;
  std::map<std::pair<std::string, std::string>, fs::path> directory;  // (user, folder) -> directory
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      directory[{u.user, f.name}] = f.directory;
      if (f.deleted) continue;  // Cyrus serves no DELETED folder: the oracle cannot speak for it
      for (const auto& m : test::entries(r, f))
        for (const auto& fd : m.findings)
          if (fd.kind.rfind("missing_", 0) == 0 && fd.kind != "message_file_missing")
            reported.emplace(u.user, f.name, m.uid, fd.kind);
    }
  // Independently: every message real Cyrus served (the fixture's oracle.jsonl, recorded over
  // IMAP when the fixture was made), its file's header checked here.
  std::istringstream oracle(test::read_file(root / "oracle.jsonl"));
  std::size_t served = 0;
  for (std::string line; std::getline(oracle, line);) {
    const auto o = nlohmann::json::parse(line);
    std::string user = o["user"], folder = o["folder"];
    // A shared folder as a user saw it is the folder of the shared owner "" in the report; each
    // user who saw it adds the same keys again, which the set keeps once.
    const std::string shared = "Shared Folders/";
    if (folder.rfind(shared, 0) == 0) user.clear(), folder.erase(0, shared.size());
    const std::uint32_t uid = o["uid"];
    auto dir = directory.find({user, folder});
    REQUIRE_MESSAGE(dir != directory.end(), "audit did not report folder " << folder << " of " << user);
    std::string msg = test::read_file(dir->second / (std::to_string(uid) + "."));
    const std::string header = msg.substr(0, msg.find("\r\n\r\n"));
    for (const auto& [field, kind] : {std::pair<std::string, std::string>{"date", "missing_date"},
                                      {"from", "missing_from"},
                                      {"message-id", "missing_message_id"}})
      if (!has_field(header, field)) expected.emplace(user, folder, uid, kind);
    ++served;
  }
  CHECK(served > 100);
  for (const auto& k : expected)
    if (!reported.count(k)) FAIL_CHECK("not reported: " << std::get<0>(k) << " " << std::get<1>(k) << " UID " << std::get<2>(k) << " " << std::get<3>(k));
  for (const auto& k : reported)
    if (!expected.count(k)) FAIL_CHECK("reported, not expected: " << std::get<0>(k) << " " << std::get<1>(k) << " UID " << std::get<2>(k) << " " << std::get<3>(k));
  CHECK(reported.size() >= 40);
}

TEST_CASE("audit CLI: exit statuses and the JSON report") {
  test::TempDir tmp;
  const fs::path root = test::fixtures_dir() / "cyrus36-oldindex";
  const fs::path report = tmp.path / "audit.json";
  const std::string base = test::cyrconv_binary().string() + " audit --deep --spool " + (root / "spool").string() +
                           " --config " + (root / "config").string();
  int st = std::system((base + " --report " + report.string() + " >/dev/null").c_str());
  CHECK(WEXITSTATUS(st) == 0);
  const auto j = nlohmann::json::parse(test::read_file(report));
  CHECK(j["schema"] == "cyrconv-audit");
  CHECK(j["totals"]["balanced"] == true);
  CHECK(j["totals"]["messages"] == j["totals"]["written"]);
  const fs::path def = test::fixtures_dir() / "cyrus36-default";
  // A uuid-layout store needs --config (without it: pre-flight refusal, status 2; preflight_test.cpp).
  st = std::system((test::cyrconv_binary().string() + " audit --spool " + (def / "spool").string() + " --config " +
                    (def / "config").string() + " >/dev/null").c_str());
  CHECK(WEXITSTATUS(st) == 1);  // Raw holds bare-LF messages convert repairs
  st = std::system((base + " --on-corrupt=sometimes >/dev/null 2>&1").c_str());
  CHECK(WEXITSTATUS(st) == 2);
}

TEST_CASE("audit: batches of folders and windows of messages give the report one batch gives (memory holds one window)") {
  SourceInputs in;
  in.partitions.push_back({"default", test::fixtures_dir() / "cyrus36-default" / "spool"});
  in.config_dir = test::fixtures_dir() / "cyrus36-default" / "config";
  auto without_timing = [](AuditReport r) {
    r.seconds = 0;
    return audit_report_json(r);
  };
  AuditOptions one;
  one.batch_folders = 100000;
  one.window_messages = std::size_t{1} << 30;
  const std::string want = without_timing(run_audit(in, one));
  for (std::size_t batch : {1, 2, 3, 7}) {
    AuditOptions o;
    o.batch_folders = batch;
    CHECK(without_timing(run_audit(in, o)) == want);
  }
  // Windows that end inside folders, at their edges and past folders without messages.
  for (std::size_t window : {1, 2, 5, 33}) {
    for (std::size_t batch : {3, 100000}) {
      AuditOptions o;
      o.batch_folders = batch;
      o.window_messages = window;
      CHECK_MESSAGE(without_timing(run_audit(in, o)) == want, "window ", window, " batch ", batch);
    }
  }
  CHECK(want.find("\"written\"") != std::string::npos);
}

TEST_CASE("audit: an index changed after the inventory is a source_changed error, its folder failed, counts balanced") {
  test::TempDir tmp;
  const fs::path fixture = test::fixtures_dir() / "cyrus36-default";
  fs::copy(fixture, tmp.path / "store", fs::copy_options::recursive);
  const SourceInputs in = inputs_of(tmp.path / "store" / "spool", tmp.path / "store" / "config");
  auto without_timing = [](AuditReport r) {
    r.seconds = 0;
    return audit_report_json(r);
  };
  const AuditReport before = run_audit(in, AuditOptions{});
  // Two folders with messages, not as many in each (the fixture's UIDVALIDITYs may be equal): the
  // first one's index is replaced by the other's while the audit runs.
  std::vector<const AuditFolder*> with_messages;
  for (const auto& u : before.users)
    for (const auto& f : u.folders)
      if (f.count.messages > 0 && f.index_version > 0 &&
          (with_messages.empty() || f.count.messages != with_messages[0]->count.messages))
        with_messages.push_back(&f);
  REQUIRE(with_messages.size() >= 2);
  const fs::path changed = fs::path(with_messages[0]->directory) / "cyrus.index";
  const fs::path other = fs::path(with_messages[1]->directory) / "cyrus.index";
  const std::string original = test::read_file(changed);
  for (std::size_t window : {std::size_t{1}, std::size_t{16384}}) {
    CAPTURE(window);
    AuditOptions o;
    o.window_messages = window;
    o.after_inventory = [&] { fs::copy_file(other, changed, fs::copy_options::overwrite_existing); };
    const AuditReport r = run_audit(in, o);
    std::ofstream(changed, std::ios::binary | std::ios::trunc) << original;
    check_balanced(r);
    CHECK(r.errors > before.errors);
    std::size_t reported = 0;
    for (const auto& u : r.users)
      for (const auto& f : u.folders) {
        const bool hit = fs::path(f.directory) / "cyrus.index" == changed;
        std::size_t n = 0;
        for (const auto& fd : f.findings)
          if (fd.kind == "source_changed") {
            ++n;
            CHECK(fd.severity == Finding::Severity::error);
            CHECK(fd.detail.find("changed since it was first read") != std::string::npos);
          }
        CHECK(n == (hit ? 1u : 0u));
        if (!hit) continue;
        ++reported;
        CHECK(f.failed);
        CHECK(f.count.messages == with_messages[0]->count.messages);
        CHECK(f.count.not_converted == f.count.messages);  // nothing read from an index that changed
      }
    CHECK(reported == 1);
  }
  CHECK(without_timing(run_audit(in, AuditOptions{})) == without_timing(before));  // restored: as before
}
