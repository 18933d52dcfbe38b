// crypto/secret: secrets stored in the database (management-agent passwords),
// encrypted under the installation's key set.
//
// A sealed secret is text for a TEXT column: "v1:<key version>:<base64>", the
// base64 holding a 24-byte random nonce followed by the XChaCha20-Poly1305
// ciphertext and tag. The caller's `binding` names the row the secret belongs
// to and is authenticated, so a ciphertext copied into another row does not open.
// Thread-safety: safe from any thread; the key set must not change meanwhile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

struct KeySet;

// Encrypts `secret` under the set's active key version. `binding` identifies the
// row, e.g. "ma:hr-ldap:password"; the same binding must be given to open it.
// kInvalidArgument when the set has no active key; kInternal if libsodium
// cannot start.
Result<std::string> SealSecret(const KeySet& set, std::string_view binding, const SecureString& secret);

// Decrypts a sealed secret. kKeySetMismatch when its key version is not in
// `set`. kDatabase when the text is malformed or does not authenticate (altered,
// or sealed for another binding): the text comes from a database row, so a bad
// value is damaged stored data, not a mistake in the caller's arguments.
Result<SecureString> OpenSecret(const KeySet& set, std::string_view binding, std::string_view sealed);

// The key version a sealed secret uses, without decrypting it (rotation
// re-encrypts those not under the active version). kDatabase when malformed.
Result<uint32_t> SealedSecretVersion(std::string_view sealed);

}  // namespace idsync
