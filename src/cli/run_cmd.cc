// `idsync run` and `idsync history`.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/runner.h"
#include "store/store.h"

namespace idsync {

int RunCommand(const GlobalFlags& g, const std::string& ma, const std::string& profile) {
  auto store = OpenStore(g, false);
  if (!store) return ReportError(store.error());
  ProgressLine progress("[" + ma + "]");
  RunRequest req;
  req.ma = ma;
  req.profile = profile;
  req.server = ServerName(g);
  req.progress = [&](std::string_view step, int64_t done) { progress.Update(step, done); };
  auto result = RunProfile(**store, req);
  progress.Finish();
  if (!result) return ReportError(result.error());
  if (g.json) {
    nlohmann::json j{{"run", result->run_id}, {"ma", ma}, {"profile", profile}, {"status", result->status},
                     {"counters", nlohmann::json::parse(result->counters.ToJson())}};
    std::puts(j.dump().c_str());
  } else {
    std::printf("run %lld  %s %s: %s\n", static_cast<long long>(result->run_id), ma.c_str(), profile.c_str(),
                result->status.c_str());
    for (const auto& step : result->steps) {
      std::printf("  %s: %s\n", step.step.c_str(), step.status.c_str());
      for (const auto& [name, value] : step.counters.NonZero())
        std::printf("    %-24s %lld\n", name.c_str(), static_cast<long long>(value));
    }
    if (result->counters.errors)
      std::printf("  see the errors with: idsync history show %lld\n", static_cast<long long>(result->run_id));
  }
  return result->status == "success" ? 0 : 1;
}

int HistoryList(const GlobalFlags& g, int limit) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto runs = (*store)->ListRuns(limit);
  if (!runs) return ReportError(runs.error());
  if (g.json) {
    auto arr = nlohmann::json::array();
    for (const auto& r : *runs)
      arr.push_back({{"run", r.id}, {"ma", r.ma}, {"profile", r.profile}, {"status", r.status},
                     {"server", r.server}, {"started_at", r.started_at}, {"ended_at", r.ended_at},
                     {"counters", nlohmann::json::parse(r.counters_json, nullptr, false)}});
    std::puts(arr.dump().c_str());
    return 0;
  }
  std::printf("%-6s %-20s %-14s %-24s %-36s %s\n", "RUN", "STARTED", "MA", "PROFILE", "STATUS", "COUNTERS");
  for (const auto& r : *runs) {
    std::string summary;
    auto j = nlohmann::json::parse(r.counters_json, nullptr, false);
    if (j.is_object() && j.contains("total"))
      for (const auto& [k, v] : j["total"].items())
        if (v.is_number() && v.get<int64_t>() != 0 && k != "processed")
          summary += fmt::format("{}{}={}", summary.empty() ? "" : " ", k, v.get<int64_t>());
    std::printf("%-6lld %-20s %-14s %-24s %-36s %s\n", static_cast<long long>(r.id), r.started_at.c_str(),
                r.ma.c_str(), r.profile.c_str(), r.status.c_str(), summary.c_str());
  }
  return 0;
}

int HistoryShow(const GlobalFlags& g, int64_t run_id) {
  auto store = OpenStore(g, true);
  if (!store) return ReportError(store.error());
  auto run = (*store)->GetRun(run_id);
  if (!run) return ReportError(run.error());
  if (!*run) return ReportError({ErrorCode::kNotFound, fmt::format("no run {}; list runs with `idsync history`", run_id)});
  auto errors = (*store)->ListRunErrors(run_id);
  if (!errors) return ReportError(errors.error());
  if (g.json) {
    auto arr = nlohmann::json::array();
    for (const auto& e : *errors)
      arr.push_back({{"object", e.object}, {"location", e.location}, {"error", e.error}, {"message", e.message}});
    nlohmann::json j{{"run", (*run)->id}, {"ma", (*run)->ma}, {"profile", (*run)->profile},
                     {"status", (*run)->status}, {"started_at", (*run)->started_at}, {"ended_at", (*run)->ended_at},
                     {"counters", nlohmann::json::parse((*run)->counters_json, nullptr, false)}, {"errors", arr}};
    std::puts(j.dump().c_str());
    return 0;
  }
  std::printf("run %lld  %s %s: %s  (%s .. %s)\n", static_cast<long long>((*run)->id), (*run)->ma.c_str(),
              (*run)->profile.c_str(), (*run)->status.c_str(), (*run)->started_at.c_str(), (*run)->ended_at.c_str());
  auto j = nlohmann::json::parse((*run)->counters_json, nullptr, false);
  if (j.is_object() && j.contains("steps"))
    for (const auto& s : j["steps"]) {
      std::printf("  %s: %s\n", s["step"].get<std::string>().c_str(), s["status"].get<std::string>().c_str());
      for (const auto& [k, v] : s["counters"].items())
        if (v.get<int64_t>() != 0) std::printf("    %-24s %lld\n", k.c_str(), static_cast<long long>(v.get<int64_t>()));
    }
  std::printf("%zu errors\n", errors->size());
  for (const auto& e : *errors)
    std::printf("  %s  %s  %s: %s\n", e.location.empty() ? "-" : e.location.c_str(),
                e.object.empty() ? "-" : e.object.c_str(), e.error.c_str(), e.message.c_str());
  return 0;
}

}  // namespace idsync
