#include "ha/status.h"

#include "core/version.h"
#include "ha/roles.h"
#include "store/schema.h"

namespace idsync {

Result<InstallationStatus> ReadStatus(Store& store, std::string_view this_server) {
  InstallationStatus s;
  s.this_server = this_server;
  IDSYNC_ASSIGN(Store::Cluster cluster, store.GetCluster());
  s.epoch = cluster.epoch;
  s.active_server = cluster.active_server;
  s.role = cluster.active_server == this_server ? "active" : "standby";
  s.version = IdsyncVersion();
  s.schema_version = store.schema_version();
  s.known_schema_version = KnownSchemaVersion();
  IDSYNC_ASSIGN(auto servers, store.ListServers());
  int64_t now = NowMs();
  for (const auto& r : servers) {
    ServerStatus out;
    out.name = r.name;
    out.host = r.host;
    out.active = r.name == cluster.active_server;
    out.role = out.active ? "active" : "standby";
    out.state = r.state;
    out.version = r.version;
    out.api = r.api;
    out.heartbeat_at = r.heartbeat_at;
    out.heartbeat_age_ms = r.heartbeat_ms > 0 ? now - r.heartbeat_ms : -1;
    out.live = HeartbeatLive(r, now);
    s.servers.push_back(std::move(out));
  }
  return s;
}

nlohmann::json StatusToJson(const InstallationStatus& s) {
  nlohmann::json servers = nlohmann::json::array();
  for (const auto& r : s.servers) {
    servers.push_back({{"name", r.name},
                       {"host", r.host},
                       {"role", r.role},
                       {"state", r.state},
                       {"service_live", r.live},
                       {"heartbeat_at", r.heartbeat_at.empty() ? nlohmann::json() : nlohmann::json(r.heartbeat_at)},
                       {"heartbeat_age_ms", r.heartbeat_age_ms < 0 ? nlohmann::json() : nlohmann::json(r.heartbeat_age_ms)},
                       {"version", r.version},
                       {"api", r.api}});
  }
  return {{"server", s.this_server},
          {"role", s.role},
          {"epoch", s.epoch},
          {"active_server", s.active_server.empty() ? nlohmann::json() : nlohmann::json(s.active_server)},
          {"version", s.version},
          {"schema_version", s.schema_version},
          {"program_schema_version", s.known_schema_version},
          {"servers", servers}};
}

}  // namespace idsync
