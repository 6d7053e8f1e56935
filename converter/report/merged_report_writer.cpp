// write_merged_report (report_merge.h): the merged tree streamed out with its folders' entries
// read back from the scratch file one at a time.
#include <algorithm>
#include <memory>
#include <vector>

#include "converter/report/report_merge.h"
#include "writers/output_file.h"
#include "writers/report_json.h"

namespace cyrconv {

namespace {

using nlohmann::ordered_json;

// One folder's entries from its spans. One span: as they are. Several (a folder split across
// shards, spans in range order): by UID, an entry of an earlier span first among equal UIDs, as a
// stable sort of all of them would order them; merged as they are read when every span is in UID
// order, sorted in memory otherwise (only a report not written by convert).
class FolderEntries {
 public:
  FolderEntries(PrettyJsonStream& js, const ReportEntrySpill& spill) : js_(js), spill_(spill) {}

  std::string write(const ordered_json& spans) {
    std::vector<std::size_t> ids;
    bool sorted = true;
    for (const auto& n : spans) {
      ids.push_back(n.get<std::size_t>());
      sorted = sorted && spill_.span(ids.back()).sorted;
    }
    js_.begin_array();
    std::string error = ids.size() == 1 ? copy(ids.front()) : sorted ? merge(ids) : sort(ids);
    js_.end();
    return error;
  }

 private:
  void entry(std::string_view json) {
    js_.value(ordered_json::parse(json));  // our own compact dump of it
  }
  std::string copy(std::size_t id) {
    ReportEntrySpill::Reader r(spill_, id);
    while (r.next()) entry(r.json());
    return r.error();
  }
  std::string merge(const std::vector<std::size_t>& ids) {
    std::vector<std::unique_ptr<ReportEntrySpill::Reader>> readers;
    std::vector<bool> live;
    for (std::size_t id : ids) {
      readers.push_back(std::make_unique<ReportEntrySpill::Reader>(spill_, id));
      live.push_back(readers.back()->next());
      if (!readers.back()->error().empty()) return readers.back()->error();
    }
    for (;;) {
      std::size_t pick = readers.size();
      for (std::size_t i = 0; i < readers.size(); ++i)
        if (live[i] && (pick == readers.size() || readers[i]->uid() < readers[pick]->uid())) pick = i;
      if (pick == readers.size()) return {};
      entry(readers[pick]->json());
      live[pick] = readers[pick]->next();
      if (!readers[pick]->error().empty()) return readers[pick]->error();
    }
  }
  std::string sort(const std::vector<std::size_t>& ids) {
    std::vector<std::pair<std::uint64_t, std::string>> all;
    for (std::size_t id : ids) {
      ReportEntrySpill::Reader r(spill_, id);
      while (r.next()) all.emplace_back(r.uid(), std::string(r.json()));
      if (!r.error().empty()) return r.error();
    }
    std::stable_sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [uid, json] : all) entry(json);
    return {};
  }

  PrettyJsonStream& js_;
  const ReportEntrySpill& spill_;
};

// An object's members; `inner(key, value)` writes those it takes (true) and js.value the rest.
template <typename Inner>
void write_object(PrettyJsonStream& js, const ordered_json& obj, Inner inner) {
  js.begin_object();
  for (const auto& [key, v] : obj.items()) {
    js.key(key);
    if (!inner(key, v)) js.value(v);
  }
  js.end();
}

// An array of objects, each by write_one; anything else as it is.
template <typename One>
void write_objects(PrettyJsonStream& js, const ordered_json& array, One write_one) {
  if (!array.is_array()) return js.value(array);
  js.begin_array();
  for (const auto& e : array) {
    if (e.is_object())
      write_one(e);
    else
      js.value(e);
  }
  js.end();
}

// An ostream's bytes into an OutputFile, through a fixed buffer; the first failure is kept.
class OutputFileBuf : public std::streambuf {
 public:
  explicit OutputFileBuf(OutputFile& file) : file_(file) { setp(buf_, buf_ + sizeof buf_); }
  WriteStatus status;
  int sync() override {
    if (status && pptr() > pbase()) status = file_.write(std::string_view(pbase(), pptr() - pbase()));
    setp(buf_, buf_ + sizeof buf_);
    return status ? 0 : -1;
  }

 private:
  int_type overflow(int_type c) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) sputc(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }
  OutputFile& file_;
  char buf_[1 << 16];
};

}  // namespace

std::string write_merged_report_file(const MergedReport& m, const std::filesystem::path& path) {
  OutputFile file;
  if (auto st = file.open(path.parent_path(), path.filename().string()); !st) return st.message;
  OutputFileBuf buf(file);
  std::ostream out(&buf);
  const std::string error = write_merged_report(m, out);
  out.flush();
  if (!error.empty()) return error;
  if (!buf.status) return buf.status.message;
  if (auto st = file.commit(path, -1, true, OutputFile::OnExisting::replace); !st) return st.message;
  return {};
}

std::string write_merged_report(const MergedReport& m, std::ostream& out) {
  PrettyJsonStream js(out);
  FolderEntries entries(js, *m.entries);
  std::string error;
  auto folder = [&](const ordered_json& f) {
    write_object(js, f, [&](const std::string& key, const ordered_json& v) {
      if (key != "messages") return false;
      if (auto e = entries.write(v); !e.empty() && error.empty()) error = e;
      return true;
    });
  };
  auto user = [&](const ordered_json& u) {
    write_object(js, u, [&](const std::string& key, const ordered_json& v) {
      if (key != "folders") return false;
      write_objects(js, v, folder);
      return true;
    });
  };
  write_object(js, m.tree, [&](const std::string& key, const ordered_json& v) {
    if (key != "users") return false;
    write_objects(js, v, user);
    return true;
  });
  js.finish();
  return error;
}

}  // namespace cyrconv
