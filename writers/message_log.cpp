#include "writers/message_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

namespace cyrconv {

namespace {

// Native byte order: the log lives and dies with one process.
void put_u32(std::string& out, std::uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_u64(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); }
void put_str(std::string& out, const std::string& s) {
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out.append(s);
}

struct Cursor {
  std::string_view in;
  bool ok = true;
  template <typename T>
  T get() {
    T v{};
    if (in.size() < sizeof v) {
      ok = false;
      return v;
    }
    std::memcpy(&v, in.data(), sizeof v);
    in.remove_prefix(sizeof v);
    return v;
  }
  std::string str() {
    const auto n = get<std::uint32_t>();
    if (!ok || in.size() < n) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, n));
    in.remove_prefix(n);
    return s;
  }
};

std::string errno_text(const std::filesystem::path& dir, const char* what) {
  return dir.string() + ": " + what + ": " + std::strerror(errno);
}

}  // namespace

void encode_message(const AuditMessage& m, std::string& out) {
  const std::size_t start = out.size();
  put_u32(out, 0);  // payload length, filled in below
  put_u32(out, m.uid);
  out.push_back(m.orphan ? 1 : 0);
  put_str(out, m.file);
  put_u64(out, m.size);
  out.push_back(static_cast<char>(m.action));
  put_str(out, m.reason);
  put_str(out, m.recover_folder);
  put_u32(out, static_cast<std::uint32_t>(m.changes.size()));
  for (const auto& c : m.changes) put_str(out, c);
  put_u32(out, static_cast<std::uint32_t>(m.findings.size()));
  for (const auto& f : m.findings) {
    out.push_back(static_cast<char>(f.severity));
    put_str(out, f.kind);
    put_str(out, f.file);
    put_u64(out, f.offset);
    put_u32(out, f.uid);
    put_str(out, f.detail);
  }
  const auto payload = static_cast<std::uint32_t>(out.size() - start - sizeof(std::uint32_t));
  std::memcpy(out.data() + start, &payload, sizeof payload);
}

bool decode_message(std::string_view bytes, AuditMessage& m) {
  Cursor c{bytes};
  m = AuditMessage{};
  m.uid = c.get<std::uint32_t>();
  m.orphan = c.get<std::uint8_t>() != 0;
  m.file = c.str();
  m.size = c.get<std::uint64_t>();
  const auto action = c.get<std::uint8_t>();
  if (action > static_cast<std::uint8_t>(MessageAction::not_converted)) c.ok = false;
  m.action = static_cast<MessageAction>(action);
  m.reason = c.str();
  m.recover_folder = c.str();
  const auto changes = c.get<std::uint32_t>();
  for (std::uint32_t i = 0; c.ok && i < changes; ++i) m.changes.push_back(c.str());
  const auto findings = c.get<std::uint32_t>();
  for (std::uint32_t i = 0; c.ok && i < findings; ++i) {
    Finding f;
    const auto severity = c.get<std::uint8_t>();
    if (severity > static_cast<std::uint8_t>(Finding::Severity::error)) c.ok = false;
    f.severity = static_cast<Finding::Severity>(severity);
    f.kind = c.str();
    f.file = c.str();
    f.offset = c.get<std::uint64_t>();
    f.uid = c.get<std::uint32_t>();
    f.detail = c.str();
    m.findings.push_back(std::move(f));
  }
  return c.ok && c.in.empty();
}

MessageLog::~MessageLog() {
  if (fd_ >= 0) ::close(fd_);
}

std::string MessageLog::open(const std::filesystem::path& dir) {
  dir_ = dir;
#ifdef O_TMPFILE
  fd_ = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  for (int i = 0; i < 1000 && fd_ < 0; ++i) {  // no O_TMPFILE (NFS, old kernels)
    const auto p = dir / (".report-" + std::to_string(::getpid()) + "-" + std::to_string(i) + ".cyrconv-tmp");
    fd_ = ::open(p.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd_ >= 0) ::unlink(p.c_str());
    else if (errno != EEXIST) break;
  }
  return fd_ >= 0 ? std::string() : errno_text(dir, "cannot create the report's scratch file in");
}

bool MessageLog::spill(std::vector<AuditMessage>& pending, std::vector<MessageLogSpan>& spans) {
  if (pending.empty()) return true;
  if (fd_ < 0) return false;
  std::string bytes;
  for (const auto& m : pending) encode_message(m, bytes);
  std::uint64_t at = 0;
  {
    // Reserve the range under the lock, write outside it: spills of other threads overlap.
    std::lock_guard<std::mutex> hold(append_lock_);
    at = end_;
    end_ += bytes.size();
  }
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;  // the reserved range is simply never read: entries stay in memory
    done += static_cast<std::size_t>(n);
  }
  spans.push_back(MessageLogSpan{at, bytes.size(), pending.size()});
  std::vector<AuditMessage>().swap(pending);
  return true;
}

std::string MessageLog::read(const MessageLogSpan& span, const std::function<void(const AuditMessage&)>& fn) const {
  // Read in blocks; a record that crosses a block end is completed from the next read.
  constexpr std::size_t block = 1 << 20;
  std::string buf;
  std::uint64_t pos = span.offset;
  const std::uint64_t end = span.offset + span.bytes;
  std::size_t used = 0;  // bytes of `buf` already decoded
  std::uint64_t seen = 0;
  AuditMessage m;
  auto fail = [&](const char* what) {
    return dir_.string() + ": report scratch file, offset " + std::to_string(pos) + ": " + what;
  };
  while (true) {
    const std::string_view rest = std::string_view(buf).substr(used);
    std::uint32_t len = 0;
    if (rest.size() >= sizeof len) std::memcpy(&len, rest.data(), sizeof len);
    if (rest.size() >= sizeof len && rest.size() - sizeof len >= len) {
      if (!decode_message(rest.substr(sizeof len, len), m)) return fail("malformed entry");
      fn(m);
      ++seen;
      used += sizeof len + len;
      continue;
    }
    if (pos >= end) break;
    buf.erase(0, used);
    used = 0;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(std::max<std::size_t>(block, len + 4), end - pos));
    const std::size_t have = buf.size();
    buf.resize(have + want);
    const ssize_t n = ::pread(fd_, buf.data() + have, want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) {
      buf.resize(have);
      continue;
    }
    if (n <= 0) return fail(n < 0 ? std::strerror(errno) : "shorter than written");
    buf.resize(have + static_cast<std::size_t>(n));
    pos += static_cast<std::uint64_t>(n);
  }
  if (used != buf.size() || seen != span.entries) return fail("entries missing");
  return {};
}

std::string for_each_message(const MessageLog* log, const std::vector<MessageLogSpan>& spans,
                             const std::vector<AuditMessage>& pending,
                             const std::function<void(const AuditMessage&)>& fn) {
  std::string error;
  for (const auto& s : spans) {
    if (!log) return "report entries were spilled but the log is gone";
    if (auto e = log->read(s, fn); !e.empty() && error.empty()) error = std::move(e);
  }
  for (const auto& m : pending) fn(m);
  return error;
}

}  // namespace cyrconv
