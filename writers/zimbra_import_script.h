#pragma once
// The per-user import script and expected counts `convert --format zimbra-tgz` writes beside the
// archive (docs/zimbra.md "Import script"): `zimbra-import.sh` runs every zmmailbox call in order
// and stops at the first that fails; `zimbra-expected.tsv` says how many items each Zimbra folder
// must hold afterwards (read back by `cyrconv verify --zimbra-counts`, converter/zimbra/zimbra_counts.h).
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cyrconv {

// A calendar (.ics) or address book (.vcf) posted into its own folder.
struct ZimbraCollectionFile {
  std::string folder_path;  // Zimbra folder path without the leading '/'
  std::string file;         // relative to the user's output directory
  bool calendar = false;
};

struct ZimbraImportPlan {
  std::string account;  // the Zimbra account to import into (default of the script's $1)
  // Folders created before any post, with their view ("message", "appointment", "contact"):
  // calendars and address books (the posts need them), folders that get no entry.
  std::vector<std::pair<std::string, std::string>> folders;
  std::vector<std::string> archives;  // .tgz files relative to the user's directory, in order
  std::vector<ZimbraCollectionFile> collections;
  // zmmailbox command files for flags and tags, in order, each with its check rows
  // (converter/zimbra/zimbra_folder_flags.h).
  std::vector<std::pair<std::string, std::string>> flags_files;
};

std::string zimbra_import_script(const ZimbraImportPlan& plan);

// "/<path>?fmt=ics" (or vcf) with each level percent-encoded as a URL path segment.
std::string zimbra_rest_path(std::string_view folder_path, std::string_view fmt);

struct ZimbraExpectedRow {
  std::string folder_path;  // without the leading '/'
  std::string view;         // "message", "appointment", "contact"
  std::uint64_t items = 0;
};

// "# comment\npath<TAB>view<TAB>items\n" per folder, sorted by path.
std::string zimbra_expected_tsv(std::vector<ZimbraExpectedRow> rows);

}  // namespace cyrconv
