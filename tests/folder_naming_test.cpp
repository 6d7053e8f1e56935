// Folder naming: tricky names per profile, every folder of the real fixtures, determinism.
#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "converter/plan/folder_naming.h"
#include "converter/plan/rename_map.h"
#include "test_support.h"

using namespace cyrconv;

namespace {

FolderNameInput mail(std::string internal, std::optional<std::string> su = std::nullopt) {
  return folder_name_input(parse_internal_name(internal), MailboxKind::email, std::move(su));
}
FolderNameInput dav(std::string internal, MailboxKind k) { return folder_name_input(parse_internal_name(internal), k); }

const FolderNameResult& find(const NamingOutcome& o, std::string_view internal) {
  for (const auto& f : o.folders)
    if (f.internal_name == internal) return f;
  FAIL("no result for " << internal);
  throw 0;
}

// Nothing may escape the output root or hide from a directory listing.
void check_path_safe(std::string_view p) {
  CHECK(p.find('\0') == std::string_view::npos);
  for (char c : p) CHECK(static_cast<unsigned char>(c) >= 0x20);
  CHECK((p.empty() || p[0] != '/'));
  std::size_t start = 0;
  while (start <= p.size() && !p.empty()) {
    std::size_t at = p.find('/', start);
    std::string_view seg = p.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start);
    CHECK(!seg.empty());
    CHECK(seg != ".");
    CHECK(seg != "..");
    CHECK(seg.size() <= 255);
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
}

// Every invariant a result set must hold for its profile.
void check_outcome(const NamingOutcome& o, NamingProfile p) {
  CHECK(o.errors.empty());
  std::set<std::string> paths, mdirs, fss, mboxes, exports;
  const bool ci = p != NamingProfile::dovecot;
  auto key = [&](const std::string& s) { return ci ? fold_case(s) : s; };
  for (const auto& f : o.folders) {
    if (f.action == FolderAction::skip) continue;
    INFO(f.internal_name << " -> " << f.path);
    CHECK(!f.levels.empty());
    for (const auto& l : f.levels) {
      CHECK(!l.empty());
      CHECK(l != ".");
      CHECK(l != "..");
      CHECK(l.find('/') == std::string::npos);
      for (char c : l) CHECK((static_cast<unsigned char>(c) >= 0x20 && c != 0x7F));
      if (p == NamingProfile::zimbra) {
        CHECK(l.find(':') == std::string::npos);
        CHECK(l.find('"') == std::string::npos);
        CHECK(l.back() != ' ');
      }
    }
    if (f.action == FolderAction::mail_folder || p == NamingProfile::zimbra)
      CHECK(paths.insert(key(f.path)).second);
    if (f.action == FolderAction::mail_folder) {
      if (!f.maildirpp.empty()) {
        CHECK(f.maildirpp[0] == '.');
        CHECK(f.maildirpp.size() <= 255);
        CHECK(f.maildirpp.find('/') == std::string::npos);
        CHECK(mdirs.insert(key(f.maildirpp)).second);
      }
      check_path_safe(f.fs_path);
      check_path_safe(f.mbox_path);
      if (!f.fs_path.empty()) CHECK(fss.insert(key(f.fs_path)).second);
      CHECK(mboxes.insert(key(f.mbox_path)).second);
    } else {
      check_path_safe(f.export_file);
      CHECK(exports.insert(fold_case(f.export_file)).second);
    }
  }
  // An mbox folder file never equals the directory of another folder's children.
  for (const auto& m : mboxes) CHECK(!mboxes.count(m + ".sbd"));
}

std::vector<FolderNameInput> tricky() {
  std::vector<FolderNameInput> v = {
      mail("user.fred"),
      mail("user.fred.Projekt^Alt"),         // '.' inside a level
      mail("user.fred.Projekt^Alt.Sub^Dir"),
      mail("user.fred.Projekt.Alt"),         // the same letters as hierarchy
      mail("user.fred.Tom &- Jerry"),
      mail("user.fred.~home"),
      mail("user.fred.^^"),                  // ".." as a level
      mail("user.fred.^"),                   // "." as a level
      mail("user.fred.back\\slash"),
      mail(std::string("user.fred.ctl\x01x")),  // control character (invalid mUTF-7 too)
      mail("user.fred.News"), mail("user.fred.news"), mail("user.fred.NEWS"),
      mail("user.fred.News.Sub"), mail("user.fred.news.Sub"),
      mail("user.fred.Calendar"), mail("user.fred.Contacts"),
      mail("user.fred.Sent"), mail("user.fred.Trash"), mail("user.fred.Drafts"), mail("user.fred.Junk"),
      mail("user.fred.&Jjo"),                // invalid modified UTF-7
      mail("user.fred.&-Jjo"),               // ... equal to its literal text: collides
      mail("user.fred.a:b\"c"),
      mail("user.fred.trailing  "),
      mail("user.fred.trailing"),
      mail("user.fred.new"), mail("user.fred.cur"),
      mail("user.fred.X^sbd"), mail("user.fred.X"), mail("user.fred.X.child"),
      mail("user.fred.INBOX.Unterordner"),
      mail("user.fred.deep.a.b"),            // parents missing in the store
      mail("user.fred." + std::string(300, 'L')),
      mail("user.fred." + std::string(300, 'L') + "x"),
      mail("user.fred.&AMQ-rger &- &ANY-lpreis"),
      mail("user.fred.&AMQ-RGER"), mail("user.fred.&AOQ-rger"),  // Ärger / ärger only differ in case
      mail("user.fred.Arbeit"),
      dav("user.fred.#calendars", MailboxKind::calendar),
      dav("user.fred.#calendars.Default", MailboxKind::calendar),
      dav("user.fred.#calendars.Arbeit", MailboxKind::calendar),
      dav("user.fred.#calendars.arbeit", MailboxKind::calendar),
      dav("user.fred.#calendars.Inbox", MailboxKind::calendar),
      dav("user.fred.#calendars.Outbox", MailboxKind::calendar),
      dav("user.fred.#calendars.Attachments", MailboxKind::collection),
      dav("user.fred.#addressbooks", MailboxKind::addressbook),
      dav("user.fred.#addressbooks.Default", MailboxKind::addressbook),
      dav("user.fred.#notifications", MailboxKind::collection),
  };
  return v;
}

}  // namespace

TEST_CASE("folder naming: dovecot escaping is what Dovecot 2.3 with listescape reads back") {
  CHECK(dovecot_storage_level("Projekt.Alt", true) == "Projekt\\2eAlt");
  CHECK(dovecot_storage_level("Projekt.Alt", false) == "Projekt.Alt");
  CHECK(dovecot_storage_level("~tilde~", true) == "\\7etilde~");
  CHECK(dovecot_storage_level("back\\slash", true) == "back\\5cslash");
  CHECK(dovecot_storage_level("Entw\xC3\xBCrfe", true) == "Entw&APw-rfe");
  CHECK(dovecot_storage_level("Tom & Jerry", true) == "Tom &- Jerry");
}

TEST_CASE("folder naming: tricky names, dovecot") {
  const auto o = name_folders(tricky(), NamingProfile::dovecot);
  check_outcome(o, NamingProfile::dovecot);
  CHECK(find(o, "user.fred").maildirpp == "");
  CHECK(find(o, "user.fred").path == "INBOX");
  CHECK(find(o, "user.fred.Projekt^Alt").maildirpp == ".Projekt\\2eAlt");
  CHECK(find(o, "user.fred.Projekt^Alt.Sub^Dir").maildirpp == ".Projekt\\2eAlt.Sub\\2eDir");
  CHECK(find(o, "user.fred.Projekt^Alt.Sub^Dir").fs_path == "Projekt.Alt/Sub.Dir");
  CHECK_FALSE(find(o, "user.fred.Projekt^Alt.Sub^Dir").renamed);
  CHECK(find(o, "user.fred.Projekt.Alt").maildirpp == ".Projekt.Alt");
  CHECK(find(o, "user.fred.Tom &- Jerry").maildirpp == ".Tom &- Jerry");
  CHECK(find(o, "user.fred.~home").maildirpp == ".\\7ehome");
  CHECK_FALSE(find(o, "user.fred.~home").renamed);
  CHECK(find(o, "user.fred.^^").path == "_..");
  CHECK(find(o, "user.fred.^").path == "_.");
  CHECK(find(o, "user.fred.^^").renamed);
  // Case only: dovecot keeps all three.
  CHECK(find(o, "user.fred.news").path == "news");
  CHECK(find(o, "user.fred.NEWS").path == "NEWS");
  // Special-use: names kept, role recorded.
  CHECK(find(o, "user.fred.Sent").path == "Sent");
  CHECK(find(o, "user.fred.Sent").special_use == "\\Sent");
  CHECK(find(o, "user.fred.Junk").special_use == "\\Junk");
  CHECK(find(o, "user.fred.Calendar").path == "Calendar");
  // Invalid mUTF-7: its text, as Dovecot shows such a directory; the literal twin then collides.
  const auto& bad = find(o, "user.fred.&Jjo");
  // "user.fred.&-Jjo" sorts first and keeps the text "&Jjo"; the invalid name gets the suffix.
  CHECK(bad.path == "&Jjo (2)");
  CHECK(bad.maildirpp == ".&-Jjo (2)");
  CHECK(bad.renamed);
  CHECK(std::count(bad.reasons.begin(), bad.reasons.end(), RenameReason::invalid_mutf7) == 1);
  const auto& twin = find(o, "user.fred.&-Jjo");
  CHECK(twin.path == "&Jjo");
  CHECK(twin.maildirpp == ".&-Jjo");  // what Dovecot lists as "&-Jjo"
  CHECK(find(o, "user.fred.ctl\x01x").path == "ctl_x");
  CHECK(find(o, "user.fred.new").path == "new (2)");
  CHECK(find(o, "user.fred.cur").path == "cur (2)");
  // mbox: X's children live in X.sbd/, so a folder named X.sbd must move.
  CHECK(find(o, "user.fred.X").mbox_path == "X");
  CHECK(find(o, "user.fred.X.child").mbox_path == "X.sbd/child");
  CHECK(find(o, "user.fred.X^sbd").path == "X.sbd (2)");
  CHECK(find(o, "user.fred.INBOX.Unterordner").maildirpp == ".INBOX.Unterordner");
  CHECK(find(o, "user.fred.INBOX.Unterordner").path == "INBOX/Unterordner");
  CHECK(find(o, "user.fred.deep.a.b").maildirpp == ".deep.a.b");
  const auto& longer = find(o, "user.fred." + std::string(300, 'L'));
  CHECK(longer.path.size() == 250);
  CHECK(find(o, "user.fred." + std::string(300, 'L') + "x").path.size() <= 250);
  // Calendars and addressbooks: export files; containers and scheduling boxes skipped.
  CHECK(find(o, "user.fred.#calendars.Default").export_file == "calendars/Default.ics");
  CHECK(find(o, "user.fred.#calendars.Arbeit").export_file == "calendars/Arbeit.ics");
  CHECK(find(o, "user.fred.#calendars.arbeit").export_file == "calendars/arbeit (2).ics");
  CHECK(find(o, "user.fred.#addressbooks.Default").export_file == "addressbooks/Default.vcf");
  CHECK(find(o, "user.fred.#calendars").action == FolderAction::skip);
  CHECK(find(o, "user.fred.#calendars.Inbox").action == FolderAction::skip);
  CHECK(find(o, "user.fred.#calendars.Attachments").action == FolderAction::skip);
  CHECK(find(o, "user.fred.#notifications").action == FolderAction::skip);
}

TEST_CASE("folder naming: tricky names, zimbra") {
  auto in = tricky();
  in.push_back(mail("user.fred.Gesendete Objekte", "\\Sent"));
  in.push_back(mail("user.fred.Gesendete Objekte.2020"));
  const auto o = name_folders(in, NamingProfile::zimbra);
  check_outcome(o, NamingProfile::zimbra);
  CHECK(find(o, "user.fred").path == "Inbox");
  CHECK_FALSE(find(o, "user.fred").renamed);
  CHECK(find(o, "user.fred.INBOX.Unterordner").path == "Inbox/Unterordner");
  // The annotated folder becomes Zimbra's Sent; the one merely named Sent must move.
  CHECK(find(o, "user.fred.Gesendete Objekte").path == "Sent");
  CHECK(find(o, "user.fred.Gesendete Objekte").special_use == "\\Sent");
  CHECK(find(o, "user.fred.Gesendete Objekte.2020").path == "Sent/2020");
  CHECK(find(o, "user.fred.Sent").path == "Sent (2)");
  CHECK(find(o, "user.fred.Trash").path == "Trash");
  CHECK_FALSE(find(o, "user.fred.Trash").renamed);
  // Mail folders named like system folders move; the default collections become them.
  CHECK(find(o, "user.fred.Calendar").path == "Calendar (2)");
  CHECK(find(o, "user.fred.Calendar").reasons == std::vector<RenameReason>{RenameReason::system_folder});
  CHECK(find(o, "user.fred.Contacts").path == "Contacts (2)");
  CHECK(find(o, "user.fred.#calendars.Default").path == "Calendar");
  CHECK(find(o, "user.fred.#addressbooks.Default").path == "Contacts");
  // One namespace: the calendar Arbeit loses against the mail folder Arbeit.
  CHECK(find(o, "user.fred.Arbeit").path == "Arbeit");
  CHECK(find(o, "user.fred.#calendars.Arbeit").path == "Arbeit (2)");
  CHECK(find(o, "user.fred.#calendars.arbeit").path == "arbeit (3)");
  // Case: first by raw name keeps it; children follow their renamed parent.
  CHECK(find(o, "user.fred.NEWS").path == "NEWS");
  CHECK(find(o, "user.fred.News").path == "News (2)");
  CHECK(find(o, "user.fred.news").path == "news (3)");
  CHECK(find(o, "user.fred.News.Sub").path == "News (2)/Sub");
  CHECK(find(o, "user.fred.News.Sub").renamed);
  CHECK(find(o, "user.fred.&AOQ-rger").path == "\xC3\xA4rger (2)");
  CHECK(find(o, "user.fred.a:b\"c").path == "a_b_c");
  CHECK(find(o, "user.fred.trailing  ").path == "trailing (2)");
  CHECK(find(o, "user.fred.new").path == "new");  // only Dovecot's fs layout reserves it
  for (const auto& f : o.folders) {
    std::size_t units = 0;
    for (unsigned char c : f.path) units += (c & 0xC0) != 0x80;
    (void)units;
  }
  CHECK(find(o, "user.fred." + std::string(300, 'L')).levels.back().size() == 250);
}

TEST_CASE("folder naming: tricky names, generic folds case") {
  const auto o = name_folders(tricky(), NamingProfile::generic);
  check_outcome(o, NamingProfile::generic);
  CHECK(find(o, "user.fred.NEWS").path == "NEWS");
  CHECK(find(o, "user.fred.News").path == "News (2)");
  CHECK(find(o, "user.fred.Calendar").path == "Calendar");
  CHECK(find(o, "user.fred.Sent").special_use == "\\Sent");
}

TEST_CASE("folder naming: the same result twice and in any input order") {
  for (auto p : {NamingProfile::dovecot, NamingProfile::zimbra, NamingProfile::generic}) {
    auto in = tricky();
    const auto a = name_folders(in, p);
    std::mt19937 rng(42);
    for (int round = 0; round < 5; ++round) {
      std::shuffle(in.begin(), in.end(), rng);
      const auto b = name_folders(in, p);
      REQUIRE(a.folders.size() == b.folders.size());
      for (std::size_t i = 0; i < a.folders.size(); ++i) {
        CHECK(a.folders[i].internal_name == b.folders[i].internal_name);
        CHECK(a.folders[i].path == b.folders[i].path);
        CHECK(a.folders[i].maildirpp == b.folders[i].maildirpp);
        CHECK(a.folders[i].mbox_path == b.folders[i].mbox_path);
        CHECK(a.folders[i].export_file == b.folders[i].export_file);
      }
      CHECK(format_rename_map_lines("fred", p, a) == format_rename_map_lines("fred", p, b));
    }
  }
}

TEST_CASE("folder naming: overrides apply first, colliding overrides are refused") {
  std::vector<FolderNameInput> in = {mail("user.fred"), mail("user.fred.A"), mail("user.fred.B"), mail("user.fred.B.kid")};
  auto o = name_folders(in, NamingProfile::dovecot, {{"user.fred.B", "A"}});
  CHECK(o.errors.empty());
  CHECK(find(o, "user.fred.B").path == "A");
  CHECK(find(o, "user.fred.B.kid").path == "A/kid");
  CHECK(find(o, "user.fred.A").path == "A (2)");
  auto bad = name_folders(in, NamingProfile::zimbra, {{"user.fred.A", "x"}, {"user.fred.B", "X"}});
  REQUIRE(bad.errors.size() == 1);
  CHECK(bad.errors[0].find("user.fred.A") != std::string::npos);
  CHECK(bad.errors[0].find("user.fred.B") != std::string::npos);
  auto invalid = name_folders(in, NamingProfile::zimbra, {{"user.fred.A", "a:b"}});
  CHECK(invalid.errors.size() == 1);
  auto dots = name_folders(in, NamingProfile::dovecot, {{"user.fred.A", "../etc"}});
  CHECK(dots.errors.size() == 1);
}

TEST_CASE("rename map: write, read back, refuse collisions naming both lines") {
  const auto o = name_folders(tricky(), NamingProfile::zimbra);
  const std::string text = format_rename_map_header() + format_rename_map_lines("fred", NamingProfile::zimbra, o);
  auto m = parse_rename_map(text, "map.tsv");
  REQUIRE(m.ok());
  CHECK(!m.value().entries.empty());
  CHECK(check_rename_map(m.value(), NamingProfile::zimbra).empty());
  // Reading it back as overrides gives the same names.
  const auto again = name_folders(tricky(), NamingProfile::zimbra, overrides_for(m.value(), "fred", NamingProfile::zimbra));
  CHECK(again.errors.empty());
  for (std::size_t i = 0; i < o.folders.size(); ++i) CHECK(o.folders[i].path == again.folders[i].path);

  auto clash = parse_rename_map("fred\tzimbra\tuser.fred.a\tSame\nfred\tzimbra\tuser.fred.b\tsame\nbob\tzimbra\tuser.bob.a\tsame\n", "m");
  REQUIRE(clash.ok());
  auto errs = check_rename_map(clash.value(), NamingProfile::zimbra);
  REQUIRE(errs.size() == 1);
  CHECK(errs[0].find("line 1") != std::string::npos);
  CHECK(errs[0].find("line 2") != std::string::npos);
  CHECK(check_rename_map(clash.value(), NamingProfile::dovecot).empty());  // other profile: ignored
  auto esc = parse_rename_map("fred\tdovecot\tuser.fred.a\ta.b\nfred\tdovecot\tuser.fred.b\ta.b\n", "m");
  REQUIRE(esc.ok());
  CHECK(check_rename_map(esc.value(), NamingProfile::dovecot).size() == 1);
  auto dup = parse_rename_map("fred\tdovecot\tuser.fred.a\tx\nfred\tdovecot\tuser.fred.a\ty\n", "m");
  CHECK(check_rename_map(dup.value(), NamingProfile::dovecot).size() == 1);
  CHECK_FALSE(parse_rename_map("fred\tnope\tuser.fred.a\tx\n", "m").ok());
  CHECK_FALSE(parse_rename_map("fred\tdovecot\tuser.fred.a\n", "m").ok());
  auto tabs = parse_rename_map("f\\tx\tdovecot\tuser.a\\\\b\tt\n", "m");
  REQUIRE(tabs.ok());
  CHECK(tabs.value().entries[0].user == "f\tx");
  CHECK(tabs.value().entries[0].internal_name == "user.a\\b");
}

TEST_CASE("folder naming: every folder of the real fixtures, every profile") {
  for (const char* fx : {"cyrus36-default", "cyrus36-legacy", "cyrus36-oldindex"}) {
    const std::string text = test::read_file(test::fixtures_dir() / fx / "oracle-folders.jsonl");
    std::map<std::string, std::vector<FolderNameInput>> users;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      const auto j = nlohmann::json::parse(text.substr(pos, end - pos));
      pos = end + 1;
      const std::string kind = j["kind"];
      if (kind == "deleted" || kind == "tombstone" || kind == "shared" || kind == "nonexistent" || kind == "noselect")
        continue;
      const MailboxName n = parse_internal_name(j["internal_name"].get<std::string>());
      const MailboxKind k = kind == "calendar" ? MailboxKind::calendar
                            : kind == "addressbook" ? MailboxKind::addressbook
                            : kind == "collection" ? MailboxKind::collection : MailboxKind::email;
      users[j["user"].get<std::string>()].push_back(folder_name_input(n, k));
    }
    for (auto p : {NamingProfile::dovecot, NamingProfile::zimbra, NamingProfile::generic}) {
      for (const auto& [user, in] : users) {
        INFO(fx << " " << user << " " << to_string(p));
        const auto o = name_folders(in, p);
        check_outcome(o, p);
        CHECK(o.folders.size() == in.size());
        const auto o2 = name_folders(in, p);
        for (std::size_t i = 0; i < o.folders.size(); ++i) CHECK(o.folders[i].path == o2.folders[i].path);
        if (std::string(fx) == "cyrus36-default" && user == "alice") {
          if (p == NamingProfile::dovecot) {
            CHECK(find(o, "user.alice.Archiv.Entw&APw-rfe").maildirpp == ".Archiv.Entw&APw-rfe");
            CHECK(find(o, "user.alice.Projekt^Alt.Sub^Dir").maildirpp == ".Projekt\\2eAlt.Sub\\2eDir");
            CHECK(find(o, "user.alice.INBOX.Unterordner").maildirpp == ".INBOX.Unterordner");
            CHECK(find(o, "user.alice.&ZeVnLIqe-.&MOEw,DDr-").path == "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E/\xE3\x83\xA1\xE3\x83\xBC\xE3\x83\xAB");
            for (const auto& f : o.folders)
              if (f.action == FolderAction::mail_folder) CHECK_FALSE(f.renamed);
          }
          if (p == NamingProfile::zimbra) {
            CHECK(find(o, "user.alice.Calendar").path == "Calendar (2)");
            CHECK(find(o, "user.alice.#calendars.Default").path == "Calendar");
            CHECK(find(o, "user.alice.#calendars.Arbeit").path == "Arbeit");
            CHECK(find(o, "user.alice.Sent").path == "Sent");
            CHECK(find(o, "user.alice.NEWS").path == "NEWS");
            CHECK(find(o, "user.alice.News").path == "News (2)");
            CHECK(find(o, "user.alice.news").path == "news (3)");
          }
        }
      }
    }
  }
}

TEST_CASE("folder naming: zimbra spells out characters beyond the BMP (MySQL utf8 holds 3 bytes), dovecot keeps them") {
  std::vector<FolderNameInput> in = {mail("user.fred"), mail("user.fred.&2D3c5w- Mail"),
                                     mail("user.fred.emoji &2Dzfidg834k- party"),
                                     mail("user.fred.emoji &2Dzfidg834k- party.Sub")};
  const auto z = name_folders(in, NamingProfile::zimbra);
  check_outcome(z, NamingProfile::zimbra);
  CHECK(find(z, "user.fred.&2D3c5w- Mail").path == "U+1F4E7 Mail");
  CHECK(find(z, "user.fred.&2D3c5w- Mail").reasons == std::vector<RenameReason>{RenameReason::outside_bmp});
  CHECK(find(z, "user.fred.emoji &2Dzfidg834k- party").path == "emoji U+1F389U+1F389 party");
  CHECK(find(z, "user.fred.emoji &2Dzfidg834k- party.Sub").path == "emoji U+1F389U+1F389 party/Sub");
  for (const auto& f : z.folders)
    for (unsigned char c : f.path) CHECK(c < 0xF0);  // no 4-byte UTF-8 sequence anywhere
  const auto d = name_folders(in, NamingProfile::dovecot);
  CHECK(find(d, "user.fred.&2D3c5w- Mail").path == "\xF0\x9F\x93\xA7 Mail");
  CHECK_FALSE(find(d, "user.fred.&2D3c5w- Mail").renamed);
}
