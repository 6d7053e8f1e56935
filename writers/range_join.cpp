// Joining range parts into a folder (range_join.h).
#include "writers/range_join.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "writers/gzip_file.h"
#include "writers/imapbase_insert.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace fs = std::filesystem;

namespace {

constexpr std::size_t chunk_size = 256 * 1024;

// Streams a part file to `sink` in chunks.
template <typename Sink>
WriteStatus stream_part(const fs::path& path, std::vector<char>& buffer, Sink&& sink) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return write_error(path, "open");
  WriteStatus st;
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      st = write_error(path, "read");
      break;
    }
    if (n == 0) break;
    if (st = sink(std::string_view(buffer.data(), static_cast<std::size_t>(n))); !st) break;
  }
  ::close(fd);
  return st;
}

// Feeds whole lines of a part file to `line_sink` (without their '\n').
template <typename LineSink>
WriteStatus stream_lines(const fs::path& path, std::vector<char>& buffer, LineSink&& line_sink) {
  std::string line;
  WriteStatus st = stream_part(path, buffer, [&](std::string_view chunk) -> WriteStatus {
    while (!chunk.empty()) {
      const std::size_t eol = chunk.find('\n');
      line.append(chunk.substr(0, eol));
      if (eol == std::string_view::npos) break;
      chunk.remove_prefix(eol + 1);
      if (auto w = line_sink(line); !w) return w;
      line.clear();
    }
    return {};
  });
  if (st && !line.empty()) st = line_sink(line);
  return st;
}

std::uint64_t size_of(const fs::path& p) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? 0 : n;
}

}  // namespace

WriteStatus join_range_parts(const RangeJoin& j, std::uint64_t& inserted_bytes) {
  inserted_bytes = 0;
  using OnExisting = OutputFile::OnExisting;
  std::vector<char> buffer(chunk_size);
  auto part = [&](std::size_t r, const char* what) { return j.parts_dir / (std::to_string(r) + "." + what); };
  OutputFile manifest;
  if (auto st = manifest.open(j.manifest_path.parent_path(), j.manifest_path.filename().string()); !st) return st;
  auto append_to = [](OutputFile& f) { return [&f](std::string_view chunk) { return f.write(chunk); }; };

  if (!j.mbox) {
    OutputFile uidlist;
    if (auto st = uidlist.open(j.uidlist_path.parent_path(), j.uidlist_path.filename().string()); !st) return st;
    for (std::size_t r = 0; r < j.ranges; ++r) {
      if (auto st = stream_part(part(r, "uidlist"), buffer, append_to(uidlist)); !st) return st;
      if (auto st = stream_part(part(r, "manifest"), buffer, append_to(manifest)); !st) return st;
    }
    if (auto st = uidlist.commit(j.uidlist_path, -1, j.sync, OnExisting::replace); !st) return st;
    if (j.sync)
      if (auto st = sync_directory(j.maildir / "cur"); !st) return st;
    return manifest.commit(j.manifest_path, -1, j.sync, OnExisting::replace);
  }

  OutputFile mbox;
  if (auto st = mbox.open(j.mbox_file.parent_path(), j.mbox_file.filename().string()); !st) return st;
  // The part that gets the X-IMAPbase line: the first that holds a message.
  std::size_t insert_in = j.ranges;
  if (!j.imapbase.empty())
    for (std::size_t r = 0; r < j.ranges && insert_in == j.ranges; ++r)
      if (size_of(part(r, "mbox")) > 0) insert_in = r;
  for (std::size_t r = 0; r < j.ranges; ++r) {
    const std::uint64_t base = mbox.bytes_written();
    std::uint64_t inserted_at = 0;  // offset in the part where the line went
    bool inserted = false;
    if (r != insert_in) {
      if (auto st = stream_part(part(r, "mbox"), buffer, append_to(mbox)); !st) return st;
    } else {
      ImapbaseInserter insert(j.imapbase, append_to(mbox));
      WriteStatus st = stream_part(part(r, "mbox"), buffer, [&](std::string_view chunk) { return insert.feed(chunk); });
      if (st) st = insert.finish();
      if (!st) return st;
      if (!insert.inserted())
        return WriteStatus{false, part(r, "mbox").string() + ": no X-UID header: not a part cyrconv wrote"};
      inserted = true;
      inserted_at = insert.inserted_at();
    }
    const std::uint64_t shift = inserted ? j.imapbase.size() : 0;
    inserted_bytes += shift;
    WriteStatus st = stream_lines(part(r, "manifest"), buffer, [&](const std::string& line) -> WriteStatus {
      std::uint64_t delta = base;
      if (inserted) {
        const auto off = manifest_line_mbox_offset(line);
        if (off && *off >= inserted_at) delta += shift;
      }
      return manifest.write(manifest_line_shifted(line, delta) + "\n");
    });
    if (!st) return st;
  }
  if (!j.gzip) {
    if (auto st = mbox.commit(j.mbox_file, -1, j.sync, j.mbox_replace ? OnExisting::replace : OnExisting::keep_identical);
        !st)
      return st;
  } else {
    // As convert's finish: the plain file under a temporary name, compressed into place.
    fs::path plain = j.mbox_file;
    plain.replace_filename("." + j.mbox_file.filename().string() + ".cyrconv-plain");
    ::unlink(plain.c_str());
    if (auto st = mbox.commit(plain, -1, false, OnExisting::refuse); !st) return st;
    if (auto st = gzip_into_place(plain, fs::path(j.mbox_file.string() + ".gz"), j.sync); !st) return st;
  }
  return manifest.commit(j.manifest_path, -1, j.sync, OnExisting::replace);
}

}  // namespace cyrconv
