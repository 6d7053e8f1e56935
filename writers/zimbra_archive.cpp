#include "writers/zimbra_archive.h"

namespace cyrconv {

namespace {

std::uint64_t padded(std::uint64_t n) { return (n + TarWriter::block - 1) / TarWriter::block * TarWriter::block; }

constexpr std::size_t read_chunk = 256 * 1024;

}  // namespace

WriteStatus compress_staged_part(ScratchFile& tar, GzipOutputFile& gz, const std::filesystem::path& dir,
                                 const std::string& name) {
  if (auto st = gz.open(dir, name); !st) return st;
  std::vector<char> buffer(read_chunk);
  const WriteStatus st = tar.read_all(buffer, [&gz](std::string_view b) { return gz.write(b); });
  const WriteStatus c = gz.close();
  return st ? c : st;
}

ZimbraArchive::~ZimbraArchive() { abort(); }

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

WriteStatus ZimbraArchive::open(const std::filesystem::path& dir, Namer name, std::uint64_t limit, PartStaging staging) {
  dir_ = dir;
  name_ = std::move(name);
  budget_ = tar_budget(limit);
  staging_ = staging;
  return start_part();
}

WriteStatus ZimbraArchive::start_part() {
  auto p = std::make_unique<Part>();
  p->gz = std::make_unique<GzipOutputFile>();
  const unsigned number = static_cast<unsigned>(parts_.size() + 1);
  p->name = name_(number);
  WriteStatus st;
  if (staging_.compressor && (number > 1 || staging_.first)) {
    // Staged: the tar bytes wait on disk (unlinked) for a thread to compress them.
    p->staged = std::make_unique<ScratchFile>();
    st = p->staged->open(dir_);
    ScratchFile* f = p->staged.get();
    tar_ = std::make_unique<TarWriter>([f](std::string_view b) { return f->write(b); });
  } else {
    st = p->gz->open(dir_, p->name);
    GzipOutputFile* gz = p->gz.get();
    tar_ = std::make_unique<TarWriter>([gz](std::string_view b) { return gz->write(b); });
  }
  parts_.push_back(std::move(p));
  part_entries_ = 0;
  return st;
}

// The end-of-archive marker, then the part's gzip trailer, or its compression handed out; its
// file waits for commit().
WriteStatus ZimbraArchive::end_part() {
  Part& p = *parts_.back();
  WriteStatus st = tar_->finish();
  // All of a staged part on disk, its buffer freed: a waiting part holds no memory, and its
  // compression only reads it.
  if (st && p.staged) st = p.staged->park();
  if (!p.staged || !st) {
    const WriteStatus c = p.staged ? st : p.gz->close();
    p.status = st ? c : st;
    p.done = true;
    return p.status;
  }
  handed_ = true;
  staging_.compressor->submit([this, &p] { compress(p); });
  return {};
}

// On a compressor's thread (or the writer's own): touches only `p` and the failure record.
void ZimbraArchive::compress(Part& p) {
  WriteStatus st;
  if (cancelled_.load(std::memory_order_acquire)) {
    st = WriteStatus{false, (dir_ / p.name).string() + ": archive aborted before this part was compressed"};
  } else {
    try {
      st = compress_staged_part(*p.staged, *p.gz, dir_, p.name);
    } catch (const std::exception& e) {
      st = WriteStatus{false, (dir_ / p.name).string() + ": compress: " + e.what()};
    } catch (...) {
      st = WriteStatus{false, (dir_ / p.name).string() + ": compress: unknown error"};
    }
  }
  p.staged.reset();  // its disk space goes now, not at commit
  p.status = st;
  p.done = true;
  if (!st) {
    std::lock_guard<std::mutex> lock(failure_mutex_);
    if (failure_) failure_ = st;
    failed_.store(true, std::memory_order_release);
  }
}

WriteStatus ZimbraArchive::handed_failure() {
  std::lock_guard<std::mutex> lock(failure_mutex_);
  return failure_;
}

void ZimbraArchive::wait_handed() {
  if (!handed_) return;
  staging_.compressor->wait();
  handed_ = false;
}

WriteStatus ZimbraArchive::begin(const TarEntry& e) {
  // A part compressed elsewhere failed: the archive cannot be committed, so stop filling it.
  if (failed_.load(std::memory_order_acquire)) return handed_failure();
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
  const WriteStatus st = end_part();
  wait_handed();
  if (!st) return st;
  // Every part whole before any is named: a failed compression leaves no part behind.
  for (const auto& p : parts_) {
    if (!p->status) return p->status;
    if (!p->done) return WriteStatus{false, (dir_ / p->name).string() + ": part was never compressed"};
  }
  for (auto& p : parts_)
    if (auto c = p->gz->commit(dir_ / p->name, sync); !c) return c;
  return {};
}

void ZimbraArchive::abort() {
  cancelled_.store(true, std::memory_order_release);
  wait_handed();
  for (auto& p : parts_) {
    p->gz->abort();
    p->staged.reset();
  }
}

}  // namespace cyrconv
