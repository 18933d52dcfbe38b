// crypto/keyset: the installation's key set and the server's local copy of it.
//
// A key set holds numbered symmetric keys (XChaCha20-Poly1305) that encrypt the
// secrets stored in the database, plus an X25519 key pair for sealed boxes. Each
// server keeps the key set on its own disk, never in the database; the database
// keeps only the set id and one check value per key version, which prove that a
// key set belongs to the installation without revealing a key.
// Thread-safety: a KeySet is a plain value (no internal locking); the functions
// are safe to call from any thread on distinct or unchanging key sets.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

// One key of the set. The key is wiped when the value is destroyed or moved from.
struct KeyVersion {
  uint32_t version = 0;                 // 1, 2, ...
  std::array<unsigned char, 32> key{};  // XChaCha20-Poly1305 (IETF) key
  std::string created_at;               // ISO 8601 UTC, e.g. "2026-11-22T13:45:00Z"

  KeyVersion() = default;
  KeyVersion(const KeyVersion&) = default;
  KeyVersion& operator=(const KeyVersion&) = default;
  KeyVersion(KeyVersion&& other) noexcept;
  KeyVersion& operator=(KeyVersion&& other) noexcept;
  ~KeyVersion();
};

// Copies duplicate the key material (each copy wipes its own); a moved-from set
// is empty and wiped.
struct KeySet {
  std::string id;                    // 32 lowercase hex chars, random; names the installation's key set
  uint32_t active_version = 0;       // the version new secrets are sealed with
  std::vector<KeyVersion> versions;  // ascending by version
  // X25519 key pair for sealed boxes (password notifications).
  std::array<unsigned char, 32> box_public{}, box_secret{};

  KeySet() = default;
  KeySet(const KeySet&) = default;
  KeySet& operator=(const KeySet&) = default;
  KeySet(KeySet&& other) noexcept;
  KeySet& operator=(KeySet&& other) noexcept;
  ~KeySet();
};

// Initialises libsodium once per process; false only if the library cannot
// start (no entropy source). The functions of crypto/ that need libsodium call it.
bool SodiumReady();

// A new key set: random id, version 1 active, a new box key pair.
// kInternal only when libsodium cannot be initialised.
Result<KeySet> NewKeySet();

// The version numbered `version`, or nullptr. The pointer lives as long as the
// set is not changed.
const KeyVersion* FindVersion(const KeySet& set, uint32_t version);

// Rotation: adds a new random key numbered one above the highest version, makes
// it active and returns its number. Existing versions stay so old secrets open.
uint32_t AddKeyVersion(KeySet& set);

// The check value of one key version, 64 lowercase hex chars: keyed BLAKE2b-256
// (the version's key as the hash key) over a fixed context string, the set id
// and the version number. Empty when the set has no such version.
std::string CheckValue(const KeySet& set, uint32_t version);

// OK when `set` carries `recorded_id` and, for every recorded version, a key
// whose check value equals the recorded one (versions newer than the records,
// e.g. from a rotation whose database write did not commit, are allowed).
// kKeySetMismatch otherwise, including when nothing is recorded, with a message
// that tells another installation's key set from an older or altered copy.
Status VerifyKeySet(const KeySet& set, std::string_view recorded_id,
                    const std::map<uint32_t, std::string>& recorded_checks);

// The key set as a small versioned JSON document
// ({"format":"idsync-keyset","version":1,...}, keys in base64); the local file
// and the key file's payload both hold it. kInvalidArgument when the set is not
// well formed (bad id, no versions, duplicate or unordered versions, unknown
// active version).
Result<SecureString> SerializeKeySet(const KeySet& set);

// Reads a document written by SerializeKeySet. kKeyFileDamaged naming the bad
// field when malformed; kUnsupported for a newer document version.
Result<KeySet> ParseKeySet(std::string_view text);

// Writes the server's local copy atomically (temporary file in the same folder,
// fsync, rename, fsync of the folder) with mode 0600. kInvalidArgument for a
// malformed set, kIo naming the path when the folder cannot be written.
Status WriteKeySetFile(const std::filesystem::path& path, const KeySet& set);

// Reads the local copy. kPermission (the message says `chmod 600 PATH`) when
// group or others may read or write the file; kIo naming the path when it is
// missing or unreadable; kKeyFileDamaged when malformed; kUnsupported when newer.
Result<KeySet> ReadKeySetFile(const std::filesystem::path& path);

}  // namespace idsync
