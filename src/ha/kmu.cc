#include "ha/kmu.h"

#include <filesystem>
#include <optional>

#include <fmt/format.h>

#include "core/private_file.h"
#include "crypto/key_file.h"
#include "crypto/secret.h"
#include "ha/install.h"
#include "ha/keys.h"
#include "ha/roles.h"

namespace idsync {
namespace fs = std::filesystem;

Result<ExportResult> ExportKeySet(const ServerHome& home, Store& store, const std::string& user,
                                  const SecureString& password, const std::string& path) {
  IDSYNC_ASSIGN(AccountName given, ParseAccountName(user));
  IDSYNC_ASSIGN(Store::ServiceAccount account, RequireServiceAccount(store));
  IDSYNC_ASSIGN(KeySet keys, LoadInstalledKeySet(home, store));
  IDSYNC_TRY(VerifyServiceAccount(account, given, password));
  IDSYNC_ASSIGN(std::string bytes, SealKeyFile(keys, KeyFileAccount(account), password));
  IDSYNC_TRY(WritePrivateFile(path, bytes));
  return ExportResult{keys.id, keys.active_version,
                      account.domain.empty() ? account.name : account.domain + "\\" + account.name};
}

Result<KeyListing> ListKeySet(const ServerHome& home, Store& store) {
  IDSYNC_ASSIGN(KeySet keys, LoadInstalledKeySet(home, store));
  IDSYNC_ASSIGN(auto record, store.GetKeySetRecord());
  IDSYNC_ASSIGN(auto secrets, store.ListSecrets());
  KeyListing out;
  out.set_id = keys.id;
  out.active_version = keys.active_version;
  for (const auto& v : keys.versions)
    out.versions.push_back({v.version, v.created_at, record && record->checks.count(v.version) > 0});
  out.secrets = static_cast<int64_t>(secrets.size());
  return out;
}

Result<RotateResult> RotateKeySet(const ServerHome& home, Store& store) {
  IDSYNC_TRY(FenceAsActive(store, home.server));
  IDSYNC_ASSIGN(KeySet keys, LoadInstalledKeySet(home, store));
  RotateResult result;
  result.new_version = AddKeyVersion(keys);
  // The local file first: a set with one more version than the database
  // records still verifies, so a failed transaction leaves a usable state.
  IDSYNC_TRY(InstallKeySet(home, keys));
  IDSYNC_TRY(store.WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(auto secrets, store.ListSecrets());
    for (auto& s : secrets) {
      std::string binding = SecretBinding(s.ma, s.name);
      IDSYNC_ASSIGN(SecureString clear, OpenSecret(keys, binding, s.sealed));
      IDSYNC_ASSIGN(s.sealed, SealSecret(keys, binding, clear));
      s.key_version = keys.active_version;
      IDSYNC_TRY(store.PutSecret(s));
      ++result.resealed;
    }
    IDSYNC_TRY(store.SetKeySetRecord(KeySetRecordOf(keys)));
    return store.AddServerEvent(home.server, "key-rotated", fmt::format("key version {} active", result.new_version));
  }));
  return result;
}

Result<AbandonResult> AbandonKeySet(const ServerHome& home, Store& store) {
  IDSYNC_TRY(FenceAsActive(store, home.server));
  AbandonResult result;
  IDSYNC_ASSIGN(auto record, store.GetKeySetRecord());
  if (record) result.old_set_id = record->set_id;
  IDSYNC_ASSIGN(KeySet keys, NewKeySet());
  result.new_set_id = keys.id;
  // The old key set may be lost or damaged (that is why one abandons it):
  // keep its bytes, if any, to put back should the transaction fail.
  std::optional<std::string> old_bytes;
  if (auto bytes = ReadKeyFileBytes(KeySetPath(home)); bytes) old_bytes = std::move(*bytes);
  auto st = store.WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(auto secrets, store.ListSecrets());
    for (const auto& s : secrets) result.dropped_secrets.push_back(s.ma + "/" + s.name);
    IDSYNC_TRY(store.DeleteAllSecrets());
    IDSYNC_TRY(store.SetKeySetRecord(KeySetRecordOf(keys)));
    IDSYNC_TRY(InstallKeySet(home, keys));
    return store.AddServerEvent(home.server, "key-set-abandoned",
                                fmt::format("key set {} replaced by {}; {} secrets dropped", result.old_set_id,
                                            result.new_set_id, result.dropped_secrets.size()));
  });
  if (!st) {
    std::error_code ec;
    if (old_bytes)
      (void)WritePrivateFile(KeySetPath(home), *old_bytes);
    else
      fs::remove(KeySetPath(home), ec);
    return tl::unexpected(st.error());
  }
  return result;
}

}  // namespace idsync
