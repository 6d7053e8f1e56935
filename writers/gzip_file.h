#pragma once
// mbox --gzip: a finished folder file compressed into "<name>.gz" beside it (Boost.Iostreams'
// gzip_compressor over zlib), written like every output file: temporary name, fsync per policy,
// linked into place without replacing anything; the uncompressed temporary is then removed.
#include <filesystem>

#include "writers/output_file.h"

namespace cyrconv {

WriteStatus gzip_into_place(const std::filesystem::path& plain, const std::filesystem::path& final_gz, bool sync);

}  // namespace cyrconv
