// ha/keys: the installation's key set as servers hold it, and the checks
// that tie a key file and a pair of credentials to this installation.
//
// The key set lives in the home folder (keys/keyset.json, 0600) of the
// server that was installed as active or activated; the database keeps
// only its id and check values (Store::KeySetRecord). A key file is the key
// set sealed with the service account's credentials (crypto/key_file.h);
// it is bound to the account's name as the database records it, so
// "corp\SVC" and "CORP\svc" open the same file.
// Thread-safety: plain functions over a Store the caller owns.
#pragma once

#include <string>

#include "core/error.h"
#include "crypto/keyset.h"
#include "crypto/password.h"
#include "ha/home.h"
#include "ha/install.h"
#include "store/store.h"

namespace idsync {

// The name a key file is bound to: the recorded account, lower-cased.
std::string KeyFileAccount(const Store::ServiceAccount& account);

// What the database should record about `set`.
Store::KeySetRecord KeySetRecordOf(const KeySet& set);

// The recorded service account; kNotFound when the database has none.
Result<Store::ServiceAccount> RequireServiceAccount(Store& store);

// Whether `given` names the recorded service account (case-insensitive; a
// name without a domain matches the account's user in its domain) and the
// password matches its hash: kAuth otherwise, without saying which part was
// wrong beyond the name.
Status VerifyServiceAccount(const Store::ServiceAccount& account, const AccountName& given,
                            const SecureString& password);

// Reads a key file's bytes: kIo naming the path when it cannot be read.
Result<std::string> ReadKeyFileBytes(const std::string& path);

// Opens a key file with the service account's credentials: kKeyFileDamaged
// or kKeyFileLocked (crypto/key_file.h).
Result<KeySet> OpenKeyFileAs(const std::string& path, const std::string& bytes,
                             const Store::ServiceAccount& account, const SecureString& password);

// kKeySetMismatch unless `set` is this installation's key set (its id and
// every recorded version's check value).
Status VerifyAgainstDatabase(Store& store, const KeySet& set);

// The associated data that binds a sealed MA secret to its row.
std::string SecretBinding(std::string_view ma, std::string_view name);

// Writes the key set under the home (keys/ 0700, keyset.json 0600).
Status InstallKeySet(const ServerHome& home, const KeySet& set);

// The key set under the home, checked against the database.
Result<KeySet> LoadInstalledKeySet(const ServerHome& home, Store& store);

}  // namespace idsync
