// The report's per-message entries live in a scratch file (writers/message_log.h) and reports
// stream out (PrettyJsonStream): what a report says must not change by where its entries wait.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>
#include <thread>

#include "converter/audit/audit.h"
#include "writers/audit_report.h"
#include "writers/convert_report.h"
#include "writers/message_log.h"
#include "writers/report_json.h"
#include "tests/test_support.h"

using namespace cyrconv;
namespace fs = std::filesystem;

namespace {

AuditMessage sample(std::uint32_t uid, std::size_t detail_bytes = 40) {
  AuditMessage m;
  m.uid = uid;
  m.file = "/spool/u/user/fred/" + std::to_string(uid) + ".";
  m.orphan = uid % 7 == 0;
  m.size = 1000 + uid;  // carried through the log (the HTML page weighs fault classes by it)
  m.action = uid % 3 == 0 ? MessageAction::repair : MessageAction::write;
  if (uid % 3 == 0) m.changes = {"bare LF made CRLF", std::string("NUL\0removed", 11)};
  if (uid % 5 == 0) m.reason = "header \xff\xfe not UTF-8";
  if (m.orphan) m.recover_folder = "INBOX/recovered";
  m.findings.push_back(Finding{Finding::Severity::warning, "missing_date", m.file, 0, uid, "no Date: header"});
  m.findings.push_back(Finding{static_cast<Finding::Severity>(uid % 3), "kind" + std::to_string(uid), m.file,
                               uid * 1000ull, uid, std::string(detail_bytes, static_cast<char>('a' + uid % 26))});
  return m;
}

bool same(const AuditMessage& a, const AuditMessage& b) {
  if (a.uid != b.uid || a.file != b.file || a.orphan != b.orphan || a.size != b.size || a.action != b.action ||
      a.changes != b.changes ||
      a.reason != b.reason || a.recover_folder != b.recover_folder || a.findings.size() != b.findings.size())
    return false;
  for (std::size_t i = 0; i < a.findings.size(); ++i) {
    const Finding &x = a.findings[i], &y = b.findings[i];
    if (x.severity != y.severity || x.kind != y.kind || x.file != y.file || x.offset != y.offset || x.uid != y.uid ||
        x.detail != y.detail)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("message log: an entry decodes to exactly what was encoded, a cut or padded one is refused") {
  const AuditMessage m = sample(15);
  std::string bytes;
  encode_message(m, bytes);
  AuditMessage back;
  REQUIRE(decode_message(std::string_view(bytes).substr(4), back));
  CHECK(same(m, back));
  CHECK(back.changes[1].size() == 11);  // the NUL byte kept
  CHECK_FALSE(decode_message(std::string_view(bytes).substr(4, bytes.size() - 5), back));
  CHECK_FALSE(decode_message(bytes.substr(4) + "x", back));
}

TEST_CASE("message log: spans read back in order across block edges, spills from threads at once") {
  test::TempDir tmp;
  MessageLog log;
  REQUIRE(log.open(tmp.path) == "");
  // Four threads, each spilling 30 spans of entries up to 300 KB long, so records cross the
  // reader's 1 MiB blocks.
  std::vector<std::vector<MessageLogSpan>> spans(4);
  std::vector<std::thread> threads;
  for (std::uint32_t t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint32_t s = 0; s < 30; ++s) {
        std::vector<AuditMessage> pending;
        for (std::uint32_t i = 0; i < 20; ++i) {
          const std::uint32_t uid = t * 100000 + s * 100 + i + 1;
          pending.push_back(sample(uid, i == 7 ? 300000 : 40 + i));
        }
        CHECK(log.spill(pending, spans[t]));
        CHECK(pending.empty());
      }
    });
  for (auto& th : threads) th.join();
  for (std::uint32_t t = 0; t < 4; ++t) {
    REQUIRE(spans[t].size() == 30);
    std::vector<AuditMessage> pending{sample(t * 100000 + 99999)};  // still in memory: comes last
    std::vector<std::uint32_t> uids;
    bool all_same = true;
    const std::string err = for_each_message(&log, spans[t], pending, [&](const AuditMessage& m) {
      uids.push_back(m.uid);
      all_same = all_same && same(m, sample(m.uid, m.findings[1].detail.size()));
    });
    CHECK(err == "");
    CHECK(all_same);
    REQUIRE(uids.size() == 601);
    for (std::uint32_t s = 0; s < 30; ++s)
      for (std::uint32_t i = 0; i < 20; ++i) CHECK(uids[s * 20 + i] == t * 100000 + s * 100 + i + 1);
    CHECK(uids.back() == t * 100000 + 99999);
  }
}

TEST_CASE("message log: a log that did not open keeps the entries in memory, a lost span is an error, not silence") {
  MessageLog closed;
  CHECK(closed.open("/nonexistent-dir/for/cyrconv") != "");
  std::vector<AuditMessage> pending{sample(1), sample(2)};
  std::vector<MessageLogSpan> spans;
  CHECK_FALSE(closed.spill(pending, spans));
  CHECK(pending.size() == 2);
  CHECK(spans.empty());

  test::TempDir tmp;
  MessageLog log;
  REQUIRE(log.open(tmp.path) == "");
  std::vector<AuditMessage> one{sample(3)};
  REQUIRE(log.spill(one, spans));
  std::vector<MessageLogSpan> beyond{MessageLogSpan{spans[0].offset + spans[0].bytes, 100, 1}};
  std::size_t seen = 0;
  CHECK(for_each_message(&log, beyond, {}, [&](const AuditMessage&) { ++seen; }) != "");
  CHECK(seen == 0);
  CHECK(for_each_message(nullptr, spans, {}, [&](const AuditMessage&) { ++seen; }) != "");
}

TEST_CASE("PrettyJsonStream writes what nlohmann's dump(2) writes for the whole document") {
  nlohmann::ordered_json inner;
  inner["s"] = "line\nbreak \"quoted\" \xc3\xa9";
  inner["empty_array"] = nlohmann::ordered_json::array();
  inner["empty_object"] = nlohmann::ordered_json::object();
  inner["nested"] = {{"a", {1, 2, {{"b", nullptr}}}}, {"c", false}};
  std::ostringstream out;
  PrettyJsonStream js(out);
  js.begin_object();
  js.members(nlohmann::ordered_json{{"first", 1}, {"inner", inner}});
  js.key("list");
  js.begin_array();
  js.value(inner);
  js.begin_object();
  js.key("deep");
  js.begin_array();
  js.end();
  js.key("more");
  js.begin_array();
  js.value(3.5);
  js.value("x");
  js.end();
  js.end();
  js.end();
  js.key("tail");
  js.value(inner["nested"]);
  js.end();
  js.finish();

  nlohmann::ordered_json whole;
  whole["first"] = 1;
  whole["inner"] = inner;
  whole["list"] = {inner, {{"deep", nlohmann::ordered_json::array()}, {"more", {3.5, "x"}}}};
  whole["tail"] = inner["nested"];
  CHECK(out.str() == whole.dump(2) + "\n");
}

TEST_CASE("audit and convert reports are the same whether their entries were spilled or kept in memory") {
  test::TempDir tmp;
  auto log = std::make_shared<MessageLog>();
  REQUIRE(log->open(tmp.path) == "");

  AuditReport a;
  a.tool_version = "t";
  a.users.resize(2);
  a.users[0].user = "fred";
  a.users[0].folders.resize(2);
  a.users[0].folders[0].name = "INBOX";
  for (std::uint32_t u = 1; u <= 50; ++u) a.users[0].folders[0].messages.push_back(sample(u));
  a.users[0].folders[1].name = "Empty";
  a.users[1].user = "zoe";  // no folders at all
  const std::string in_memory = audit_report_json(a);
  std::ostringstream text_before;
  write_audit_text(a, text_before);
  // Spill the first 30 and keep the last 20: the spans come first, then what is in memory.
  auto& f = a.users[0].folders[0];
  std::vector<AuditMessage> head(f.messages.begin(), f.messages.begin() + 30);
  f.messages.erase(f.messages.begin(), f.messages.begin() + 30);
  std::vector<AuditMessage> first(head.begin(), head.begin() + 10), second(head.begin() + 10, head.end());
  REQUIRE(log->spill(first, f.spilled));
  REQUIRE(log->spill(second, f.spilled));
  a.message_log = log;
  CHECK(audit_report_json(a) == in_memory);
  std::ostringstream text_after;
  write_audit_text(a, text_after);
  CHECK(text_after.str() == text_before.str());
  CHECK(nlohmann::json::parse(in_memory)["users"][0]["folders"][0]["messages"].size() == 50);

  ConvertReport c;
  c.tool_version = "t";
  ConvertUser cu;
  cu.user = "fred";
  ConvertFolder cf;
  cf.name = cf.name_raw = "user.fred";
  for (std::uint32_t u = 1; u <= 40; ++u) cf.messages.push_back(sample(u));
  cu.folders.push_back(cf);
  std::map<std::string, ConvertUser> by_user{{"fred", cu}};
  ConvertReport c_memory = c;
  add_users_and_totals(c_memory, by_user);
  const std::string convert_in_memory = convert_report_json(c_memory);
  std::ostringstream convert_text_before;
  write_convert_text(c_memory, convert_text_before);
  REQUIRE(log->spill(by_user["fred"].folders[0].messages, by_user["fred"].folders[0].spilled));
  c.message_log = log;
  add_users_and_totals(c, by_user);  // counts errors and warnings from the log
  CHECK(c.warnings == c_memory.warnings);
  CHECK(c.errors == c_memory.errors);
  CHECK(c.warnings > 0);
  CHECK(convert_report_json(c) == convert_in_memory);
  std::ostringstream convert_text_after;
  write_convert_text(c, convert_text_after);
  CHECK(convert_text_after.str() == convert_text_before.str());
  // A trailer's members come last (a shard's stamp).
  const nlohmann::ordered_json trailer{{"shard", {{"shard", 1}}}};
  std::ostringstream stamped;
  write_convert_report_json(c, stamped, &trailer);
  auto parsed = nlohmann::ordered_json::parse(stamped.str());
  CHECK(parsed.back() == trailer["shard"]);
}

TEST_CASE("audit: every folder's entries reach the report through the log, the same as without it") {
  test::TempDir tmp;
  fs::copy(test::fixtures_dir() / "cyrus36-default", tmp.path / "store", fs::copy_options::recursive);
  SourceInputs in;
  in.partitions.push_back({"default", tmp.path / "store" / "spool"});
  AuditOptions o;
  o.scratch_dir = tmp.path;
  AuditReport spilled = run_audit(in, o);
  REQUIRE(spilled.message_log);
  std::size_t spans = 0, pending = 0;
  for (const auto& u : spilled.users)
    for (const auto& f : u.folders) {
      spans += f.spilled.size();
      pending += f.messages.size();
    }
  CHECK(spans > 0);
  CHECK(pending == 0);
  o.scratch_dir = tmp.path / "no-such-dir";  // the log cannot open: entries stay in memory
  AuditReport kept = run_audit(in, o);
  REQUIRE(!kept.findings.empty());
  CHECK(kept.findings.back().kind == "report_in_memory");
  kept.findings.pop_back();
  --kept.warnings;
  --kept.fault_counts["report_in_memory"];
  if (kept.fault_counts["report_in_memory"] == 0) kept.fault_counts.erase("report_in_memory");
  spilled.seconds = kept.seconds = 0;
  CHECK(audit_report_json(spilled) == audit_report_json(kept));
}
