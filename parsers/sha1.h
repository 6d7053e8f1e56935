#pragma once
// SHA-1 of bytes, the one way the project computes it (Cyrus's message GUIDs, manifests, names,
// fingerprints). OpenSSL's EVP interface picks SHA-NI where the CPU has it; the digest method is
// fetched once per process rather than at every message (a fixed cost that showed on small
// messages). One error policy: any OpenSSL failure throws std::runtime_error, never ignored.
#include <array>
#include <cstdint>
#include <string_view>

struct evp_md_ctx_st;

namespace cyrconv {

using Sha1Digest = std::array<std::uint8_t, 20>;

// Streaming SHA-1: update() any number of times, then finish(), which also starts a new digest.
class Sha1 {
 public:
  Sha1();
  ~Sha1();
  Sha1(const Sha1&) = delete;
  Sha1& operator=(const Sha1&) = delete;

  void reset();                       // drop what was fed, start a new digest
  void update(std::string_view bytes);
  Sha1Digest finish();                // the digest of everything fed since the last reset
  Sha1Digest peek();                  // the same without ending the stream (a copy finishes)

 private:
  evp_md_ctx_st* ctx_;
  evp_md_ctx_st* fork_ = nullptr;     // peek()'s copy, allocated once
};

// The digest of one buffer.
Sha1Digest sha1(std::string_view bytes);

}  // namespace cyrconv
