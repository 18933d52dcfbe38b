#include "crypto/password.h"

#include <sodium.h>

namespace idsync {
namespace {

bool InitSodium() {
  static const bool ok = sodium_init() >= 0;
  return ok;
}

void Wipe(std::string& s) {
  if (!s.empty()) sodium_memzero(s.data(), s.size());
  s.clear();
}

}  // namespace

SecureString::~SecureString() { Wipe(value_); }

SecureString::SecureString(SecureString&& other) noexcept : value_(std::move(other.value_)) {
  Wipe(other.value_);
}

SecureString& SecureString::operator=(SecureString&& other) noexcept {
  if (this != &other) {
    Wipe(value_);
    value_ = std::move(other.value_);
    Wipe(other.value_);
  }
  return *this;
}

Result<std::string> HashPassword(const SecureString& password) {
  if (!InitSodium()) return Fail(ErrorCode::kInternal, "libsodium could not be initialised");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.value().data(), password.value().size(),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return Fail(ErrorCode::kInternal, "not enough memory to hash the password (Argon2id)");
  }
  return std::string(out);
}

bool VerifyPassword(const SecureString& password, const std::string& hash) {
  if (!InitSodium()) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.value().data(), password.value().size()) == 0;
}

}  // namespace idsync
