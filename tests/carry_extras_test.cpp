// Carried besides messages (converter/convert/carry_extras.h): ACL mapping, Sieve folder rewriting, the
// #sieve message format, maildirsize, and a convert of cyrus36-extras checked against the
// fixture's oracle-extras.json (what real Cyrus served over IMAP and ManageSieve).
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "converter/convert/carry_extras.h"
#include "converter/convert/convert.h"
#include "converter/source/source_io.h"
#include "parsers/sieve_mailbox.h"
#include "test_support.h"
#include "writers/dovecot_acl.h"
#include "writers/dovecot_special_use.h"
#include "writers/maildirsize.h"
#include "writers/sieve_export.h"

namespace fs = std::filesystem;
using namespace cyrconv;

namespace {

std::optional<std::string> upper(std::string_view s) {
  if (s == "nowhere") return std::nullopt;
  std::string o(s);
  for (auto& c : o) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return o;
}

fs::path extras() { return test::fixtures_dir() / "cyrus36-extras"; }

SourceInputs extras_inputs() {
  SourceInputs in;
  in.partitions.push_back({"default", extras() / "spool"});
  in.config_dir = extras() / "config";
  return in;
}

nlohmann::json oracle() { return nlohmann::json::parse(test::read_file(extras() / "oracle-extras.json")); }

}  // namespace

TEST_CASE("dovecot acl: Cyrus rights and identifiers map to Dovecot's") {
  auto e = map_cyrus_acl_entry("vera", "lrs", "ute");
  CHECK(e.identifier == "user=vera");
  CHECK(e.letters == "lrs");
  CHECK(e.names == std::vector<std::string>{"lookup", "read", "write-seen"});
  CHECK(e.unmapped.empty());

  e = map_cyrus_acl_entry("ute", "lrswipkxtecdan", "ute");  // the owner, every right
  CHECK(e.identifier == "owner");
  CHECK(e.letters == "lrwstipekxa");
  CHECK(e.unmapped == "n");

  // Legacy c and d alone stand for their RFC 4314 expansion.
  CHECK(map_cyrus_acl_entry("walter", "lrcd", "ute").letters == "lrtekx");
  CHECK(map_cyrus_acl_entry("-walter", "lr", "ute").identifier == "-user=walter");
  CHECK(map_cyrus_acl_entry("group:mail", "lrsp", "").identifier == "group=mail");
  CHECK(map_cyrus_acl_entry("anyone", "lr", "").identifier == "anyone");
  CHECK(map_cyrus_acl_entry("ute", "lr", "").identifier == "user=ute");  // shared folder: no owner
  CHECK_FALSE(map_cyrus_acl_entry("anonymous", "lr", "").identifier_ok);
  CHECK(map_cyrus_acl_entry("vera", "lr9z", "ute").unmapped == "9z");

  const std::string file = dovecot_acl_file({map_cyrus_acl_entry("ute", "lrswipkxtecda", "ute"),
                                             map_cyrus_acl_entry("-walter", "lr", "ute"),
                                             map_cyrus_acl_entry("anonymous", "lr", "ute"),
                                             map_cyrus_acl_entry("vera", "n", "ute")});
  CHECK(file == "owner lrwstipekxa\n-user=walter lr\n");
}

TEST_CASE("sieve rewrite: only fileinto and :fcc folder strings change") {
  const std::string s =
      "require [\"fileinto\", \"imap4flags\", \"vacation\", \"fcc\"];\n"
      "# fileinto \"comment\";\n"
      "/* fileinto \"block\"; */\n"
      "if header :contains \"Subject\" \"fileinto \\\"x\\\"\" {\n"
      "  fileinto :copy :flags [\"\\\\Seen\", \"a\"] \"Archiv\";\n"
      "  fileinto \"nowhere\";\n"
      "}\n"
      "vacation :fcc \"sent\" text:\n"
      "fileinto \"in text\";\n"
      "..dot\n"
      ".\n"
      ";\n";
  const auto r = rewrite_sieve_folders(s, upper);
  REQUIRE(r.safe);
  REQUIRE(r.rewrites.size() == 2);
  CHECK(r.rewrites[0].command == "fileinto");
  CHECK(r.rewrites[0].from == "Archiv");
  CHECK(r.rewrites[0].to == "ARCHIV");
  CHECK(r.rewrites[0].line == 5);
  CHECK(r.rewrites[1].command == "vacation :fcc");
  REQUIRE(r.unresolved.size() == 1);
  CHECK(r.unresolved[0].from == "nowhere");
  std::string expected = s;
  expected.replace(expected.find("\"Archiv\""), 8, "\"ARCHIV\"");
  expected.replace(expected.find("\"sent\""), 6, "\"SENT\"");
  CHECK(r.script == expected);

  // A quote or backslash in the new name is escaped.
  const auto q = rewrite_sieve_folders("fileinto \"a\";", [](std::string_view) { return std::string("x\"y\\z"); });
  CHECK(q.script == "fileinto \"x\\\"y\\\\z\";");

  for (const char* bad : {"fileinto \"open;", "fileinto [\"a\", \"b\"];", "fileinto \"a\"", "/* open", "fileinto @;"}) {
    CAPTURE(bad);
    const auto u = rewrite_sieve_folders(bad, upper);
    CHECK_FALSE(u.safe);
    CHECK(u.script == bad);
    CHECK(u.rewrites.empty());
  }
}

TEST_CASE("sieve folder names: mUTF-7 or UTF-8, '/' or '.', INBOX prefix") {
  const std::vector<std::pair<std::string, std::string>> f{
      {"INBOX", "INBOX"}, {"Büro", "Büro"}, {"Projekte/Intern", "Projekte/Intern"}, {"Alt.Name", "Alt_Name"}};
  CHECK(sieve_folder_target("B&APw-ro", f) == "Büro");
  CHECK(sieve_folder_target("Büro", f) == "Büro");
  CHECK(sieve_folder_target("Projekte.Intern", f) == "Projekte/Intern");
  CHECK(sieve_folder_target("INBOX/Projekte/Intern", f) == "Projekte/Intern");
  CHECK(sieve_folder_target("INBOX.Projekte.Intern", f) == "Projekte/Intern");
  CHECK(sieve_folder_target("inbox", f) == "INBOX");
  CHECK(sieve_folder_target("Alt.Name", f) == "Alt_Name");
  CHECK_FALSE(sieve_folder_target("Nirgends", f));
}

TEST_CASE("maildirsize and special-use snippet") {
  CHECK(maildirsize(20971520, 200, 100, 2) == "20971520S,200C\n100 2\n");
  CHECK(maildirsize(std::nullopt, 5, 0, 0) == "5C\n0 0\n");
  CHECK(maildirsize(1024, std::nullopt, 0, 0) == "1024S\n0 0\n");
  CHECK(dovecot_special_use_conf({{"Ge\"s", "\\Sent"}}) ==
        "# written by cyrconv: special-use roles carried from Cyrus (README \"What is carried\")\n"
        "namespace inbox {\n  mailbox \"Ge\\\"s\" {\n    special_use = \\Sent\n  }\n}\n");
}

TEST_CASE("sieve mailbox messages hold the scripts ManageSieve served") {
  const auto o = oracle();
  std::map<std::string, std::string> served;  // name -> content
  for (const auto& [user, u] : o["users"].items())
    for (const auto& s : u["sieve"]) served[s["name"]] = s["content"];
  std::map<std::string, std::string> found;
  for (const auto& e : fs::recursive_directory_iterator(extras() / "spool")) {
    if (!e.is_regular_file() || e.path().filename().string().back() != '.') continue;
    const std::string bytes = test::read_file(e.path());
    if (bytes.find("Content-Type: application/sieve") == std::string::npos) continue;
    auto m = parse_sieve_script_message(bytes, e.path().string());
    REQUIRE(m);
    found[m.value().name] = m.value().content;
  }
  CHECK(found == served);
  CHECK_FALSE(parse_sieve_script_message("Subject: x\r\nno end", "t"));
  CHECK_FALSE(parse_sieve_script_message("From: a\r\n\r\nbody", "t"));
}

TEST_CASE("convert cyrus36-extras: special-use, Sieve, ACLs and quota carried as Cyrus served them") {
  const auto o = oracle();
  test::TempDir tmp;
  ConvertOptions opt;
  opt.out = tmp.path / "out";
  opt.sync = SyncPolicy::none;
  opt.quiet = true;
  const ConvertReport r = run_convert(extras_inputs(), opt);
  CHECK(r.errors == 0);
  CHECK(r.totals.not_converted == 0);

  std::map<std::string, const ConvertUser*> users;
  for (const auto& u : r.users) users[u.user] = &u;
  for (const auto& [user, ou] : o["users"].items()) {
    CAPTURE(user);
    REQUIRE(users.count(user));
    const ConvertUser& cu = *users[user];
    // Special-use: every role LIST showed is in the report and in the snippet.
    std::map<std::string, std::string> roles;
    for (const auto& f : cu.folders)
      if (!f.special_use.empty()) roles[f.target] = f.special_use;
    const std::string conf = cu.extras.special_use_file.empty() ? "" : test::read_file(opt.out / cu.extras.special_use_file);
    for (const auto& l : ou["list"]) {
      const std::string folder = l["folder"];
      if (folder.rfind("Shared Folders/", 0) == 0 || folder.rfind("Other Users/", 0) == 0) continue;
      for (const auto& su : l["special_use"]) {
        CHECK(roles[folder] == su.get<std::string>());
        CHECK(conf.find("mailbox \"" + folder + "\" {\n    special_use = " + su.get<std::string>()) != std::string::npos);
      }
    }
    // Roles Cyrus held as annotations are reported as such.
    for (const auto& [raw, md] : ou["metadata"].items()) {
      if (!md.contains("/private/specialuse")) continue;
      bool found = false;
      for (const auto& f : cu.folders)
        if (f.target == raw || f.name_raw.ends_with("." + raw)) {
          found = true;
          CHECK(f.special_use_source == "annotation");
          CHECK(f.special_use == md["/private/specialuse"].get<std::string>());
        }
      CHECK(found);
    }
    // The #sieve mailbox is accounted for as scripts, not mail.
    for (const auto& f : cu.folders)
      if (f.name == "#sieve") {
        CHECK(f.action == "sieve_scripts");
        CHECK(f.count.written == f.count.messages);
      }
    // Sieve: each served script, with the reported rewrites undone, is the file written.
    CHECK(cu.extras.sieve.size() == ou["sieve"].size());
    for (const auto& s : ou["sieve"]) {
      const CarriedSieveScript* c = nullptr;
      for (const auto& x : cu.extras.sieve)
        if (x.name == s["name"]) c = &x;
      REQUIRE(c);
      CHECK(c->active == s["active"].get<bool>());
      std::string file = test::read_file(opt.out / c->file);
      for (const auto& w : c->rewrites) {
        const std::size_t a = w.find('"'), b = w.find("\" -> \"");
        const std::string from = w.substr(a + 1, b - a - 1);
        const std::string to = w.substr(b + 6, w.find('"', b + 6) - b - 6);
        // On the reported line (a comment may quote the same name).
        const std::size_t line = std::stoul(w.substr(w.rfind("(line ") + 6));
        std::size_t start = 0;
        for (std::size_t n = 1; n < line; ++n) start = file.find('\n', start) + 1;
        const std::size_t at = file.find("\"" + to + "\"", start);
        REQUIRE(at != std::string::npos);
        CHECK(at < file.find('\n', start));
        file.replace(at, to.size() + 2, "\"" + from + "\"");
      }
      CHECK(file == s["content"].get<std::string>());
      if (s["active"].get<bool>())
        CHECK(fs::read_symlink(opt.out / cu.output / ".dovecot.sieve") == fs::path("sieve") / (c->name + ".sieve"));
    }
    // Quota: the limits GETQUOTAROOT showed (STORAGE in KiB) are in maildirsize.
    for (const auto& [root, q] : ou["quota"].items()) {
      REQUIRE(cu.extras.quota.size() == 1);
      const CarriedQuota& cq = cu.extras.quota[0];
      CHECK(cq.storage_limit_kib == q["STORAGE"]["limit"].get<std::int64_t>());
      CHECK(cq.message_limit == q["MESSAGE"]["limit"].get<std::int64_t>());
      const std::string ms = test::read_file(opt.out / cq.file);
      CHECK(ms.rfind(std::to_string(q["STORAGE"]["limit"].get<std::int64_t>() * 1024) + "S," +
                         std::to_string(q["MESSAGE"]["limit"].get<std::int64_t>()) + "C\n",
                     0) == 0);
    }
    if (ou["quota"].empty()) CHECK(cu.extras.quota.empty());
  }
  // ACLs: every GETACL entry of every converted folder is in the report.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> acl_by_admin_name;
  for (const auto& u : r.users)
    for (const auto& f : u.folders) {
      std::string admin = u.user.empty() ? f.name : (f.name == "INBOX" ? "user/" + u.user : "user/" + u.user + "/" + f.name);
      for (const auto& a : f.acl) acl_by_admin_name[admin].push_back({a.identifier, a.rights});
    }
  for (const auto& f : o["folders"]) {
    const std::string name = f["admin_name_utf8"];
    if (name.find("#sieve") != std::string::npos) continue;
    CAPTURE(name);
    std::vector<std::pair<std::string, std::string>> want;
    for (const auto& e : f["getacl"]) want.push_back({e[0], e[1]});
    CHECK(acl_by_admin_name[name] == want);
  }

  // A second run leaves every carried file as it is; a foreign maildirsize is kept, reported.
  const fs::path ms = opt.out / "ute" / "Maildir" / "maildirsize";
  const std::string first = test::read_file(ms);
  std::ofstream(ms, std::ios::trunc) << "1S\n0 0\n";
  const ConvertReport again = run_convert(extras_inputs(), opt);
  CHECK(test::read_file(ms) == "1S\n0 0\n");
  std::vector<std::string> kept;  // only the foreign file: every other one is cyrconv's own
  for (const auto& u : again.users)
    for (const auto& f : u.findings)
      if (f.kind == "extras_file_kept") kept.push_back(f.file);
  CHECK(kept == std::vector<std::string>{ms.string()});
  CHECK(again.errors == 0);
  for (const auto& sc : o["users"]["ute"]["sieve"])
    if (sc["active"].get<bool>())
      CHECK(fs::read_symlink(opt.out / "ute" / ".dovecot.sieve") == fs::path("sieve") / (sc["name"].get<std::string>() + ".sieve"));
  CHECK(first != "1S\n0 0\n");
}

TEST_CASE("sieve rewrite: an identity map never changes a byte, whatever the input") {
  // Mutations (fixed seed) of a script using every token kind; unsafe or not, bytes must stay.
  const std::string base =
      "require [\"fileinto\"];\n# c \"x\"\n/* b */ if header :is \"a\" \"b\\\"\" { fileinto :flags [\"x\"] \"B&APw-ro\"; }\n"
      "vacation :days 7 :fcc \"S\" text:\n..x\n.\n;\n";
  const std::string alphabet = "\"\\#/*:;[]{}(),.\n\r tfileintox0123";
  std::uint32_t state = 12345;
  auto next = [&] { return state = state * 1664525u + 1013904223u; };
  auto same = [](std::string_view n) { return std::optional<std::string>(std::string(n)); };
  for (int i = 0; i < 3000; ++i) {
    std::string s = base;
    for (int k = 0, n = 1 + static_cast<int>(next() % 4); k < n; ++k) {
      const std::size_t at = next() % (s.size() + 1);
      switch (next() % 3) {
        case 0: s.insert(at, 1, alphabet[next() % alphabet.size()]); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = alphabet[next() % alphabet.size()];
      }
    }
    CAPTURE(s);
    const auto r = rewrite_sieve_folders(s, same);
    REQUIRE(r.script == s);
    REQUIRE(r.rewrites.empty());
  }
}
