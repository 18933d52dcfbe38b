// ha/status: the installation's state as `idsync status` and idsyncd's
// GET /api/v1/status show it, read from the database alone (so it works
// while the service is down).
// Thread-safety: plain functions over a Store the caller owns.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "store/store.h"

namespace idsync {

struct ServerStatus {
  std::string name, host, role, state, version, api;
  std::string heartbeat_at;  // ISO 8601, empty when it never beat
  int64_t heartbeat_age_ms = -1;
  bool live = false;     // the service's heartbeat is live (ha/roles.h)
  bool active = false;   // the database names it active
};

struct InstallationStatus {
  std::string this_server;
  std::string role;  // of this server: "active" | "standby"
  int64_t epoch = 0;
  std::string active_server;
  std::string version;  // of this program
  int64_t schema_version = 0, known_schema_version = 0;
  std::vector<ServerStatus> servers;
};

Result<InstallationStatus> ReadStatus(Store& store, std::string_view this_server);

nlohmann::json StatusToJson(const InstallationStatus& status);

}  // namespace idsync
