// engine/runner: runs a management agent's run profile end to end.
//
// RunProfile loads the configuration from the database, takes the MA's run
// lock (a second concurrent run of the same MA is refused with
// "no-start-ma-already-running"), records the run in the history, executes
// its steps in order and records their counters and final status. The run's
// status is the first step status other than "success"; a step that stops
// (error limit, deletion threshold, connectivity) ends the run.
// Thread-safety: one call per Store (per thread).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "engine/run_context.h"

namespace idsync {

class Store;
class Connector;
struct ConnectorConfig;

struct RunRequest {
  std::string ma;
  std::string profile;  // a configured run profile, or a step name
  std::string server;   // this server's name, for the run lock and history
  std::function<void(std::string_view step, int64_t done)> progress;
  size_t batch_size = 2000;
  // Creates the MA's connector; tests substitute fakes or fault injectors.
  // Default: CreateConnector (connectors/connector_config.h).
  std::function<Result<std::unique_ptr<Connector>>(const ConnectorConfig&)> connector_factory;
};

struct StepResult {
  std::string step;
  std::string status;
  RunCounters counters;
};

struct RunResult {
  int64_t run_id = 0;
  std::string status;
  RunCounters counters;  // all steps added up
  std::vector<StepResult> steps;
};

// Fails (as an Error) only when the run could not be started or recorded:
// unknown MA or profile, no configuration, database unavailable. Everything
// that happens during the run is in RunResult::status.
Result<RunResult> RunProfile(Store& store, const RunRequest& request);

// The steps a profile name stands for (a step name stands for itself).
Result<std::vector<std::string>> ResolveProfile(const struct ManagementAgent& ma, const std::string& profile);

}  // namespace idsync
