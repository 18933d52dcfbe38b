#include "ha/keys.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "crypto/key_file.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

std::string KeyFileAccount(const Store::ServiceAccount& account) {
  return Lower(account.domain.empty() ? account.name : account.domain + "\\" + account.name);
}

Store::KeySetRecord KeySetRecordOf(const KeySet& set) {
  Store::KeySetRecord r;
  r.set_id = set.id;
  r.active_version = set.active_version;
  for (const auto& v : set.versions) r.checks[v.version] = CheckValue(set, v.version);
  return r;
}

Result<Store::ServiceAccount> RequireServiceAccount(Store& store) {
  IDSYNC_ASSIGN(auto account, store.GetServiceAccount());
  if (!account)
    return Fail(ErrorCode::kNotFound, fmt::format("database {} records no service account; it is not a complete "
                                                  "installation (run `idsync-setup install`)",
                                                  store.db().Location()));
  return *account;
}

Status VerifyServiceAccount(const Store::ServiceAccount& account, const AccountName& given,
                            const SecureString& password) {
  bool name_matches = Lower(given.user) == Lower(account.name) &&
                      (given.domain.empty() || Lower(given.domain) == Lower(account.domain));
  std::string recorded = account.domain.empty() ? account.name : account.domain + "\\" + account.name;
  if (!name_matches)
    return Fail(ErrorCode::kAuth, fmt::format("{} is not this installation's service account ({}); give the "
                                              "service account's name and password",
                                              given.ToString(), recorded));
  if (!VerifyPassword(password, account.password_hash))
    return Fail(ErrorCode::kAuth, fmt::format("the password is not the service account's ({}); give its current "
                                              "password",
                                              recorded));
  return {};
}

Result<std::string> ReadKeyFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Fail(ErrorCode::kIo, fmt::format("cannot read key file {}: {}", path, std::strerror(errno)));
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return Fail(ErrorCode::kIo, fmt::format("cannot read key file {}", path));
  return bytes.str();
}

Result<KeySet> OpenKeyFileAs(const std::string& path, const std::string& bytes,
                             const Store::ServiceAccount& account, const SecureString& password) {
  auto set = OpenKeyFile(bytes, KeyFileAccount(account), password);
  if (!set) return Wrap(set.error(), fmt::format("key file {}", path));
  return set;
}

Status VerifyAgainstDatabase(Store& store, const KeySet& set) {
  IDSYNC_ASSIGN(auto record, store.GetKeySetRecord());
  if (!record)
    return Fail(ErrorCode::kKeySetMismatch,
                fmt::format("database {} records no key set; it is not a complete installation",
                            store.db().Location()));
  return VerifyKeySet(set, record->set_id, record->checks);
}

std::string SecretBinding(std::string_view ma, std::string_view name) {
  return fmt::format("ma-secret\n{}\n{}", ma, name);
}

Status InstallKeySet(const ServerHome& home, const KeySet& set) {
  fs::path dir = fs::path(KeySetPath(home)).parent_path();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  if (::chmod(dir.c_str(), 0700) != 0)
    return Fail(ErrorCode::kIo, fmt::format("cannot restrict {} to its owner: {}", dir.string(), std::strerror(errno)));
  return WriteKeySetFile(KeySetPath(home), set);
}

Result<KeySet> LoadInstalledKeySet(const ServerHome& home, Store& store) {
  std::error_code ec;
  if (!fs::exists(KeySetPath(home), ec))
    return Fail(ErrorCode::kNotFound,
                fmt::format("server {} holds no key set ({} is missing); only the active server holds one: run "
                            "this on the active server, or activate this server with a key file first",
                            home.server, KeySetPath(home)));
  IDSYNC_ASSIGN(KeySet set, ReadKeySetFile(KeySetPath(home)));
  IDSYNC_TRY(VerifyAgainstDatabase(store, set));
  return set;
}

}  // namespace idsync
