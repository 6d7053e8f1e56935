#include "writers/gzip_stream.h"

// GCC 12 reports a false -Wrestrict inside std::string as Boost's gzip header instantiates it
// (GCC bug 105329); nothing in this file copies overlapping memory.
#pragma GCC diagnostic ignored "-Wrestrict"

#include <boost/iostreams/filter/gzip.hpp>
#include <boost/iostreams/filtering_stream.hpp>

namespace cyrconv {

namespace io = boost::iostreams;

namespace {

class Sink {
 public:
  using char_type = char;
  using category = io::sink_tag;
  Sink(OutputFile& f, WriteStatus& st) : f_(&f), st_(&st) {}
  std::streamsize write(const char* s, std::streamsize n) {
    if (*st_) *st_ = f_->write(std::string_view(s, static_cast<std::size_t>(n)));
    return n;
  }

 private:
  OutputFile* f_;
  WriteStatus* st_;
};

}  // namespace

struct GzipOutputFile::Stream {
  io::filtering_ostream out;
};

GzipOutputFile::GzipOutputFile() = default;
GzipOutputFile::~GzipOutputFile() { abort(); }

WriteStatus GzipOutputFile::open(const std::filesystem::path& dir, std::string_view hint) {
  status_ = file_.open(dir, hint);
  if (!status_) return status_;
  stream_ = std::make_unique<Stream>();
  closed_ = false;
  // Default level, no file name, mtime 0: deterministic bytes for the same input.
  stream_->out.push(io::gzip_compressor(io::gzip_params(io::gzip::default_compression)));
  stream_->out.push(Sink(file_, status_));
  return status_;
}

WriteStatus GzipOutputFile::write(std::string_view bytes) {
  if (!stream_) return WriteStatus{false, "gzip stream not open"};
  if (!status_) return status_;
  try {
    stream_->out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  } catch (const std::exception& e) {
    if (status_) status_ = WriteStatus{false, std::string("gzip: ") + e.what()};
  }
  if (status_ && !stream_->out) status_ = WriteStatus{false, "gzip: stream failed"};
  return status_;
}

WriteStatus GzipOutputFile::close() {
  if (!stream_) return status_;
  try {
    stream_->out.reset();  // closes the compressor: the rest of the deflate stream and the trailer
  } catch (const std::exception& e) {
    if (status_) status_ = WriteStatus{false, std::string("gzip: ") + e.what()};
  }
  stream_.reset();
  closed_ = true;
  if (status_) status_ = file_.park();  // its write buffer too: a part may wait for the others
  return status_;
}

WriteStatus GzipOutputFile::commit(const std::filesystem::path& final_path, bool sync) {
  if (!stream_ && !closed_) return WriteStatus{false, "gzip stream not open"};
  close();
  if (!status_) {
    file_.abort();
    return status_;
  }
  // A resumed run meets the archive an interrupted one committed: kept when byte-identical.
  return file_.commit(final_path, -1, sync, OutputFile::OnExisting::keep_identical);
}

void GzipOutputFile::abort() {
  if (stream_) {
    // Drop the chain without letting it flush into a file that is about to go.
    status_ = WriteStatus{false, "aborted"};
    try {
      stream_->out.reset();
    } catch (...) {
    }
    stream_.reset();
  }
  file_.abort();
}

}  // namespace cyrconv
