// server/scheduler: which [[schedule]] entries of the configuration are due.
//
// The configuration is read from the database at every decision (it may
// change through `idsync config apply` on any server) and parsed again only
// when it changed. A schedule's last run is taken from the run history when
// the scheduler first sees it after Reset() (so an activated standby goes on
// where the old primary stopped) and from the scheduler's own queueing
// afterwards; a schedule that fell due while no server ran it is due once,
// not once per missed time.
// Thread-safety: used by the service's control loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/error.h"

namespace idsync {

class Store;
struct ConfigDocument;

class Scheduler {
 public:
  // Forgets what it knew (call on becoming active).
  void Reset();
  // The schedules due at `now_ms`, skipping those for which `busy(ma,
  // profile)` is true (already queued or running).
  Result<std::vector<Schedule>> Due(Store& store, int64_t now_ms,
                                    const std::function<bool(const std::string&, const std::string&)>& busy);
  // Records that a due schedule was queued at `now_ms`.
  void Queued(const Schedule& schedule, int64_t now_ms);

 private:
  struct State {
    std::optional<int64_t> last_run_ms;
    int64_t since_ms = 0;
  };
  Status Reload(Store& store);
  Result<std::optional<int64_t>> LastRunFromHistory(Store& store, const Schedule& schedule);

  std::vector<ConfigDocument> docs_;
  std::optional<Config> config_;
  std::map<std::string, State> states_;  // by Schedule::Describe()
  std::optional<std::map<std::pair<std::string, std::string>, int64_t>> history_;
};

// Unix ms of an ISO 8601 UTC time as the store writes it
// ("2026-11-22T13:45:00Z"); nullopt when it is not one.
std::optional<int64_t> ParseUtcMs(const std::string& iso);

}  // namespace idsync
