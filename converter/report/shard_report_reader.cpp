#include "converter/report/shard_report_reader.h"

#include <vector>

namespace cyrconv {

using nlohmann::ordered_json;

void count_severities(const ordered_json& findings, std::uint64_t& errors, std::uint64_t& warnings) {
  for (const auto& f : findings) {
    const std::string sev = f.value("severity", "");
    if (sev == "error") ++errors;
    if (sev == "warning") ++warnings;
  }
}

namespace {

// Builds a tree from SAX events, as nlohmann's own DOM parser does.
class TreeBuilder {
 public:
  ordered_json root;
  bool done() const { return stack_.empty(); }
  std::size_t depth() const { return stack_.size(); }
  const std::string& key_at(std::size_t level) const { return keys_[level]; }
  bool array_at(std::size_t level) const { return stack_[level]->is_array(); }

  template <typename V>
  void value(V&& v) {
    put(ordered_json(std::forward<V>(v)));
  }
  void start(ordered_json container) {
    stack_.push_back(put(std::move(container)));
    keys_.emplace_back();
  }
  void key(const std::string& k) {
    keys_.back() = k;
    member_ = &(*stack_.back())[k];
  }
  void end() {
    stack_.pop_back();
    keys_.pop_back();
  }
  // The member `key` of the innermost object is set to `v` (the member being read).
  void replace_member(ordered_json v) { *member_ = std::move(v); }

 private:
  ordered_json* put(ordered_json v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    if (stack_.back()->is_array()) {
      stack_.back()->push_back(std::move(v));
      return &stack_.back()->back();
    }
    *member_ = std::move(v);
    return member_;
  }
  std::vector<ordered_json*> stack_;
  std::vector<std::string> keys_;  // per level: the member being read (objects)
  ordered_json* member_ = nullptr;
};

// The report's tree, with users[].folders[].messages diverted entry by entry into the spill.
class ShardReportSax : public nlohmann::json_sax<ordered_json> {
 public:
  explicit ShardReportSax(ReportEntrySpill& spill) : spill_(spill) {}
  TreeBuilder tree;
  std::string spill_error;

  bool null() override { return scalar(nullptr); }
  bool boolean(bool v) override { return scalar(v); }
  bool number_integer(number_integer_t v) override { return scalar(v); }
  bool number_unsigned(number_unsigned_t v) override { return scalar(v); }
  bool number_float(number_float_t v, const string_t&) override { return scalar(v); }
  bool string(string_t& v) override { return scalar(v); }
  bool binary(binary_t& v) override { return scalar(ordered_json::binary(v)); }
  bool start_object(std::size_t) override {
    (diverting_ ? entry_ : tree).start(ordered_json::object());
    return true;
  }
  bool key(string_t& k) override {
    (diverting_ ? entry_ : tree).key(k);
    return true;
  }
  bool end_object() override { return end(); }
  bool start_array(std::size_t) override {
    if (!diverting_ && at_folder_messages()) {
      span_ = spill_.new_span();
      tree.replace_member(ordered_json::array({span_}));
      diverting_ = true;
      return true;
    }
    (diverting_ ? entry_ : tree).start(ordered_json::array());
    return true;
  }
  bool end_array() override {
    if (diverting_ && entry_.done()) {  // the end of the folder's "messages"
      diverting_ = false;
      return true;
    }
    return end();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  // Opening the array of users[i].folders[j].messages.
  bool at_folder_messages() const {
    return tree.depth() == 5 && !tree.array_at(0) && tree.key_at(0) == "users" && tree.array_at(1) &&
           !tree.array_at(2) && tree.key_at(2) == "folders" && tree.array_at(3) && !tree.array_at(4) &&
           tree.key_at(4) == "messages";
  }
  template <typename V>
  bool scalar(V&& v) {
    if (!diverting_) {
      tree.value(std::forward<V>(v));
      return true;
    }
    entry_.value(std::forward<V>(v));
    return !entry_.done() || entry_done();
  }
  bool end() {
    TreeBuilder& b = diverting_ ? entry_ : tree;
    b.end();
    return !diverting_ || !entry_.done() || entry_done();
  }
  // One message entry is read: counted, and spilled as compact JSON.
  bool entry_done() {
    ReportEntrySpan& s = spill_.span(span_);
    std::uint64_t uid = 0;
    try {
      uid = entry_.root.value("uid", std::uint64_t{0});
      count_severities(entry_.root.at("findings"), s.errors, s.warnings);
    } catch (const nlohmann::json::exception& e) {
      if (s.malformed.empty()) s.malformed = e.what();
    }
    spill_error = spill_.append(span_, uid, entry_.root.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    entry_.root = nullptr;
    return spill_error.empty();
  }

  ReportEntrySpill& spill_;
  bool diverting_ = false;
  std::size_t span_ = 0;
  TreeBuilder entry_;
};

}  // namespace

ShardReportTree read_shard_report(std::istream& in, ReportEntrySpill& spill) {
  ShardReportSax sax(spill);
  ShardReportTree r;
  const bool ok = ordered_json::sax_parse(in, &sax, ordered_json::input_format_t::json, true);
  r.spill_error = std::move(sax.spill_error);
  r.is_json = ok && sax.tree.done();
  if (r.is_json) r.tree = std::move(sax.tree.root);
  return r;
}

}  // namespace cyrconv
