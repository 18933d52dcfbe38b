#include "ha/activate.h"

#include <sys/stat.h>
#include <unistd.h>
#include <pwd.h>

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "config/config.h"
#include "crypto/keyset.h"
#include "ha/home.h"
#include "ha/install.h"
#include "ha/keys.h"
#include "ha/roles.h"
#include "store/schema.h"
#include "store/store.h"

namespace idsync {
namespace fs = std::filesystem;
namespace {

using Clock = std::chrono::steady_clock;

// Puts the home's previous key set back unless the activation committed.
class KeySetSwap {
 public:
  explicit KeySetSwap(ServerHome home) : home_(std::move(home)) {}
  Status Install(const KeySet& set) {
    std::error_code ec;
    if (fs::exists(KeySetPath(home_), ec)) {
      auto previous = ReadKeySetFile(KeySetPath(home_));
      if (previous) previous_ = std::move(*previous);
    }
    installed_ = true;
    return InstallKeySet(home_, set);
  }
  void Keep() { installed_ = false; }
  ~KeySetSwap() {
    if (!installed_) return;
    if (previous_) {
      (void)InstallKeySet(home_, *previous_);
    } else {
      std::error_code ec;
      fs::remove(KeySetPath(home_), ec);
    }
  }

 private:
  ServerHome home_;
  std::optional<KeySet> previous_;
  bool installed_ = false;
};

// Warnings the administrator must see before the switch.
Result<std::vector<std::string>> Warnings(Store& store, const Store::Cluster& cluster) {
  std::vector<std::string> warnings;
  if (!cluster.active_server.empty()) {
    IDSYNC_ASSIGN(auto active, store.GetServer(cluster.active_server));
    if (active && HeartbeatLive(*active, NowMs()))
      warnings.push_back(fmt::format("the active server {} is still running (heartbeat {:.1f} s ago); once this "
                                     "server is activated its writes are refused and it turns standby, but stop its "
                                     "service if you can",
                                     cluster.active_server, (NowMs() - active->heartbeat_ms) / 1000.0));
  }
  IDSYNC_ASSIGN(auto docs, store.LoadConfig());
  if (!docs.empty()) {
    auto config = FromDocuments(docs);
    if (config) {
      std::vector<std::string> targets;
      for (const auto& ma : config->mas)
        if (ma.password_sync) targets.push_back(ma.name);
      if (!targets.empty())
        warnings.push_back(fmt::format("password synchronization is configured (management agents: {}): direct the "
                                       "password change notification sources to this server before activating it; "
                                       "notifications queued for the old server are retried to this one afterwards",
                                       fmt::join(targets, ", ")));
    }
  }
  return warnings;
}

}  // namespace

Status CheckActivationRights(const std::string& home_dir) {
  uid_t me = geteuid();
  if (me == 0) return {};
  struct stat st {};
  if (::stat(home_dir.c_str(), &st) == 0 && st.st_uid == me) return {};
  std::string owner = "the service's user";
  if (::stat(home_dir.c_str(), &st) == 0)
    if (const passwd* pw = getpwuid(st.st_uid); pw && pw->pw_name) owner = pw->pw_name;
  return Fail(ErrorCode::kPermission,
              fmt::format("activation needs root or the service's own user ({}, the owner of {}); run it with sudo "
                          "or as that user",
                          owner, home_dir));
}

Result<ActivationResult> Activate(ActivationRequest r) {
  ActivationResult result;
  IDSYNC_TRY(CheckActivationRights(r.home_dir));
  IDSYNC_ASSIGN(AccountName given, ParseAccountName(r.user));
  if (r.password.empty()) return Fail(ErrorCode::kInvalidArgument, "the password is empty");
  IDSYNC_ASSIGN(ServerHome home, ReadHome(r.home_dir));
  result.server = home.server;
  auto started = Clock::now();

  IDSYNC_ASSIGN(auto store, Store::Open(home.database, {}));
  if (store->schema_version() == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("database {} holds no idsync installation",
                                                  store->db().Location()));
  IDSYNC_TRY(CheckSchemaVersion(store->schema_version(), store->db().Location()));
  result.checks.push_back({"schema", fmt::format("version {}", store->schema_version())});
  IDSYNC_ASSIGN(auto registered, store->GetServer(home.server));
  if (!registered)
    return Fail(ErrorCode::kNotFound,
                fmt::format("server {} is not registered in {}; add it with `idsync-setup install --keys FILE "
                            "--standby` first",
                            home.server, store->db().Location()));

  IDSYNC_ASSIGN(Store::ServiceAccount account, RequireServiceAccount(*store));
  IDSYNC_ASSIGN(std::string bytes, ReadKeyFileBytes(r.key_file));
  IDSYNC_ASSIGN(KeySet keys, OpenKeyFileAs(r.key_file, bytes, account, r.password));
  result.checks.push_back({"key-file", "opens with the credentials"});
  IDSYNC_TRY(VerifyAgainstDatabase(*store, keys));
  result.checks.push_back({"key-set", fmt::format("{} (versions up to {})", keys.id, keys.active_version)});
  IDSYNC_TRY(VerifyServiceAccount(account, given, r.password));
  result.checks.push_back({"credentials", "the service account's"});

  IDSYNC_ASSIGN(auto groups, store->ListRoleGroups());
  for (const auto& g : groups) {
    if (g.role != "admins") continue;
    if (g.scope != "domain")
      return Fail(ErrorCode::kLocalGroup,
                  fmt::format("the admins group is the local group '{}': after activation its members could not "
                              "administer this server; create a domain group (`idsync principal add-group "
                              "DOMAIN\\NAME`), run `idsync-setup repair --admins-group domain:DOMAIN\\NAME`, then "
                              "activate again",
                              g.name));
    result.checks.push_back({"admins-group", fmt::format("domain:{}", g.name)});
  }

  IDSYNC_ASSIGN(Store::Cluster cluster, store->GetCluster());
  result.previous_server = cluster.active_server;
  result.from_epoch = result.to_epoch = cluster.epoch;
  if (cluster.active_server == home.server) {
    result.already_active = true;
    return result;
  }
  IDSYNC_ASSIGN(result.warnings, Warnings(*store, cluster));
  if (r.check_only) return result;

  auto elapsed = Clock::now() - started;
  if (r.confirm && !r.confirm(result.warnings)) {
    result.cancelled = true;
    return result;
  }
  started = Clock::now();

  KeySetSwap swap(home);
  IDSYNC_TRY(swap.Install(keys));
  IDSYNC_TRY(store->BeginWrite());
  Store::ActivationRecord record;
  record.kind = "activate";
  record.server = home.server;
  record.previous_server = cluster.active_server;
  record.from_epoch = cluster.epoch;
  record.account = account.domain.empty() ? account.name : account.domain + "\\" + account.name;
  record.os_user = r.os_user;
  auto epoch = store->ActivateServer(record);
  Status st = epoch ? store->AddServerEvent(home.server, "activated",
                                            fmt::format("epoch {} -> {} (previous server: {}) by {} as {}",
                                                        cluster.epoch, *epoch,
                                                        cluster.active_server.empty() ? "none" : cluster.active_server,
                                                        r.os_user, record.account))
                    : Status(tl::unexpected(epoch.error()));
  if (!st) {
    store->Rollback();
    return tl::unexpected(st.error());
  }
  IDSYNC_TRY(store->Commit());
  swap.Keep();
  result.to_epoch = *epoch;
  result.seconds = std::chrono::duration<double>(elapsed + (Clock::now() - started)).count();
  return result;
}

}  // namespace idsync
