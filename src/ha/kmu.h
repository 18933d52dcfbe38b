// ha/kmu: key management (idsync-kmu): back up the key set to a key file,
// list it, rotate its key, or abandon it for a new one.
//
// Every operation works on the key set this server holds (under its home),
// after checking it against the database. Rotation and abandonment change
// the shared database, so only the active server may do them (fenced).
// Thread-safety: one call at a time per home.
#pragma once

#include <string>
#include <vector>

#include "core/error.h"
#include "crypto/keyset.h"
#include "crypto/password.h"
#include "ha/home.h"
#include "store/store.h"

namespace idsync {

// Seals the key set with the service account's credentials (checked
// against the database first, so the file is sure to open at activation)
// and writes it to `path` (mode 0600, atomically).
struct ExportResult {
  std::string set_id;
  uint32_t active_version = 0;
  std::string account;
};
Result<ExportResult> ExportKeySet(const ServerHome& home, Store& store, const std::string& user,
                                  const SecureString& password, const std::string& path);

struct KeyListing {
  std::string set_id;
  uint32_t active_version = 0;
  struct Version {
    uint32_t version = 0;
    std::string created_at;
    bool recorded = false;  // the database holds its check value
  };
  std::vector<Version> versions;
  int64_t secrets = 0;
};
Result<KeyListing> ListKeySet(const ServerHome& home, Store& store);

// Adds a key version, makes it active and re-seals every stored secret
// under it. Key files exported before do not hold the new version.
struct RotateResult {
  uint32_t new_version = 0;
  int64_t resealed = 0;
};
Result<RotateResult> RotateKeySet(const ServerHome& home, Store& store);

// Replaces the key set with a new one; every stored secret is deleted (it
// cannot be opened any more) and must be entered again.
struct AbandonResult {
  std::string old_set_id, new_set_id;
  std::vector<std::string> dropped_secrets;  // "MA/NAME"
};
Result<AbandonResult> AbandonKeySet(const ServerHome& home, Store& store);

}  // namespace idsync
