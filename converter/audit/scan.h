#pragma once
// `cyrconv scan`: discover and inventory a copied store, and summarise it per user.
#include "converter/source/discover.h"
#include "writers/report_model.h"

namespace cyrconv {

struct ScanOptions {
  int threads = 0;  // 0: one per core
  int io_depth = 1;  // metadata reads in flight per worker (converter/source/io_fanout.h)
  bool quiet = true;  // no progress on stderr (the command line shows it unless --quiet)
};

ScanReport run_scan(const SourceInputs& inputs, const ScanOptions& options);

}  // namespace cyrconv
