#include "converter/convert/uidlist_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

#include "converter/convert/prior_output.h"
#include "converter/verify/output_reader.h"

namespace cyrconv {

namespace fs = std::filesystem;

LineRead read_output_lines(const fs::path& path, const std::function<void(std::string_view)>& line) {
  LineRead r;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno != ENOENT) r.error = path.string() + ": cannot open: " + std::strerror(errno);
    return r;
  }
  r.exists = true;
  std::string pending;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      r.error = path.string() + ": read: " + std::strerror(errno);
      ::close(fd);
      return r;
    }
    if (n == 0) break;
    r.bytes += static_cast<std::uint64_t>(n);
    std::string_view chunk(buf, static_cast<std::size_t>(n));
    for (std::size_t eol; (eol = chunk.find('\n')) != std::string_view::npos; chunk.remove_prefix(eol + 1)) {
      if (pending.empty()) {
        line(chunk.substr(0, eol));
      } else {
        pending.append(chunk.substr(0, eol));
        line(pending);
        pending.clear();
      }
    }
    pending.append(chunk);
  }
  ::close(fd);
  if (!pending.empty()) line(pending);
  return r;
}

UidlistScan scan_uidlist(const fs::path& path, const std::function<bool(std::string_view)>& ours) {
  UidlistScan s;
  std::string header;
  std::size_t lines = 0;
  std::vector<std::uint32_t> uids;  // 4 bytes an entry, for "listed twice"
  bool ascending = true;
  s.read = read_output_lines(path, [&](std::string_view l) {
    if (lines++ == 0) {
      header = l;
      return;
    }
    if (l.empty()) return;
    const auto entry = parse_uidlist_entry(l);
    if (!entry) {
      s.clean = false;
      return;
    }
    ascending = ascending && (uids.empty() || uids.back() < entry->uid);
    uids.push_back(entry->uid);
    s.max_uid = std::max(s.max_uid.value_or(0), entry->uid);
    if (ours && !ours(entry->base)) s.all_bases_ours = false;
  });
  const ParsedUidlist head = parse_dovecot_uidlist(header);  // "" gives "empty file"
  s.version = head.version;
  s.uidvalidity = head.uidvalidity;
  s.uidnext = head.uidnext;
  s.clean = s.clean && head.errors.empty();
  if (!ascending) {
    std::sort(uids.begin(), uids.end());
    if (std::adjacent_find(uids.begin(), uids.end()) != uids.end()) s.clean = false;
  }
  return s;
}

WriteStatus copy_uidlist_with_uidnext(const fs::path& path, std::uint32_t uidnext, const std::set<std::uint32_t>& rewritten,
                                      OutputFile& out) {
  std::string piece;
  bool header = true;
  WriteStatus st;
  std::string error;
  const LineRead r = read_output_lines(path, [&](std::string_view l) {
    if (!st || !error.empty()) return;
    if (header) {
      header = false;
      // The header line through the text function (a file of the header alone gives it back whole).
      auto head = uidlist_with_uidnext(l, uidnext, error);
      if (head) piece = std::move(*head);
      return;
    }
    std::uint32_t uid = 0;
    const auto sp = l.find(' ');
    const bool numbered =
        std::from_chars(l.data(), l.data() + (sp == std::string_view::npos ? l.size() : sp), uid).ec == std::errc();
    if (numbered && rewritten.count(uid)) return;
    piece.append(l);
    piece += '\n';
    if (piece.size() >= (1u << 16)) {
      st = out.write(piece);
      piece.clear();
    }
  });
  if (!r.error.empty()) return WriteStatus{false, r.error};
  if (header && error.empty()) (void)uidlist_with_uidnext("", uidnext, error);  // an empty file
  if (!error.empty()) return WriteStatus{false, path.string() + ": " + error};
  if (st && !piece.empty()) st = out.write(piece);
  return st;
}

}  // namespace cyrconv
