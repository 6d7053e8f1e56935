#include "converter/convert/keyword_commands.h"

#include <algorithm>
#include <set>

#include "converter/convert/journal.h"
#include "converter/convert/prior_output.h"
#include "writers/output_file.h"
#include "writers/shell_quote.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {
constexpr const char* script_name = "apply-keywords.sh";

}  // namespace

FolderExtraKeywords extra_keywords(std::string mailbox, const std::map<char, std::string>& letters,
                                   const std::vector<ManifestRecord>& records) {
  FolderExtraKeywords f{std::move(mailbox), {}};
  std::set<std::string> lettered;
  for (const auto& [letter, name] : letters) lettered.insert(name);
  for (const auto& r : records) {
    if (r.kind != Disposition::written && r.kind != Disposition::repaired) continue;  // not in the Maildir
    for (const auto& k : r.keywords)
      if (!lettered.count(k)) f.uids_of_keyword[k].push_back(r.uid);
  }
  for (auto& [k, uids] : f.uids_of_keyword) {
    std::sort(uids.begin(), uids.end());
    uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  }
  return f;
}

std::vector<std::string> uid_sets(std::span<const std::uint32_t> uids, std::size_t max_chars) {
  std::vector<std::string> sets;
  std::string cur;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    std::string item = std::to_string(uids[i]);
    if (j > i) item += ":" + std::to_string(uids[j]);
    if (!cur.empty() && cur.size() + 1 + item.size() > max_chars) sets.push_back(std::move(cur)), cur.clear();
    if (!cur.empty()) cur += ',';
    cur += item;
    i = j + 1;
  }
  if (!cur.empty()) sets.push_back(std::move(cur));
  return sets;
}

std::string apply_keywords_script(const std::string& user, const std::vector<FolderExtraKeywords>& folders) {
  std::string s =
      "#!/bin/sh\n"
      "# Written by cyrconv convert. Maildir file names carry at most 26 keywords per folder; this adds\n"
      "# the others to Dovecot's index. Run it once the Maildir is in place (Dovecot running):\n"
      "#   sh apply-keywords.sh [DOVECOT-USER]\n"
      "# DOVEADM may name another doveadm command line (DOVEADM='doveadm -c /etc/dovecot/x.conf').\n"
      "# Adding a keyword a message has already is harmless: it may be run again.\n"
      "set -eu\n"
      "u=${1:-" + sh_quote(user) + "}\n"
      "d=${DOVEADM:-doveadm}\n"
      "# g = the GUID of folder $1 by its exact name (the mailbox search key treats * and % as\n"
      "# wildcards), looked up through its message UID $2.\n"
      "guid() {\n"
      "  g=$($d -f tab fetch -u \"$u\" 'mailbox-guid mailbox' mailbox \"$1\" uid \"$2\" |\n"
      "      m=\"$1\" awk -F '\\t' 'NR > 1 && $2 == ENVIRON[\"m\"] { print $1; exit }')\n"
      "  [ -n \"$g\" ] || { echo \"apply-keywords: $u: no folder $1 with UID $2\" >&2; exit 1; }\n"
      "}\n";
  for (const auto& f : folders) {
    if (f.uids_of_keyword.empty()) continue;
    s += "guid " + sh_quote(f.mailbox) + " " + std::to_string(f.uids_of_keyword.begin()->second.front()) + "\n";
    for (const auto& [k, uids] : f.uids_of_keyword)
      for (const auto& set : uid_sets(uids))
        s += "$d flags add -u \"$u\" " + sh_quote(k) + " mailbox-guid \"$g\" uid " + set + "\n";
  }
  return s;
}

std::string keywords_need_doveadm_detail(std::uint64_t extra) {
  return std::to_string(extra) +
         " keyword(s) of messages in folders with more than 26 keywords have no Maildir letter: run `sh "
         "apply-keywords.sh` once the Maildir is in place (README \"Keywords beyond 26 per folder\")";
}

std::vector<std::string> write_apply_keywords(const fs::path& user_root, const std::string& user,
                                              const std::vector<KeywordFolder>& folders, bool sync,
                                              std::uint64_t& extra) {
  std::vector<std::string> errors;
  std::vector<FolderExtraKeywords> found;
  extra = 0;
  for (const auto& f : folders) {
    std::string error;
    auto text = read_output_text(f.maildir / "dovecot-keywords", error);
    if (!text) {
      if (!error.empty()) errors.push_back(error);
      continue;  // no keyword in the folder
    }
    std::vector<std::string> parse_errors;
    const auto letters = parse_dovecot_keywords(*text, parse_errors);
    if (letters.size() < 26) continue;  // a letter was free: every keyword of the folder has one
    EarlierManifest m = read_earlier_manifest(f.manifest);
    if (!m.error.empty()) {
      errors.push_back(m.error);
      continue;
    }
    found.push_back(extra_keywords(f.mailbox, letters, m.records));
    for (const auto& [k, uids] : found.back().uids_of_keyword) extra += uids.size();
  }
  std::sort(found.begin(), found.end(),
            [](const FolderExtraKeywords& a, const FolderExtraKeywords& b) { return a.mailbox < b.mailbox; });
  const fs::path path = user_root / script_name;
  std::error_code ec;
  // Only users who need it get the file; one an earlier run wrote is kept right (emptied if so).
  if (extra == 0 && !fs::exists(path, ec)) return errors;
  if (auto st = write_small_file(path, apply_keywords_script(user, found), sync); !st) errors.push_back(st.message);
  return errors;
}

}  // namespace cyrconv
