// crypto/password: one-way password hashes (Argon2id via libsodium).
// Only the hash is ever stored; the clear password stays in memory that the
// caller wipes (SecureString).
// Thread-safety: functions are safe to call from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

// A string that wipes its memory when destroyed. Not copyable.
class SecureString {
 public:
  SecureString() = default;
  explicit SecureString(std::string value) : value_(std::move(value)) {}
  ~SecureString();
  SecureString(SecureString&& other) noexcept;
  SecureString& operator=(SecureString&& other) noexcept;
  SecureString(const SecureString&) = delete;
  SecureString& operator=(const SecureString&) = delete;
  const std::string& value() const { return value_; }
  std::string& mutable_value() { return value_; }
  bool empty() const { return value_.empty(); }

 private:
  std::string value_;
};

// Argon2id hash in libsodium's encoded form ("$argon2id$v=19$m=...").
// kInternal only when the system cannot allocate the work memory.
Result<std::string> HashPassword(const SecureString& password);

// true when `password` matches `hash`; false on mismatch or a malformed hash.
bool VerifyPassword(const SecureString& password, const std::string& hash);

}  // namespace idsync
