#pragma once
// `cyrconv audit`: discover and inventory the store, then read every message file once and
// check it (size, SHA-1 against the index GUID, line ends, header, MIME), and report what
// convert would do with each message under the --on-corrupt policy. Writes nothing but an
// unnamed scratch file that holds the report's per-message entries (writers/message_log.h).
#include <filesystem>
#include <functional>

#include "converter/source/discover.h"
#include "converter/plan/message_policy.h"
#include "writers/report_model.h"

namespace cyrconv {

struct AuditOptions {
  int threads = 0;                       // 0: one per core
  int io_depth = 1;                      // --io-depth: message files in flight per worker (prefetch.h)
  OnCorrupt on_corrupt = OnCorrupt::repair;
  bool mime = false;                     // --deep: MIME structure and base64 checks (cost: README)
  bool quiet = true;                     // no progress on stderr (the command line shows it unless --quiet)
  // Folders inventoried, read and assembled together; memory holds one batch's records and
  // check results (tests make it small to cross batch edges).
  std::size_t batch_folders = 256;
  // Message files read and checked together before their folders are assembled: memory holds
  // one window's check results (tests make it small to cross folder edges).
  std::size_t window_messages = 16384;
  // Where the report's per-message entries wait (an unnamed file); "": $TMPDIR or /tmp.
  std::filesystem::path scratch_dir;
  // Called after each batch's inventory, before its records are read again (tests change the
  // source there: an index changed during the run must be reported, never read silently).
  std::function<void()> after_inventory;
};

AuditReport run_audit(const SourceInputs& inputs, const AuditOptions& options);

}  // namespace cyrconv
