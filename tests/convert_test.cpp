// convert on damaged spools derived from real Cyrus output (tools/damage): every message the index
// lists is written, repaired (original kept) or quarantined (with a reason), the accounting adds
// up, convert does exactly what audit said it would, and the source is left untouched.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>

#include <map>
#include <set>

#include "converter/audit/audit.h"
#include "converter/convert/convert.h"
#include "converter/verify/verify.h"
#include "tests/test_support.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

SourceInputs spool_only(const fs::path& spool) {
  SourceInputs in;
  in.partitions.emplace_back("default", spool);
  return in;
}

// Path, size, mtime and SHA-1 of every file below `root`: the source must not change at all.
std::map<std::string, std::string> tree_state(const fs::path& root) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    const std::string bytes = test::read_file(e.path());
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha1(), nullptr);
    std::string digest(reinterpret_cast<char*>(md), len);
    out[e.path().string()] = digest + "/" + std::to_string(bytes.size()) + "/" +
                             std::to_string(fs::last_write_time(e.path()).time_since_epoch().count());
  }
  return out;
}

std::size_t files_in(const fs::path& dir) {
  std::size_t n = 0;
  if (fs::exists(dir))
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

void check_accounting(const ConvertReport& r) {
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      CAPTURE(f.name_raw);
      const auto& c = f.count;
      CHECK(c.orphans == c.orphans_recovered + c.orphans_quarantined);
      if (f.action == "recover_orphans" || f.action == "deleted") continue;
      CHECK(c.messages ==
            c.written + c.repaired + c.quarantined + c.missing + c.not_converted + c.earlier + f.skipped_deleted);
    }
}

}  // namespace

TEST_CASE("convert: every damaged spool is converted as audit predicted, nothing lost, source untouched") {
  test::TempDir tmp;
  const auto manifest = nlohmann::json::parse(test::make_damaged_spools(tmp.path / "damaged", "--minimal"));
  REQUIRE(manifest["cases"].size() >= 20);

  for (const auto& c : manifest["cases"]) {
    const std::string cls = c["class"];
    CAPTURE(cls);
    const fs::path spool = tmp.path / "damaged" / std::string(c["spool"]);
    const auto before = tree_state(spool);
    const AuditReport audit = run_audit(spool_only(spool), AuditOptions{});

    for (const auto format : {OutputFormat::maildir, OutputFormat::mbox}) {
      ConvertOptions opt;
      opt.format = format;
      opt.out = tmp.path / ("out-" + cls + (format == OutputFormat::mbox ? "-mbox" : "-maildir"));
      opt.sync = SyncPolicy::none;
      const ConvertReport r = run_convert(spool_only(spool), opt);
      check_accounting(r);
      // convert did what audit said it would.
      CHECK(r.totals.messages == audit.totals.messages);
      CHECK(r.totals.written == audit.totals.written);
      CHECK(r.totals.repaired == audit.totals.repaired);
      CHECK(r.totals.quarantined == audit.totals.quarantined);
      CHECK(r.totals.missing == audit.totals.missing);
      CHECK(r.totals.orphans_recovered == audit.totals.orphans_recovered);
      CHECK(r.totals.not_converted == 0);
      // Originals of repaired and quarantined messages are kept, each with its reason.
      std::size_t kept = 0;
      for (const auto& u : r.users) kept += files_in(opt.out / u.output / "quarantine");
      CHECK(kept == 2 * (r.totals.repaired + r.totals.quarantined));
      if (format == OutputFormat::maildir) {
        std::size_t written = 0;
        for (const auto& u : r.users)
          for (const auto& f : u.folders)
            if (!f.output.empty() && f.action != "export_calendar" && f.action != "export_addressbook")
              written += files_in(opt.out / f.output / "cur");
        CHECK(written == r.totals.written + r.totals.repaired + r.totals.orphans_recovered);
      }
    }
    CHECK(tree_state(spool) == before);
  }
}

TEST_CASE("convert --on-corrupt=fail stops only the damaged folder, quarantine keeps repairs out") {
  test::TempDir tmp;
  (void)test::make_damaged_spools(tmp.path / "damaged", "--only size_mismatch --only bare_lf");
  const fs::path spool = tmp.path / "damaged" / "size_mismatch" / "spool";

  ConvertOptions opt;
  opt.out = tmp.path / "fail";
  opt.on_corrupt = OnCorrupt::fail;
  opt.sync = SyncPolicy::none;
  ConvertReport r = run_convert(spool_only(spool), opt);
  check_accounting(r);
  std::size_t failed = 0, converted = 0;
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      if (f.failed) {
        ++failed;
        CHECK(f.count.not_converted >= 1);
        CHECK(f.fail_reason.find("UID") != std::string::npos);
      } else if (f.count.written) {
        ++converted;
      }
    }
  CHECK(failed >= 1);
  CHECK(converted > 10);  // the other folders went on

  // With --on-corrupt=quarantine a message that repair would fix is left out instead.
  const fs::path lf_spool = tmp.path / "damaged" / "bare_lf" / "spool";
  ConvertOptions q;
  q.out = tmp.path / "quarantine";
  q.on_corrupt = OnCorrupt::quarantine;
  q.sync = SyncPolicy::none;
  ConvertReport rq = run_convert(spool_only(lf_spool), q);
  check_accounting(rq);
  CHECK(rq.totals.repaired == 0);
  CHECK(rq.totals.quarantined >= 1);
}

TEST_CASE("convert re-run on the same snapshot changes nothing, and mail delivered since stays") {
  test::TempDir tmp;
  ConvertOptions opt;
  opt.out = tmp.path / "out";
  opt.sync = SyncPolicy::none;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  ConvertReport first = run_convert(spool_only(spool), opt);
  CHECK(first.totals.written > 0);
  // Mail delivered to the new store after cutover sits beside the converted messages.
  const fs::path cur = opt.out / "carl" / "Maildir" / "cur";
  REQUIRE(fs::exists(cur));
  { std::ofstream(cur / "1700000000.delivered-later.host:2,") << "Subject: new\r\n\r\nhello\r\n"; }
  const auto before = tree_state(opt.out);
  ConvertReport second = run_convert(spool_only(spool), opt);
  check_accounting(second);
  // Everything was converted by the first run: nothing is written again, nothing lost.
  CHECK(second.totals.written == 0);
  CHECK(second.totals.not_converted == 0);
  CHECK(second.totals.earlier == first.totals.written + first.totals.repaired + first.totals.quarantined);
  for (const auto& u : second.users)
    for (const auto& f : u.folders)
      if (f.action == "mail_folder") CHECK(f.run == "incremental");
  // Every file that was there is still there, unchanged (rename-map.tsv is rewritten alike).
  const auto after = tree_state(opt.out);
  for (const auto& [path, state] : before) {
    CAPTURE(path);
    REQUIRE(after.count(path));
    CHECK(after.at(path) == state);
  }
  CHECK(after.size() == before.size());
}

TEST_CASE("convert --gzip: every mbox folder file decompresses to exactly the uncompressed output") {
  test::TempDir tmp;
  const fs::path spool = test::fixtures_dir() / "cyrus36-legacy" / "spool";
  ConvertOptions plain;
  plain.format = OutputFormat::mbox;
  plain.out = tmp.path / "plain";
  plain.sync = SyncPolicy::none;
  ConvertOptions gz = plain;
  gz.out = tmp.path / "gz";
  gz.gzip = true;
  const ConvertReport a = run_convert(spool_only(spool), plain);
  const ConvertReport b = run_convert(spool_only(spool), gz);
  CHECK(a.totals.written == b.totals.written);
  std::size_t compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(plain.out)) {
    const fs::path rel = e.path().lexically_relative(plain.out);
    if (!e.is_regular_file() || rel.string().find("/mail/") == std::string::npos ||
        rel.filename().string().front() == '.')
      continue;
    const fs::path zipped = gz.out / (rel.string() + ".gz");
    REQUIRE_MESSAGE(fs::exists(zipped), zipped.string());
    std::ifstream in(zipped, std::ios::binary);
    boost::iostreams::filtering_istream unzip;
    unzip.push(boost::iostreams::gzip_decompressor());
    unzip.push(in);
    std::ostringstream got;
    boost::iostreams::copy(unzip, got);
    CHECK(got.str() == test::read_file(e.path()));
    CHECK_FALSE(fs::exists(gz.out / rel));  // no uncompressed copy left behind
    ++compared;
  }
  CHECK(compared >= 5);
}

TEST_CASE("convert: a recovered orphan that needs a repair is repaired, its original kept, and verify agrees") {
  test::TempDir tmp;
  const auto manifest =
      nlohmann::json::parse(test::make_damaged_spools(tmp.path / "damaged", "--minimal --only orphan_message_file"));
  const auto& c = manifest["cases"][0];
  const fs::path spool = tmp.path / "damaged" / std::string(c["spool"]);
  const fs::path orphan =
      spool / std::string(c["directory"]) / (std::to_string(c["expect"][0]["uid"].get<unsigned>()) + ".");
  REQUIRE(fs::exists(orphan));
  { std::ofstream(orphan, std::ios::binary | std::ios::trunc) << "From: a@b\nSubject: bare LF\n\nbody\n"; }

  ConvertOptions opt;
  opt.out = tmp.path / "out";
  opt.crlf = true;  // bare LF needs a repair in CRLF output
  opt.sync = SyncPolicy::none;
  const ConvertReport r = run_convert(spool_only(spool), opt);
  check_accounting(r);
  CHECK(r.totals.orphans == 1);
  CHECK(r.totals.orphans_recovered == 1);
  bool repaired = false;
  for (const auto& u : r.users)
    for (const auto& f : u.folders)
      if (f.action == "recover_orphans")
        for (const auto& m : test::entries(r, f)) repaired = repaired || (m.action == MessageAction::repair && !m.changes.empty());
  CHECK(repaired);

  VerifyOptions v;
  v.out = opt.out;
  v.crlf = true;
  const VerifyReport vr = run_verify(spool_only(spool), v);
  CHECK(vr.clean());
  CHECK(vr.totals.verified == vr.totals.messages);
}

TEST_CASE("convert never merges into a Maildir folder another program created: a sibling folder takes the mail") {
  test::TempDir tmp;
  const fs::path maildir = tmp.path / "out" / "carl" / "Maildir";
  fs::create_directories(maildir / "cur");
  { std::ofstream(maildir / "dovecot-uidlist") << "3 V42 N2\n1 :1700000000.delivered.host\n"; }
  { std::ofstream(maildir / "cur" / "1700000000.delivered.host:2,S") << "Subject: x\n\nhello\n"; }
  { std::ofstream(maildir / "subscriptions") << "Sent\n"; }
  const auto before = tree_state(maildir);
  ConvertOptions opt;
  opt.out = tmp.path / "out";
  opt.sync = SyncPolicy::none;
  const ConvertReport r = run_convert(spool_only(test::fixtures_dir() / "cyrus36-legacy" / "spool"), opt);
  check_accounting(r);
  CHECK(r.totals.not_converted == 0);
  // What was there is unchanged, except that the subscriptions gained the converted ones.
  const auto after = tree_state(maildir);
  for (const auto& [path, state] : before) {
    CAPTURE(path);
    REQUIRE(after.count(path));
    if (path.find("subscriptions") == std::string::npos) CHECK(after.at(path) == state);
  }
  CHECK(test::read_file(maildir / "subscriptions").find("Sent\n") != std::string::npos);
  bool moved = false;
  std::string sibling;
  for (const auto& u : r.users)
    if (u.user == "carl")
      for (const auto& f : u.folders)
        for (const auto& fd : f.findings)
          if (fd.kind == "target_not_ours") {
            moved = true;
            sibling = f.output;
            CHECK(f.target.rfind("INBOX-uv", 0) == 0);
            CHECK(f.count.written + f.count.repaired == f.count.messages);
          }
  CHECK(moved);
  CHECK(fs::exists(tmp.path / "out" / sibling / "cur"));
  CHECK(fs::exists(tmp.path / "out" / sibling / "maildirfolder"));
}
