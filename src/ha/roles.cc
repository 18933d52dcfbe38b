#include "ha/roles.h"

#include <chrono>

#include <fmt/format.h>

namespace idsync {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool HeartbeatLive(const Store::ServerRecord& server, int64_t now_ms) {
  if (server.state != "running" || server.heartbeat_ms <= 0) return false;
  int64_t interval = server.heartbeat_interval_ms > 0 ? server.heartbeat_interval_ms : 3000;
  return now_ms - server.heartbeat_ms <= 3 * interval;
}

std::string StandbyGuidance(std::string_view server, const Store::Cluster& cluster) {
  return fmt::format("server {} is a standby: {} at epoch {}; to make this server the active one, run "
                     "`idsync-activate KEYFILE [DOMAIN\\]USER *` on it with the most recent key file and the "
                     "service account",
                     server,
                     cluster.active_server.empty() ? std::string("no server is active")
                                                   : fmt::format("the active server is {}", cluster.active_server),
                     cluster.epoch);
}

Result<int64_t> RequireActive(Store& store, std::string_view server) {
  IDSYNC_ASSIGN(Store::Cluster cluster, store.GetCluster());
  if (cluster.active_server != server) return Fail(ErrorCode::kFenced, StandbyGuidance(server, cluster));
  return cluster.epoch;
}

Status FenceAsActive(Store& store, std::string_view server) {
  IDSYNC_ASSIGN(int64_t epoch, RequireActive(store, server));
  store.FenceAs(std::string(server), epoch);
  return {};
}

}  // namespace idsync
