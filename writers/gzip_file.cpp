#include "writers/gzip_file.h"

// GCC 12 reports a false -Wrestrict inside std::string as Boost's gzip header instantiates it
// (GCC bug 105329); nothing in this file copies overlapping memory.
#pragma GCC diagnostic ignored "-Wrestrict"

#include <boost/iostreams/copy.hpp>
#include <boost/iostreams/device/file_descriptor.hpp>
#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace cyrconv {

namespace fs = std::filesystem;
namespace io = boost::iostreams;

namespace {

// Collects the compressed stream into an OutputFile, so it gets the usual crash-safe commit.
class OutputFileSink {
 public:
  using char_type = char;
  using category = io::sink_tag;
  explicit OutputFileSink(OutputFile& f, WriteStatus& st) : f_(&f), st_(&st) {}
  std::streamsize write(const char* s, std::streamsize n) {
    if (*st_) *st_ = f_->write(std::string_view(s, static_cast<std::size_t>(n)));
    return n;
  }

 private:
  OutputFile* f_;
  WriteStatus* st_;
};

}  // namespace

WriteStatus gzip_into_place(const fs::path& plain, const fs::path& final_gz, bool sync) {
  const int fd = ::open(plain.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return write_error(plain, "open for compression");
  OutputFile gz;
  WriteStatus st = gz.open(final_gz.parent_path(), final_gz.filename().string());
  if (st) {
    try {
      io::file_descriptor_source source(fd, io::close_handle);
      io::filtering_ostream out;
      out.push(io::gzip_compressor(io::gzip_params(io::gzip::default_compression)));
      out.push(OutputFileSink(gz, st));
      io::copy(source, out);
    } catch (const std::exception& e) {
      if (st) st = WriteStatus{false, plain.string() + ": gzip: " + e.what()};
    }
  } else {
    ::close(fd);
  }
  if (!st) return st;
  // keep_identical: a resumed run that meets the archive it already made (gzip output is
  // deterministic: no name, mtime 0) keeps it.
  if (auto c = gz.commit(final_gz, -1, sync, OutputFile::OnExisting::keep_identical); !c) return c;
  ::unlink(plain.c_str());  // our own uncompressed temporary, never a final name
  return {};
}

}  // namespace cyrconv
