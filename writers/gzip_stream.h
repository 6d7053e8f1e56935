#pragma once
// A gzip file written as a stream (Boost.Iostreams' gzip_compressor over zlib) into an
// OutputFile: bytes are compressed as they come, nothing is held but zlib's window, and the
// file appears under its final name only on commit (never over an existing file). The gzip
// header carries no name and mtime 0, so the same input gives the same bytes on every run.
#include <filesystem>
#include <memory>
#include <string_view>

#include "writers/output_file.h"

namespace cyrconv {

class GzipOutputFile {
 public:
  GzipOutputFile();
  ~GzipOutputFile();  // an uncommitted file is removed
  GzipOutputFile(const GzipOutputFile&) = delete;
  GzipOutputFile& operator=(const GzipOutputFile&) = delete;

  WriteStatus open(const std::filesystem::path& dir, std::string_view hint);
  WriteStatus write(std::string_view bytes);
  // Ends the gzip stream (its trailer written, zlib's memory freed); the file stays unnamed.
  WriteStatus close();
  // Ends the gzip stream if open, then commits like OutputFile::commit without replacing anything.
  WriteStatus commit(const std::filesystem::path& final_path, bool sync);
  void abort();

 private:
  struct Stream;
  OutputFile file_;
  WriteStatus status_;
  std::unique_ptr<Stream> stream_;
  bool closed_ = false;  // close() ended the stream; commit() may follow
};

}  // namespace cyrconv
