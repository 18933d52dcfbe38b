// engine/run_context: what one run step works with: the store, the
// configuration, the MA, counters, and the per-object error list with its
// limit. Steps (import, sync, export) are functions of a RunContext.
// Thread-safety: one RunContext per run, used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "core/error.h"
#include "store/store.h"

namespace idsync {

class ExtensionHost;

struct RunCounters {
  // import (staging)
  int64_t stage_adds = 0, stage_updates = 0, stage_renames = 0, stage_deletes = 0, stage_unchanged = 0;
  // sync (inbound)
  int64_t joins = 0, projections = 0, filtered = 0, disconnects = 0, flow_updates = 0, mv_deletes = 0;
  // sync (outbound)
  int64_t provisioned_adds = 0, export_updates = 0, export_renames = 0, export_deletes = 0,
          deprovision_disconnects = 0, unresolved_references = 0;
  // export
  int64_t exported_adds = 0, exported_updates = 0, exported_renames = 0, exported_deletes = 0;
  int64_t errors = 0;
  int64_t processed = 0;  // objects looked at by the step

  void Add(const RunCounters& o);
  std::string ToJson() const;
  // Non-zero counters as "name value" pairs, in a fixed order, for printing.
  std::vector<std::pair<std::string, int64_t>> NonZero() const;
};

// Step results, as the field names them.
namespace run_status {
inline constexpr const char* kSuccess = "success";
inline constexpr const char* kCompletedErrors = "completed-errors";
inline constexpr const char* kCompletedSyncErrors = "completed-sync-errors";
inline constexpr const char* kCompletedExportErrors = "completed-export-errors";
inline constexpr const char* kStoppedErrorLimit = "stopped-error-limit";
inline constexpr const char* kStoppedDeletionThreshold = "stopped-deletion-threshold-exceeded";
inline constexpr const char* kStoppedConnectivity = "stopped-connectivity";
inline constexpr const char* kStoppedServer = "stopped-server";
inline constexpr const char* kStoppedNotActive = "stopped-not-active";
inline constexpr const char* kAlreadyRunning = "no-start-ma-already-running";
inline constexpr const char* kStoppedConfig = "stopped-configuration";
}  // namespace run_status

struct RunContext {
  Store& store;
  const Config& config;
  const ManagementAgent& ma;
  int64_t ma_id = 0;
  int64_t run_id = 0;
  ExtensionHost* extensions = nullptr;
  RunCounters counters;
  int64_t error_seq = 0;
  // Called now and then with the number of objects processed so far.
  std::function<void(std::string_view step, int64_t done)> progress;
  size_t batch_size = 2000;

  // Records an object-level error (in its own small write if no transaction
  // is open, else inside the current one). Returns kLimit once the MA's error
  // limit is exceeded, which stops the step.
  Status ObjectError(std::string_view object, std::string_view location, std::string_view code,
                     std::string_view message);
  const MaObjectType* FindType(std::string_view name) const;
  // Runs `body` in one write transaction. When it stops on the error limit
  // (kLimit), what it did so far is still committed (each object is whole,
  // and the errors that explain the stop are kept) and kLimit is returned
  // after the commit; any other error rolls the transaction back.
  Status CommitKeepingLimit(const std::function<Status()>& body);
};

}  // namespace idsync
