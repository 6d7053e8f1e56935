#include "parsers/sha1.h"

#include <openssl/evp.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace cyrconv {

namespace {

[[noreturn]] void fail(const char* what) { throw std::runtime_error(std::string("OpenSSL: SHA-1 ") + what + " failed"); }

// EVP_sha1() makes every init fetch the implementation from the provider again (OpenSSL 3);
// a method fetched once skips that (about 0.25 us a message here).
const EVP_MD* sha1_md() {
  static const std::unique_ptr<EVP_MD, decltype(&EVP_MD_free)> md(EVP_MD_fetch(nullptr, "SHA1", nullptr), &EVP_MD_free);
  if (!md) fail("implementation fetch");
  return md.get();
}

}  // namespace

Sha1::Sha1() : ctx_(EVP_MD_CTX_new()) {
  if (!ctx_) fail("context allocation");
  reset();
}

Sha1::~Sha1() {
  EVP_MD_CTX_free(ctx_);
  EVP_MD_CTX_free(fork_);
}

void Sha1::reset() {
  if (EVP_DigestInit_ex(ctx_, sha1_md(), nullptr) != 1) fail("init");
}

void Sha1::update(std::string_view bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(ctx_, bytes.data(), bytes.size()) != 1) fail("update");
}

Sha1Digest Sha1::finish() {
  Sha1Digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx_, d.data(), &len) != 1 || len != d.size()) fail("final");
  reset();
  return d;
}

Sha1Digest Sha1::peek() {
  if (!fork_ && !(fork_ = EVP_MD_CTX_new())) fail("context allocation");
  if (EVP_MD_CTX_copy_ex(fork_, ctx_) != 1) fail("copy");
  Sha1Digest d{};
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(fork_, d.data(), &len) != 1 || len != d.size()) fail("final");
  return d;
}

Sha1Digest sha1(std::string_view bytes) {
  Sha1Digest d{};
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), d.data(), &len, sha1_md(), nullptr) != 1 || len != d.size()) fail("digest");
  return d;
}

}  // namespace cyrconv
