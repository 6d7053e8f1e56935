#pragma once
// The manifest of an earlier run (manifests/SIDE.jsonl), as an incremental run, --follow-source
// and the Zimbra re-run read it. Every line is read and checked once; what stays in memory is
// where each line is in the file and its source UID (16 bytes a message), with the file held
// open, not the lines and their parsed records (about 1 KB a message: a folder of a million
// messages would need a gigabyte). lines[k] and records[k] read line k again. A manifest is only ever replaced by a
// rename (writers/manifest.h, write_small_file), never rewritten in place, so the open file
// keeps the bytes that were checked whatever a later step writes.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "converter/verify/output_reader.h"

namespace cyrconv {

class EarlierManifest {
  struct Store;

 public:
  // An index-based view whose elements are made on access (`T get(store, k)`): size(),
  // operator[] and iteration as a vector's, elements by value.
  template <class T, T (*get)(const Store&, std::size_t)>
  class View {
   public:
    class iterator {
     public:
      using iterator_category = std::input_iterator_tag;
      using value_type = T;
      using difference_type = std::ptrdiff_t;
      using pointer = void;
      using reference = T;
      iterator(const View* v, std::size_t k) : v_(v), k_(k) {}
      T operator*() const { return (*v_)[k_]; }
      iterator& operator++() { ++k_; return *this; }
      bool operator==(const iterator& o) const { return k_ == o.k_; }
      bool operator!=(const iterator& o) const { return k_ != o.k_; }

     private:
      const View* v_;
      std::size_t k_;
    };
    std::size_t size() const { return EarlierManifest::count(store_.get()); }
    bool empty() const { return size() == 0; }
    T operator[](std::size_t k) const { return get(*store_, k); }
    iterator begin() const { return {this, 0}; }
    iterator end() const { return {this, size()}; }
    operator std::vector<T>() const {  // every element at once, for the few callers that need a vector
      std::vector<T> all;
      all.reserve(size());
      for (std::size_t k = 0; k < size(); ++k) all.push_back((*this)[k]);
      return all;
    }

   private:
    friend class EarlierManifest;
    friend EarlierManifest read_earlier_manifest(const std::filesystem::path& path);
    std::shared_ptr<const Store> store_;
  };

  static std::size_t count(const Store*);
  static std::string line_at(const Store&, std::size_t k);
  static ManifestRecord record_at(const Store&, std::size_t k);

  // Line k's source UID without reading it again (kept, 4 bytes a line): what an incremental
  // run matches the source's records by.
  std::uint32_t source_uid(std::size_t k) const;

  View<std::string, &EarlierManifest::line_at> lines;          // without their line ends
  View<ManifestRecord, &EarlierManifest::record_at> records;  // parallel to lines
  std::string error;                                           // "PATH: line N: ..." when unreadable

  friend EarlierManifest read_earlier_manifest(const std::filesystem::path& path);
};

// The lines before the first unreadable one are kept (with `error` set).
EarlierManifest read_earlier_manifest(const std::filesystem::path& path);

}  // namespace cyrconv
