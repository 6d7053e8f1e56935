#include "writers/zimbra_import_script.h"

#include <algorithm>

#include "writers/shell_quote.h"

namespace cyrconv {

std::string zimbra_rest_path(std::string_view folder_path, std::string_view fmt) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "/";
  for (unsigned char c : folder_path) {
    const bool plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                       c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out + "?fmt=" + std::string(fmt);
}

namespace {

// Why each part is as it is:
// - zmmailbox exits 0 when the REST import logged entry errors (ArchiveFormatter.addError), so a
//   zero exit is necessary, not sufficient: the counts check at the end is what proves the import.
// - A post is never repeated: messages and contacts have no identity Zimbra's import matches on,
//   so a second post duplicates them. `<file>.posting` is written before the call and renamed to
//   `<file>.posted` after it: a leftover `.posting` means a post that may have half happened.
// - In file mode zmmailbox prints "ERROR: <code> (<message>)" for a failed line and goes on; a
//   search that runs before Zimbra indexed the message finds nothing and its flag lines fail
//   ("unknown index"). The flag file is idempotent but for createTag, so it is run again without
//   the createTag lines until no line fails, waiting between rounds for the indexer.
constexpr std::string_view prologue = R"SH(set -u
ZMMAILBOX=${ZMMAILBOX:-zmmailbox}
WAIT=${ZIMBRA_INDEX_WAIT:-60}
ROUNDS=${ZIMBRA_INDEX_ROUNDS:-10}
DIR=$(cd "$(dirname "$0")" && pwd) || exit 1
cd "$DIR" || exit 1
z() { "$ZMMAILBOX" -z -m "$ACCOUNT" "$@"; }
die() { echo "zimbra-import: $ACCOUNT: $*" >&2; exit 1; }
folder() {
  z getFolder "$1" >/dev/null 2>&1 && return 0
  z createFolder -V "$2" "$1" >/dev/null || die "createFolder -V $2 $1 failed"
}
post() {
  if [ -e "$2.posted" ]; then
    echo "zimbra-import: $2 was posted already ($2.posted): not posted again (a second post duplicates)"
    return 0
  fi
  [ -e "$2.posting" ] && die "$2: an earlier post started and did not finish ($2.posting); compare the counts (cyrconv verify --zimbra-counts) before anything else, and never post it again whole"
  : > "$2.posting" || die "cannot write $DIR/$2.posting"
  z postRestURL "$1" "$2" || die "postRestURL $1 $2 failed"
  mv "$2.posting" "$2.posted" || die "cannot rename $DIR/$2.posting"
}
flags() {
  if [ -e "$1.done" ]; then
    echo "zimbra-import: $1 ran already ($1.done)"
    return 0
  fi
  run=$1 round=0
  while :; do
    z -f "$run" > "$1.log" 2>&1
    grep 'ERROR: ' "$1.log" > "$1.failed"
    [ -s "$1.failed" ] || break
    round=$((round + 1))
    if [ "$round" -gt "$ROUNDS" ]; then
      cat "$1.failed" >&2
      die "$(wc -l < "$1.failed") flag/tag line(s) of $1 still fail after $ROUNDS rounds (log: $DIR/$1.log); the messages' flags are in manifests/"
    fi
    echo "zimbra-import: $(wc -l < "$1.failed") flag/tag line(s) failed (messages not indexed yet?); again in ${WAIT}s, round $round of $ROUNDS"
    sleep "$WAIT"
    grep -v '^createTag ' "$1" > "$1.retry" || die "cannot write $DIR/$1.retry"
    run=$1.retry
  done
  rm -f "$1.failed" "$1.retry"
  : > "$1.done"
}
)SH";

}  // namespace

std::string zimbra_import_script(const ZimbraImportPlan& plan) {
  std::string s = "#!/bin/sh\n";
  s += "# Written by cyrconv convert --format zimbra-tgz: imports this directory into Zimbra (docs/zimbra.md).\n";
  s += "# Run as the zimbra user on a mailbox server: sh zimbra-import.sh [ACCOUNT]\n";
  s += "# Stops at the first failed call; never posts a file twice (<file>.posted markers). Afterwards:\n";
  s += "#   zmmailbox -z -m ACCOUNT getAllFolders > folders.txt\n";
  s += "#   cyrconv verify --out THIS_DIRECTORY --zimbra-counts folders.txt\n";
  s += "ACCOUNT=${1:-" + sh_quote(plan.account) + "}\n";
  s += prologue;
  for (const auto& [path, view] : plan.folders) s += "folder " + sh_quote("/" + path) + " " + view + "\n";
  for (const auto& a : plan.archives) s += "post '//?fmt=tgz&resolve=skip' " + sh_quote(a) + "\n";
  for (const auto& c : plan.collections)
    s += "post " + sh_quote(zimbra_rest_path(c.folder_path, c.calendar ? "ics" : "vcf")) + " " + sh_quote(c.file) + "\n";
  for (const auto& f : plan.flags_files) s += "flags " + sh_quote(f) + "\n";
  s += "z getAllFolders > zimbra-folders-after.txt || die \"getAllFolders failed\"\n";
  s += "echo \"zimbra-import: $ACCOUNT: done; check: cyrconv verify --out $DIR --zimbra-counts "
       "$DIR/zimbra-folders-after.txt\"\n";
  return s;
}

std::string zimbra_expected_tsv(std::vector<ZimbraExpectedRow> rows) {
  std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.folder_path < b.folder_path; });
  std::string s = "# folder\tview\titems: what each Zimbra folder holds after zimbra-import.sh (cyrconv verify --zimbra-counts)\n";
  for (const auto& r : rows) s += "/" + r.folder_path + "\t" + r.view + "\t" + std::to_string(r.items) + "\n";
  return s;
}

}  // namespace cyrconv
