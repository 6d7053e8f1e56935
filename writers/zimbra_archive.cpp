#include "writers/zimbra_archive.h"

namespace cyrconv {

namespace {

std::uint64_t padded(std::uint64_t n) { return (n + TarWriter::block - 1) / TarWriter::block * TarWriter::block; }

}  // namespace

std::uint64_t ZimbraArchive::tar_budget(std::uint64_t limit) {
  if (limit == 0) return UINT64_MAX;
  const std::uint64_t reserve = limit / 1024 + 1024;
  return limit > reserve ? limit - reserve : 0;
}

std::uint64_t ZimbraArchive::entry_bytes(const TarEntry& e) {
  std::uint64_t n = TarWriter::block + padded(e.size);
  if (e.name.size() >= 100) n += TarWriter::block + padded(e.name.size() + 1);
  return n;
}

WriteStatus ZimbraArchive::open(const std::filesystem::path& dir, Namer name, std::uint64_t limit) {
  dir_ = dir;
  name_ = std::move(name);
  budget_ = tar_budget(limit);
  return start_part();
}

WriteStatus ZimbraArchive::start_part() {
  Part p;
  p.gz = std::make_unique<GzipOutputFile>();
  p.name = name_(static_cast<unsigned>(parts_.size() + 1));
  WriteStatus st = p.gz->open(dir_, p.name);
  GzipOutputFile* gz = p.gz.get();
  parts_.push_back(std::move(p));
  tar_ = std::make_unique<TarWriter>([gz](std::string_view b) { return gz->write(b); });
  part_entries_ = 0;
  return st;
}

// The end-of-archive marker, then the part's gzip trailer; its file waits for commit().
WriteStatus ZimbraArchive::end_part() {
  WriteStatus st = tar_->finish();
  WriteStatus c = parts_.back().gz->close();
  return st ? c : st;
}

WriteStatus ZimbraArchive::begin(const TarEntry& e) {
  // What the part would hold with this entry and the archive's end (two zero blocks, padding to
  // a whole record).
  const std::uint64_t end = tar_->bytes_written() + entry_bytes(e) + 2 * TarWriter::block;
  const std::uint64_t after = (end + TarWriter::record - 1) / TarWriter::record * TarWriter::record;
  if (part_entries_ > 0 && after > budget_) {
    if (auto st = end_part(); !st) return st;
    if (auto st = start_part(); !st) return st;
  }
  ++part_entries_;
  ++entries_;
  return tar_->begin(e);
}

WriteStatus ZimbraArchive::write(std::string_view data) { return tar_->write(data); }

WriteStatus ZimbraArchive::end() { return tar_->end(); }

WriteStatus ZimbraArchive::commit(bool sync) {
  if (parts_.empty()) return WriteStatus{false, "zimbra archive not open"};
  if (auto st = end_part(); !st) return st;
  for (auto& p : parts_)
    if (auto st = p.gz->commit(dir_ / p.name, sync); !st) return st;
  return {};
}

void ZimbraArchive::abort() {
  for (auto& p : parts_) p.gz->abort();
}

}  // namespace cyrconv
