// ha/roles: which server is active, whether a service is alive, and what a
// server that is not active tells the administrator.
//
// The database's cluster row names the active server and the epoch; a
// server may write only while it is named there at the epoch it holds
// (Store::FenceAs). A service's heartbeat counts as live while the service
// has not recorded a clean stop and its last beat is no older than three of
// the intervals it declared.
// Thread-safety: plain functions over a Store the caller owns.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.h"
#include "store/store.h"

namespace idsync {

// Unix time in milliseconds.
int64_t NowMs();

bool HeartbeatLive(const Store::ServerRecord& server, int64_t now_ms);

// What a standby says when asked to work: who is active and how to activate
// this server instead.
std::string StandbyGuidance(std::string_view server, const Store::Cluster& cluster);

// The epoch at which `server` is active; kFenced with StandbyGuidance when
// another server (or none) is active.
Result<int64_t> RequireActive(Store& store, std::string_view server);

// Opens the store for writing as `server`: checks that it is active and
// fences every later write transaction at that epoch.
Status FenceAsActive(Store& store, std::string_view server);

}  // namespace idsync
