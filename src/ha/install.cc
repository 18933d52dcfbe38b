#include "ha/install.h"

#include <sodium.h>

#include <filesystem>

#include <fmt/format.h>

#include "crypto/keyset.h"
#include "ha/home.h"
#include "ha/keys.h"
#include "ha/roles.h"
#include "store/db.h"
#include "store/schema.h"
#include "store/store.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (unsigned char c : s)
    if (c < 0x21 || c == '\\' || c == '/' || c == ':' || c == '"' || c == 0x7f) return false;
  return true;
}

std::string RandomId() {
  unsigned char bytes[16];
  randombytes_buf(bytes, sizeof bytes);
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

ServerHome HomeOf(const InstallOptions& o, const std::string& server) {
  ServerHome home{o.home_dir, server, o.database};
  if (!o.api_listen.empty()) home.api_listen = o.api_listen;
  return home;
}

std::string Flag(std::string_view role) { return fmt::format("--{}-group", role); }

// Parses the role groups given on the command line.
Result<std::map<std::string, GroupRef>> ParseGroups(const std::map<std::string, std::string>& given) {
  std::map<std::string, GroupRef> out;
  for (const auto& [role, text] : given) {
    if (text.empty()) continue;
    IDSYNC_ASSIGN(out[role], ParseGroupRef(text, Flag(role)));
  }
  return out;
}

// What a server writes under its home, removed again if the install fails.
class HomeWriter {
 public:
  explicit HomeWriter(ServerHome home) : home_(std::move(home)) {}
  ~HomeWriter() {
    if (committed_ || !written_) return;
    std::error_code ec;
    fs::remove(fs::path(home_.dir) / "server.toml", ec);
    fs::remove_all(fs::path(KeySetPath(home_)).parent_path(), ec);
    if (created_dir_) fs::remove(home_.dir, ec);
  }
  Status Write(const KeySet* keys) {
    std::error_code ec;
    created_dir_ = !fs::exists(home_.dir, ec);
    written_ = true;
    IDSYNC_TRY(WriteHome(home_, false));
    if (keys) IDSYNC_TRY(InstallKeySet(home_, *keys));
    return {};
  }
  void Commit() { committed_ = true; }

 private:
  ServerHome home_;
  bool written_ = false, created_dir_ = false, committed_ = false;
};

Status RecordNew(Store& store, const InstallOptions& o, const AccountName& account,
                 const std::map<std::string, GroupRef>& groups, const std::string& hash, const KeySet& keys,
                 InstallResult& result) {
  result.installation_id = RandomId();
  IDSYNC_TRY(store.SetMeta("installation_id", result.installation_id));
  IDSYNC_TRY(store.SetMeta("created_at", NowUtc()));
  IDSYNC_TRY(store.SetServiceAccount(account.domain, account.user, hash));
  for (const auto& [role, group] : groups) IDSYNC_TRY(store.SetRoleGroup(role, group.scope, group.name));
  IDSYNC_TRY(store.SetKeySetRecord(KeySetRecordOf(keys)));
  IDSYNC_TRY(store.RegisterServer(result.server, fs::absolute(o.home_dir).string()));
  Store::ActivationRecord activation;
  activation.kind = "install";
  activation.server = result.server;
  activation.account = account.ToString();
  activation.os_user = o.os_user;
  activation.from_epoch = 0;
  IDSYNC_ASSIGN(result.epoch, store.ActivateServer(activation));
  result.role = "active";
  return {};
}

// The groups given for an existing installation must be the ones it
// records: every server of an installation shares them.
Status CheckSameGroups(Store& store, const std::map<std::string, GroupRef>& groups) {
  IDSYNC_ASSIGN(auto recorded, store.ListRoleGroups());
  for (const auto& [role, group] : groups) {
    auto it = std::find_if(recorded.begin(), recorded.end(), [&](const auto& r) { return r.role == role; });
    std::string before = it == recorded.end() ? "none" : it->scope + ":" + it->name;
    if (before != group.ToString())
      return Fail(ErrorCode::kConfig,
                  fmt::format("{} {} differs from the installation's ({}); every server shares the role groups: "
                              "give the same group, or change it for all servers with `idsync-setup repair {} {}`",
                              Flag(role), group.ToString(), before, Flag(role), group.ToString()));
  }
  return {};
}

Result<InstallResult> JoinExisting(Store& store, const InstallOptions& o, const AccountName& account,
                                   const std::map<std::string, GroupRef>& groups, InstallResult result) {
  IDSYNC_TRY(CheckSchemaVersion(store.schema_version(), store.db().Location()));
  IDSYNC_ASSIGN(auto installation, store.GetMeta("installation_id"));
  result.installation_id = installation.value_or("");
  if (o.keys_file.empty())
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("database {} already holds installation {}; to add this server to it, install with the "
                            "installation's key file (--keys FILE, written by `idsync-kmu export` on the active "
                            "server), and --standby to add it as a standby",
                            store.db().Location(), result.installation_id));
  // The slow checks (Argon2id) come before the write lock is taken.
  IDSYNC_ASSIGN(Store::ServiceAccount recorded, RequireServiceAccount(store));
  IDSYNC_ASSIGN(std::string bytes, ReadKeyFileBytes(o.keys_file));
  IDSYNC_ASSIGN(KeySet keys, OpenKeyFileAs(o.keys_file, bytes, recorded, o.service_password));
  IDSYNC_TRY(VerifyAgainstDatabase(store, keys));
  IDSYNC_TRY(VerifyServiceAccount(recorded, account, o.service_password));
  IDSYNC_TRY(CheckSameGroups(store, groups));

  IDSYNC_TRY(store.BeginWrite());
  auto fail = [&](const Error& e) {
    store.Rollback();
    return tl::unexpected(e);
  };
  if (auto existing = store.GetServer(result.server); !existing || *existing)
    return fail(existing ? Error{ErrorCode::kAlreadyExists,
                                 fmt::format("a server named '{}' is already registered in {}; choose another "
                                             "--server",
                                             result.server, store.db().Location())}
                         : existing.error());
  if (auto st = store.RegisterServer(result.server, fs::absolute(o.home_dir).string()); !st) return fail(st.error());
  auto cluster = store.GetCluster();
  if (!cluster) return fail(cluster.error());
  result.epoch = cluster->epoch;
  result.role = "standby";
  if (!o.standby) {
    if (!cluster->active_server.empty()) {
      auto active = store.GetServer(cluster->active_server);
      if (!active) return fail(active.error());
      if (*active && HeartbeatLive(**active, NowMs()))
        return fail({ErrorCode::kBusy,
                     fmt::format("server {} is active (epoch {}) and its service is running; stop its service "
                                 "before installing this server as the active one, or install this server with "
                                 "--standby",
                                 cluster->active_server, cluster->epoch)});
    }
    Store::ActivationRecord activation;
    activation.kind = "install";
    activation.server = result.server;
    activation.previous_server = cluster->active_server;
    activation.account = recorded.domain.empty() ? recorded.name : recorded.domain + "\\" + recorded.name;
    activation.os_user = o.os_user;
    activation.from_epoch = cluster->epoch;
    auto epoch = store.ActivateServer(activation);
    if (!epoch) return fail(epoch.error());
    result.epoch = *epoch;
    result.role = "active";
  }
  HomeWriter home(HomeOf(o, result.server));
  // A standby receives the key set when it is activated, from the most
  // recent key file; an active server keeps it from now on.
  if (auto st = home.Write(result.role == "active" ? &keys : nullptr); !st) return fail(st.error());
  IDSYNC_TRY(store.Commit());
  home.Commit();
  return result;
}

}  // namespace

std::string AccountName::ToString() const { return domain.empty() ? user : domain + "\\" + user; }

Result<AccountName> ParseAccountName(std::string_view text) {
  AccountName a;
  auto slash = text.find('\\');
  if (slash == std::string_view::npos) {
    a.user = text;
  } else {
    a.domain = text.substr(0, slash);
    a.user = text.substr(slash + 1);
  }
  if (!ValidName(a.user) || (!a.domain.empty() && !ValidName(a.domain))) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("'{}' is not a valid account name; write DOMAIN\\USER, \\USER or USER (no spaces, "
                            "quotes, slashes or colons)",
                            text));
  }
  return a;
}

Result<GroupRef> ParseGroupRef(std::string_view text, std::string_view flag) {
  auto colon = text.find(':');
  GroupRef g;
  if (colon != std::string_view::npos) {
    g.scope = text.substr(0, colon);
    g.name = text.substr(colon + 1);
  }
  // A domain group may name its domain (domain:CORP\Admins); a local group
  // is a plain group name of this host.
  bool valid_name = g.scope == "domain" ? ParseAccountName(g.name).has_value() : ValidName(g.name);
  if ((g.scope != "domain" && g.scope != "local") || !valid_name) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("{} '{}' is not valid; write domain:[DOMAIN\\]NAME (a group kept in the shared "
                            "database, recommended) or local:NAME (a group of this host)",
                            flag, text));
  }
  return g;
}

Result<InstallResult> Install(InstallOptions o) {
  IDSYNC_ASSIGN(AccountName account, ParseAccountName(o.service_account));
  IDSYNC_ASSIGN(auto groups, ParseGroups(o.groups));
  if (o.service_password.empty())
    return Fail(ErrorCode::kInvalidArgument, "the service account password is empty; give it on standard input");
  if (o.database.empty()) return Fail(ErrorCode::kInvalidArgument, "--db is required (for example sqlite:/var/lib/idsync/idsync.db)");
  if (auto home = ReadHome(o.home_dir); home)
    return Fail(ErrorCode::kAlreadyExists, fmt::format("{} already holds server '{}'; use another --home", o.home_dir, home->server));

  InstallResult result;
  result.server = o.server.empty() ? HostName() : o.server;
  result.database = o.database;
  if (auto st = ValidateServiceSettings(HomeOf(o, result.server)); !st) return Wrap(st.error(), "--api");

  std::string file = SqliteFileOf(o.database);
  std::error_code ec;
  bool joining = !o.keys_file.empty() || o.standby;
  bool created = !file.empty() && !fs::exists(file, ec);
  if (joining && created)
    return Fail(ErrorCode::kNotFound,
                fmt::format("database {} does not exist; --keys and --standby add a server to an existing "
                            "installation (leave them out to create a new one)",
                            o.database));
  auto store = Store::Open(o.database, StoreOptions{.create_if_missing = !joining});
  if (!store) return tl::unexpected(store.error());
  if ((*store)->schema_version() != 0) return JoinExisting(**store, o, account, groups, std::move(result));
  if (joining)
    return Fail(ErrorCode::kNotFound, fmt::format("database {} holds no installation yet; leave out --keys and "
                                                  "--standby to create one",
                                                  o.database));
  if (!groups.count("admins"))
    return Fail(ErrorCode::kInvalidArgument, "--admins-group is required for a new installation");

  auto cleanup = [&] {
    store->reset();
    if (!created) return;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file + suffix, ec);
  };
  IDSYNC_ASSIGN(std::string hash, HashPassword(o.service_password));
  IDSYNC_ASSIGN(KeySet keys, NewKeySet());
  result.new_installation = true;
  HomeWriter home(HomeOf(o, result.server));
  // The schema and the records in one transaction: a failure leaves the
  // database empty, also on PostgreSQL, where it is not a file to remove.
  auto st = (*store)->BeginWriteMigrating();
  if (st) {
    st = RecordNew(**store, o, account, groups, hash, keys, result);
    if (st) st = home.Write(&keys);
    if (st) st = (*store)->Commit();
    if (!st) (*store)->Rollback();
  }
  if (!st) {
    cleanup();
    return tl::unexpected(st.error());
  }
  home.Commit();
  return result;
}

Result<RepairResult> Repair(const RepairOptions& o) {
  IDSYNC_ASSIGN(auto groups, ParseGroups(o.groups));
  if (groups.empty())
    return Fail(ErrorCode::kInvalidArgument, "give at least one group to re-point, e.g. --admins-group domain:NAME");
  IDSYNC_ASSIGN(ServerHome home, ReadHome(o.home_dir));
  IDSYNC_ASSIGN(auto store, Store::Open(home.database, {}));
  IDSYNC_TRY(CheckSchemaVersion(store->schema_version(), store->db().Location()));
  RepairResult result;
  IDSYNC_TRY(store->WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(auto recorded, store->ListRoleGroups());
    for (const auto& [role, group] : groups) {
      auto it = std::find_if(recorded.begin(), recorded.end(), [&](const auto& r) { return r.role == role; });
      std::string before = it == recorded.end() ? "" : it->scope + ":" + it->name;
      if (before == group.ToString()) continue;
      IDSYNC_TRY(store->SetRoleGroup(role, group.scope, group.name));
      result.changed[role] = {before, group.ToString()};
    }
    if (!result.changed.empty()) {
      std::string detail;
      for (const auto& [role, change] : result.changed)
        detail += fmt::format("{}{}: {} -> {}", detail.empty() ? "" : "; ", role,
                              change.first.empty() ? "none" : change.first, change.second);
      IDSYNC_TRY(store->AddServerEvent(home.server, "repair", detail));
    }
    return {};
  }));
  return result;
}

Result<UpgradeResult> Upgrade(const std::string& home_dir) {
  IDSYNC_ASSIGN(ServerHome home, ReadHome(home_dir));
  IDSYNC_ASSIGN(auto store, Store::Open(home.database, {}));
  UpgradeResult result;
  result.from_version = store->schema_version();
  if (result.from_version == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("database {} holds no installation to upgrade",
                                                  store->db().Location()));
  IDSYNC_TRY(store->Migrate());
  result.to_version = store->schema_version();
  if (result.to_version != result.from_version)
    IDSYNC_TRY(store->WithWrite([&] {
      return store->AddServerEvent(home.server, "upgrade",
                                   fmt::format("schema {} -> {}", result.from_version, result.to_version));
    }));
  return result;
}

}  // namespace idsync
