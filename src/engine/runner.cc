#include "engine/runner.h"

#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "connectors/connector_config.h"
#include "engine/export.h"
#include "engine/import.h"
#include "engine/sync.h"
#include "rules/lua_host.h"
#include "store/store.h"

namespace idsync {
namespace {

Result<std::string> RunStep(RunContext& ctx, Connector& connector, const std::string& step) {
  if (step == "full-import") return RunFullImport(ctx, connector);
  if (step == "delta-import") return RunDeltaImport(ctx, connector);
  if (step == "full-sync") return RunSync(ctx, true);
  if (step == "delta-sync") return RunSync(ctx, false);
  if (step == "export") return RunExport(ctx, connector);
  return Fail(ErrorCode::kInternal, "unknown step " + step);
}

// Combined steps expand into their parts.
std::vector<std::string> Expand(const std::string& step) {
  if (step == "full-import-full-sync") return {"full-import", "full-sync"};
  if (step == "full-import-delta-sync") return {"full-import", "delta-sync"};
  if (step == "delta-import-delta-sync") return {"delta-import", "delta-sync"};
  return {step};
}

std::string StepsJson(const RunResult& r) {
  nlohmann::json j;
  j["total"] = nlohmann::json::parse(r.counters.ToJson());
  j["steps"] = nlohmann::json::array();
  for (const auto& s : r.steps)
    j["steps"].push_back({{"step", s.step}, {"status", s.status}, {"counters", nlohmann::json::parse(s.counters.ToJson())}});
  return j.dump();
}

}  // namespace

Result<std::vector<std::string>> ResolveProfile(const ManagementAgent& ma, const std::string& profile) {
  auto it = ma.run_profiles.find(profile);
  std::vector<std::string> steps;
  if (it != ma.run_profiles.end()) {
    steps = it->second;
  } else if (IsStepName(profile)) {
    steps = {profile};
  } else {
    std::string known;
    for (const auto& [name, s] : ma.run_profiles) known += (known.empty() ? "" : ", ") + name;
    return Fail(ErrorCode::kNotFound,
                fmt::format("MA '{}' has no run profile '{}'; use a step name (full-import, delta-import, "
                            "full-sync, delta-sync, export, full-import-full-sync, full-import-delta-sync, "
                            "delta-import-delta-sync){}",
                            ma.name, profile, known.empty() ? "" : " or one of: " + known));
  }
  std::vector<std::string> expanded;
  for (const auto& s : steps)
    for (auto& part : Expand(s)) expanded.push_back(std::move(part));
  return expanded;
}

Result<RunResult> RunProfile(Store& store, const RunRequest& req) {
  IDSYNC_ASSIGN(auto docs, store.LoadConfig());
  if (docs.empty())
    return Fail(ErrorCode::kConfig, "no configuration has been applied; run `idsync config apply FILE|DIR` first");
  IDSYNC_ASSIGN(Config config, FromDocuments(docs));
  const ManagementAgent* ma = config.FindMa(req.ma);
  if (!ma) {
    std::string known;
    for (const auto& m : config.mas) known += (known.empty() ? "" : ", ") + m.name;
    return Fail(ErrorCode::kNotFound, fmt::format("no management agent '{}'; configured: {}", req.ma, known));
  }
  IDSYNC_ASSIGN(auto steps, ResolveProfile(*ma, req.profile));

  RunResult result;
  int64_t ma_id = 0;
  bool locked = false;
  IDSYNC_TRY(store.WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(ma_id, store.EnsureManagementAgent(ma->name));
    RunRecord rec;
    rec.ma = ma->name;
    rec.profile = req.profile;
    rec.status = "in-progress";
    rec.server = req.server;
    IDSYNC_ASSIGN(result.run_id, store.StartRun(rec));
    IDSYNC_ASSIGN(locked, store.AcquireRunLock(ma->name, result.run_id, req.server, getpid()));
    if (!locked) return store.FinishRun(result.run_id, run_status::kAlreadyRunning, "{}");
    return {};
  }));
  if (!locked) {
    result.status = run_status::kAlreadyRunning;
    return result;
  }

  std::vector<ExtensionSource> sources;
  for (const auto& e : config.extensions) sources.push_back({e.name, e.code});
  auto host = ExtensionHost::Load(sources);
  auto connector = req.connector_factory ? req.connector_factory(ToConnectorConfig(*ma))
                                         : CreateConnector(ToConnectorConfig(*ma));
  std::optional<Error> fatal;
  if (!host) fatal = host.error();
  else if (!connector) fatal = connector.error();

  RunContext ctx{.store = store,
                 .config = config,
                 .ma = *ma,
                 .ma_id = ma_id,
                 .run_id = result.run_id,
                 .extensions = host ? host->get() : nullptr,
                 .counters = {},
                 .error_seq = 0,
                 .progress = req.progress,
                 .batch_size = req.batch_size};
  result.status = run_status::kSuccess;
  for (size_t i = 0; !fatal && i < steps.size(); ++i) {
    ctx.counters = RunCounters{};
    auto status = RunStep(ctx, **connector, steps[i]);
    if (!status) {
      fatal = status.error();
      break;
    }
    result.steps.push_back({steps[i], *status, ctx.counters});
    result.counters.Add(ctx.counters);
    if (*status != run_status::kSuccess && result.status == run_status::kSuccess) result.status = *status;
    if (status->starts_with("stopped")) break;
  }
  if (fatal) {
    result.status = fatal->code == ErrorCode::kFenced ? run_status::kStoppedNotActive
                    : fatal->code == ErrorCode::kConfig ? run_status::kStoppedConfig
                                                        : run_status::kStoppedServer;
    store.Rollback();
    auto st = ctx.ObjectError("", "", std::string(ErrorCodeName(fatal->code)), fatal->message);
    (void)st;  // the database may be what failed; the status below still tells
    result.steps.push_back({"error", result.status, ctx.counters});
    result.counters.Add(ctx.counters);
  }
  auto finish = store.WithWrite([&]() -> Status {
    IDSYNC_TRY(store.FinishRun(result.run_id, result.status, StepsJson(result)));
    return store.ReleaseRunLock(ma->name, result.run_id);
  });
  // A deposed server may not write even how its run ended: the run keeps its
  // history row until the active server takes the run lock over and marks it
  // stopped-not-active. The caller still learns the status.
  if (!finish && !(finish.error().code == ErrorCode::kFenced && result.status == run_status::kStoppedNotActive))
    return tl::unexpected(finish.error());
  return result;
}

}  // namespace idsync
