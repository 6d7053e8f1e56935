#pragma once
// `cyrconv verify`: re-reads a converted output tree and checks it against the source. Source
// side exactly as convert planned it (discover -> inventory -> plan_names); output side: per
// folder the uidlist / mbox file, the flag manifest and the quarantine tree. Every live source
// message must be in the output (right bytes, flags, keywords, INTERNALDATE, UID) or listed in
// the manifest as quarantined, missing, skipped_deleted or not_converted. Writes nothing (its
// per-message state waits in unnamed scratch files in $TMPDIR: converter/verify/scratch_store.h).
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "converter/convert/convert.h"
#include "converter/source/discover.h"
#include "converter/plan/folder_naming.h"
#include "converter/plan/rename_map.h"
#include "writers/verify_report.h"

namespace cyrconv {

struct VerifyOptions {
  std::optional<OutputFormat> format;  // nullopt: OUT/<user>/Maildir or OUT/<user>/mail, whichever exists
  std::filesystem::path out;
  std::vector<std::string> users;      // as convert --users; empty: every user
  NamingProfile profile = NamingProfile::dovecot;
  RenameMap rename_map;
  bool crlf = false;                   // Maildir written with --eol crlf
  int threads = 0;
  int io_depth = 1;                    // --io-depth: files in flight per worker (prefetch.h, io_fanout.h)
  bool quiet = true;                   // no progress on stderr (the command line shows it unless --quiet)
  // Messages of one folder hashed in parallel at a time; 0: the default (verify_folder.h). Tests
  // set a small one to check many windows against the sequential path (SIZE_MAX).
  std::size_t folder_window = 0;
};

VerifyReport run_verify(const SourceInputs& inputs, const VerifyOptions& options);

}  // namespace cyrconv
