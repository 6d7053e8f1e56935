#include "converter/verify/mbox_reader.h"

#include <stdexcept>

namespace cyrconv {

namespace {

constexpr std::size_t decide_after = 40;          // longer than "X-Cyrconv-Orig-Content-Length:"
constexpr std::size_t max_held_line = 64 * 1024;  // From_ and metadata lines
constexpr std::string_view rename_prefix = "X-Cyrconv-Orig-";
// Fields convert writes at the end of each header (lower case, with the colon).
constexpr std::string_view metadata_fields[] = {"x-imapbase:", "x-uid:", "status:", "x-status:", "x-keywords:"};
// Fields convert renames in the message's own header (message_encoder.cpp).
constexpr std::string_view owned_fields[] = {"status:", "x-status:", "x-keywords:", "x-uid:",
                                             "x-imap:", "x-imapbase:", "content-length:"};

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c; }

bool starts_with_nocase(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i)
    if (lower(s[i]) != lower_prefix[i]) return false;
  return true;
}

template <std::size_t N>
std::string_view field_match(std::string_view s, const std::string_view (&names)[N]) {
  for (auto n : names)
    if (starts_with_nocase(s, n)) return n;
  return {};
}

std::string trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return std::string(v);
}

}  // namespace

MboxReader::MboxReader(std::function<void(MboxMessage&&)> sink)
    : sink_(std::move(sink)) {}

void MboxReader::feed(std::string_view chunk) {
  for (char c : chunk) on_byte(c);
}

void MboxReader::on_byte(char c) {
  ++pos_;
  if (kind_ == LineKind::undecided) {
    if (c == '\n') {
      decide(true);
      end_line();
      return;
    }
    if (prefix_.empty() && c == '>') {
      ++gt_;
      return;
    }
    prefix_ += c;
    if (prefix_.size() >= decide_after) decide(false);
    return;
  }
  if (c == '\n') {
    end_line();
    return;
  }
  switch (kind_) {
    case LineKind::pass:
      emit(std::string_view(&c, 1));
      break;
    case LineKind::from_line:
    case LineKind::metadata:
      if (held_.size() < max_held_line) held_ += c;
      break;
    default:
      break;
  }
}

void MboxReader::decide(bool complete_line) {
  const std::string_view p = prefix_;
  const bool from = p.substr(0, 5) == "From ";
  if (gt_ == 0 && from) {  // mboxrd quotes every other ^>*From : this starts a message
    kind_ = LineKind::from_line;
    held_ = prefix_;
    return;
  }
  if (!in_message_) {
    if (!stray_reported_)
      errors_.push_back("offset " + std::to_string(line_start_) + ": bytes before the first From_ line");
    stray_reported_ = true;
    kind_ = LineKind::skip;
    return;
  }
  kind_ = LineKind::pass;
  if (gt_ > 0 && from) {
    ++msg_.quoted_lines;
    emit(std::string(gt_ - 1, '>'));
    emit(p);
    return;
  }
  if (in_header_ && gt_ == 0) {
    if (complete_line && p.empty()) {  // the blank line that ends the header
      in_header_ = false;
      return;
    }
    if (!field_match(p, metadata_fields).empty()) {
      kind_ = LineKind::metadata;
      held_ = prefix_;
      return;
    }
    if (p.substr(0, rename_prefix.size()) == rename_prefix &&
        !field_match(p.substr(rename_prefix.size()), owned_fields).empty()) {
      ++msg_.renamed_headers;
      emit(p.substr(rename_prefix.size()));
      return;
    }
  }
  emit(std::string(gt_, '>'));
  emit(p);
}

void MboxReader::end_line() {
  switch (kind_) {
    case LineKind::from_line:
      if (in_message_) finish_message();
      start_message();
      break;
    case LineKind::metadata:
      take_metadata();
      break;
    case LineKind::pass:
      ++pending_eols_;
      break;
    default:
      break;
  }
  kind_ = LineKind::undecided;
  gt_ = 0;
  prefix_.clear();
  held_.clear();
  line_start_ = pos_;
}

void MboxReader::flush_eols() {
  for (; pending_eols_ > 0; --pending_eols_) {
    sha_.update("\r\n");
    size_ += 2;
  }
}

void MboxReader::emit(std::string_view s) {
  if (s.empty()) return;
  flush_eols();
  sha_.update(s);
  size_ += s.size();
}

void MboxReader::start_message() {
  msg_ = MboxMessage{};
  msg_.offset = line_start_;
  msg_.from_line = held_;
  in_message_ = true;
  in_header_ = true;
  pending_eols_ = 0;
  size_ = 0;
  sha_.reset();
}

void MboxReader::take_metadata() {
  const std::string_view name = field_match(held_, metadata_fields);
  const std::string value = trim(std::string_view(held_).substr(name.size()));
  if (held_.size() >= max_held_line) msg_.problems.push_back("metadata line longer than 64 KiB");
  std::optional<std::string>* slot = nullptr;
  if (name == "x-imapbase:") slot = &msg_.imapbase;
  if (name == "status:") slot = &msg_.status;
  if (name == "x-status:") slot = &msg_.x_status;
  if (name == "x-keywords:") slot = &msg_.keywords;
  if (name == "x-uid:") {
    std::uint32_t uid = 0;
    bool ok = !value.empty();
    for (char c : value) {
      ok = ok && c >= '0' && c <= '9' && uid < 429496729u;
      if (ok) uid = uid * 10 + static_cast<std::uint32_t>(c - '0');
    }
    if (!ok) msg_.problems.push_back("X-UID '" + value + "' is not a number");
    else if (msg_.uid) msg_.problems.push_back("X-UID given twice");
    else msg_.uid = uid;
    return;
  }
  if (!slot) return;
  if (*slot) msg_.problems.push_back(std::string(name) + " given twice");
  *slot = value;
}

void MboxReader::finish_message() {
  // The last line end belongs to the separator; a line end convert added comes before it.
  if (pending_eols_ == 0) msg_.separator_missing = true;
  const std::uint64_t keep = pending_eols_ ? pending_eols_ - 1 : 0;
  pending_eols_ = keep ? keep - 1 : 0;
  flush_eols();
  msg_.sha1_without_added_eol = sha_.peek();
  msg_.size_without_added_eol = size_;
  if (keep) pending_eols_ = 1;
  flush_eols();
  msg_.sha1 = sha_.finish();
  msg_.size = size_;
  in_message_ = false;
  sink_(std::move(msg_));
  msg_ = MboxMessage{};
}

void MboxReader::finish() {
  if (kind_ == LineKind::undecided && (gt_ || !prefix_.empty())) decide(false);
  if (kind_ == LineKind::from_line) {
    // A From_ line at the very end, without LF: an empty message.
    if (in_message_) finish_message();
    start_message();
  } else if (kind_ == LineKind::metadata) {
    take_metadata();
  }
  kind_ = LineKind::undecided;
  if (in_message_) finish_message();
}

}  // namespace cyrconv
