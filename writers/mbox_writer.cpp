#include "writers/mbox_writer.h"

#include <string>

namespace cyrconv {

std::uint64_t MboxWriter::bytes_written() const {
  return plain_ ? plain_->bytes_written() : settled_ + (pending_ ? pending_->size() : 0);
}

namespace {
const WriteStatus not_open{false, "mbox: not open"};
}

WriteStatus MboxWriter::write(std::string_view bytes) {
  if (plain_) return plain_->write(bytes);
  if (!gz_) return not_open;
  if (pending_->size() != 0) return WriteStatus{false, "mbox: settled bytes written while a message is pending"};
  settled_ += bytes.size();
  return gz_->write(bytes);
}

WriteStatus MboxWriter::write_message(std::string_view bytes) {
  if (plain_) return plain_->write(bytes);
  return gz_ ? pending_->write(bytes) : not_open;
}

WriteStatus MboxWriter::settle() {
  if (plain_ || !gz_ || pending_->size() == 0) return {};
  if (buffer_.empty()) buffer_.resize(256 * 1024);
  WriteStatus st = pending_->read_all(buffer_, [&](std::string_view chunk) { return gz_->write(chunk); });
  settled_ += pending_->size();
  if (auto cleared = pending_->clear(); st) st = cleared;
  return st;
}

WriteStatus MboxWriter::rewind_to(std::uint64_t mark) {
  if (plain_) return plain_->rewind_to(mark);
  if (!gz_) return not_open;
  if (mark != settled_)
    return WriteStatus{false, "mbox: a compressed stream rewinds only to the start of its pending message"};
  return pending_->clear();
}

}  // namespace cyrconv
