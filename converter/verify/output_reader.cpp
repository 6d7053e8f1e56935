#include "converter/verify/output_reader.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <charconv>
#include <stdexcept>

#include "converter/source/source_io.h"
#include "writers/manifest.h"

namespace cyrconv {

namespace {

template <typename T>
bool to_number(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    lines.push_back(text.substr(pos, eol - pos));
    pos = eol + 1;
  }
  return lines;
}

}  // namespace

std::optional<UidlistLine> parse_uidlist_entry(std::string_view l) {
  const std::size_t sp = l.find(' ');
  const std::size_t colon = l.find(" :");
  std::uint32_t uid = 0;
  if (sp == std::string_view::npos || colon == std::string_view::npos || !to_number(l.substr(0, sp), uid) || uid == 0)
    return std::nullopt;
  return UidlistLine{uid, l.substr(colon + 2)};
}

ParsedUidlist parse_dovecot_uidlist(std::string_view text) {
  ParsedUidlist u;
  const auto lines = split_lines(text);
  if (lines.empty()) {
    u.errors.push_back("empty file");
    return u;
  }
  // Header: "3 V<uidvalidity> N<uidnext> [other fields]".
  std::string_view h = lines[0];
  std::size_t pos = 0;
  bool first = true;
  while (pos <= h.size()) {
    std::size_t sp = h.find(' ', pos);
    if (sp == std::string_view::npos) sp = h.size();
    std::string_view field = h.substr(pos, sp - pos);
    if (first) {
      if (!to_number(field, u.version)) u.errors.push_back("line 1: no version number");
      first = false;
    } else if (!field.empty() && field[0] == 'V') {
      if (!to_number(field.substr(1), u.uidvalidity)) u.errors.push_back("line 1: bad V field");
    } else if (!field.empty() && field[0] == 'N') {
      if (!to_number(field.substr(1), u.uidnext)) u.errors.push_back("line 1: bad N field");
    }
    pos = sp + 1;
  }
  if (u.version != 3) u.errors.push_back("line 1: version " + std::to_string(u.version) + ", expected 3");
  // Entries: "<uid> [extension fields] :<base>".
  for (std::size_t i = 1; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (l.empty()) continue;
    const auto entry = parse_uidlist_entry(l);
    if (!entry) {
      u.errors.push_back("line " + std::to_string(i + 1) + ": not '<uid> :<file name>'");
      continue;
    }
    if (!u.base_of_uid.emplace(entry->uid, std::string(entry->base)).second)
      u.errors.push_back("line " + std::to_string(i + 1) + ": UID " + std::to_string(entry->uid) + " listed twice");
  }
  return u;
}

std::map<char, std::string> parse_dovecot_keywords(std::string_view text, std::vector<std::string>& errors) {
  std::map<char, std::string> m;
  std::size_t n = 0;
  for (std::string_view l : split_lines(text)) {
    ++n;
    if (l.empty()) continue;
    const std::size_t sp = l.find(' ');
    unsigned idx = 0;
    if (sp == std::string_view::npos || !to_number(l.substr(0, sp), idx) || idx >= 26) {
      errors.push_back("line " + std::to_string(n) + ": not '<index 0-25> <keyword>'");
      continue;
    }
    m[static_cast<char>('a' + idx)] = std::string(l.substr(sp + 1));
  }
  return m;
}

MaildirName parse_maildir_name(std::string_view name) {
  MaildirName r;
  const std::size_t colon = name.find(':');
  r.base = std::string(name.substr(0, colon));
  if (colon != std::string_view::npos && name.substr(colon, 3) == ":2,") {
    r.has_info = true;
    r.flags = std::string(name.substr(colon + 3));
  }
  // ",S=" and ",W=" fields anywhere after the first '.' part (Dovecot's rule: comma separated).
  std::string_view b = r.base;
  std::size_t pos = b.find(',');
  while (pos != std::string_view::npos) {
    std::size_t next = b.find(',', pos + 1);
    std::string_view field = b.substr(pos + 1, next == std::string_view::npos ? std::string_view::npos : next - pos - 1);
    std::uint64_t v = 0;
    if (field.size() > 2 && field[1] == '=' && to_number(field.substr(2), v)) {
      if (field[0] == 'S') r.size = v;
      if (field[0] == 'W') r.vsize = v;
    }
    pos = next;
  }
  return r;
}

// The words the manifest writer uses (writers/manifest.h), its enum in the same order; unknown otherwise.
#define CYRCONV_SAME(v) (static_cast<int>(Disposition::v) == static_cast<int>(MessageDisposition::v))
static_assert(CYRCONV_SAME(written) && CYRCONV_SAME(repaired) && CYRCONV_SAME(quarantined) && CYRCONV_SAME(missing) &&
              CYRCONV_SAME(skipped_deleted) && CYRCONV_SAME(not_converted));
#undef CYRCONV_SAME
Disposition disposition_of(std::string_view t) {
  const auto d = parse_message_disposition(t);
  return d ? static_cast<Disposition>(*d) : Disposition::unknown;
}

std::optional<ManifestRecord> parse_manifest_line(std::string_view line, std::string& error) {
  try {
    const auto j = nlohmann::json::parse(line);
    ManifestRecord m;
    m.uid = j.at("uid").get<std::uint32_t>();
    m.source_uid = j.value("source_uid", m.uid);
    m.source_file = j.value("source_file", "");
    m.output_file = j.value("output_file", "");
    if (j.contains("mbox_offset")) m.mbox_offset = j.at("mbox_offset").get<std::uint64_t>();
    m.flags = j.value("flags", std::vector<std::string>{});
    m.keywords = j.value("keywords", std::vector<std::string>{});
    m.changes = j.value("changes", std::vector<std::string>{});
    m.internaldate = j.value("internaldate", std::int64_t{0});
    m.size = j.value("size", std::uint64_t{0});
    m.sha1 = j.value("sha1", "");
    m.disposition = j.at("disposition").get<std::string>();
    m.reason = j.value("reason", "");
    m.kind = disposition_of(m.disposition);
    return m;
  } catch (const std::exception& e) {
    error = e.what();
    return std::nullopt;
  }
}

void Sha1Stream::reset(bool lf_to_crlf) {
  sha_.reset();
  lf_to_crlf_ = lf_to_crlf;
  last_ = 0;
  size_ = vsize_ = 0;
}

void Sha1Stream::feed(std::string_view bytes) {
  size_ += bytes.size();
  // W= as the encoder counts it: a LF not preceded by CR counts as two.
  for (char c : bytes) {
    vsize_ += (c == '\n' && last_ != '\r') ? 2 : 1;
    last_ = c;
  }
  if (!lf_to_crlf_) {
    sha_.update(bytes);
    return;
  }
  std::size_t start = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] != '\n') continue;
    sha_.update(bytes.substr(start, i - start));
    sha_.update("\r\n");
    start = i + 1;
  }
  sha_.update(bytes.substr(start));
}

std::array<std::uint8_t, 20> Sha1Stream::finish() { return sha_.finish(); }

std::string stream_gzip_file(const std::filesystem::path& path, std::span<char> buffer, std::uint64_t& bytes_read,
                             const std::function<void(std::string_view)>& sink) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return path.string() + ": zlib init failed";
  std::vector<char> out(64 * 1024);
  std::string error;
  bool ended = false;  // the last member was complete
  SourceStream s = stream_source_file(path, buffer, [&](std::string_view chunk) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    z.avail_in = static_cast<uInt>(chunk.size());
    while (error.empty() && z.avail_in > 0) {
      if (ended) {
        inflateReset(&z);  // another gzip member follows
        ended = false;
      }
      z.next_out = reinterpret_cast<Bytef*>(out.data());
      z.avail_out = static_cast<uInt>(out.size());
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
        error = path.string() + ": not a valid gzip stream (" + (z.msg ? z.msg : "zlib error") + ")";
        break;
      }
      sink(std::string_view(out.data(), out.size() - z.avail_out));
      if (rc == Z_STREAM_END) ended = true;
      if (rc == Z_BUF_ERROR && z.avail_out == out.size()) break;
    }
  });
  inflateEnd(&z);
  bytes_read += s.bytes;
  if (s.status != SourceOpen::Status::ok) return s.message.empty() ? path.string() + ": cannot read" : s.message;
  if (error.empty() && !ended) error = path.string() + ": gzip stream ends early (truncated?)";
  return error;
}

}  // namespace cyrconv
