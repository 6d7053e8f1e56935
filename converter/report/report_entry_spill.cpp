#include "converter/report/report_entry_spill.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cyrconv {

namespace {

constexpr std::size_t flush_at = 1 << 20;    // pending bytes written out at this size
constexpr std::size_t read_chunk = 1 << 18;  // a reader's buffer
constexpr std::size_t header = sizeof(std::uint64_t) + sizeof(std::uint32_t);  // uid, length

std::string errno_text(const std::filesystem::path& dir, const char* what) {
  return dir.string() + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

ReportEntrySpill::~ReportEntrySpill() {
  if (fd_ >= 0) ::close(fd_);
}

std::string ReportEntrySpill::open(const std::filesystem::path& dir) {
  dir_ = dir;
#ifdef O_TMPFILE
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  for (int i = 0; i < 1000 && fd_ < 0; ++i) {  // no O_TMPFILE (NFS, old kernels)
    const auto p = dir / (".merge-" + std::to_string(::getpid()) + "-" + std::to_string(i) + ".cyrconv-tmp");
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0)
      ::unlink(p.c_str());
    else if (errno != EEXIST)
      break;
  }
  return fd_ >= 0 ? std::string() : errno_text(dir, "cannot create the merge's scratch file in");
}

std::size_t ReportEntrySpill::new_span() {
  ReportEntrySpan s;
  s.offset = flushed_ + pending_.size();
  spans_.push_back(s);
  return spans_.size() - 1;
}

std::string ReportEntrySpill::append(std::size_t i, std::uint64_t uid, std::string_view json) {
  ReportEntrySpan& s = spans_[i];
  if (s.count && uid < s.last_uid) s.sorted = false;
  s.last_uid = uid;
  ++s.count;
  const auto len = static_cast<std::uint32_t>(json.size());
  pending_.append(reinterpret_cast<const char*>(&uid), sizeof uid);  // native order: dies with the process
  pending_.append(reinterpret_cast<const char*>(&len), sizeof len);
  pending_.append(json);
  s.bytes += header + json.size();
  return fd_ >= 0 && pending_.size() >= flush_at ? flush() : std::string();
}

std::string ReportEntrySpill::flush() {
  if (fd_ < 0) return {};
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::pwrite(fd_, pending_.data() + done, pending_.size() - done,
                               static_cast<off_t>(flushed_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return errno_text(dir_, "cannot write the merge's scratch file in");
    done += static_cast<std::size_t>(n);
  }
  flushed_ += done;
  pending_.clear();
  return {};
}

std::string ReportEntrySpill::read_at(std::uint64_t offset, std::size_t n, char* to) const {
  if (fd_ < 0) {  // everything is in memory
    std::memcpy(to, pending_.data() + offset, n);
    return {};
  }
  std::size_t done = 0;
  while (done < n) {
    const ssize_t got = ::pread(fd_, to + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return errno_text(dir_, "cannot read back the merge's scratch file in");
    done += static_cast<std::size_t>(got);
  }
  return {};
}

ReportEntrySpill::Reader::Reader(const ReportEntrySpill& spill, std::size_t span)
    : spill_(spill), at_(spill.span(span).offset), end_(spill.span(span).offset + spill.span(span).bytes) {}

// At least `need` unread bytes in buf_ from pos_ (false: the span ends first, or a read failed).
bool ReportEntrySpill::Reader::fill(std::size_t need) {
  if (buf_.size() - pos_ >= need) return true;
  buf_.erase(0, pos_);
  pos_ = 0;
  const std::uint64_t left = end_ - at_;
  const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, std::max(need, read_chunk)));
  if (buf_.size() + want < need) {
    error_ = "the merge's scratch file ends inside an entry";
    return false;
  }
  const std::size_t old = buf_.size();
  buf_.resize(old + want);
  if (auto e = spill_.read_at(at_, want, buf_.data() + old); !e.empty()) {
    error_ = e;
    return false;
  }
  at_ += want;
  return true;
}

bool ReportEntrySpill::Reader::next() {
  if (pos_ == buf_.size() && at_ == end_) return false;
  if (!fill(header)) return false;
  std::uint32_t len = 0;
  std::memcpy(&uid_, buf_.data() + pos_, sizeof uid_);
  std::memcpy(&len, buf_.data() + pos_ + sizeof uid_, sizeof len);
  pos_ += header;
  if (!fill(len)) return false;
  json_.assign(buf_.data() + pos_, len);
  pos_ += len;
  return true;
}

}  // namespace cyrconv
