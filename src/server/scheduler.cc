#include "server/scheduler.h"

#include <spdlog/spdlog.h>

#include <ctime>

#include "store/store.h"

namespace idsync {
namespace {

// How far back the history is searched for a schedule's last run.
constexpr int kHistoryRuns = 5000;

bool SameDocuments(const std::vector<ConfigDocument>& a, const std::vector<ConfigDocument>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].name != b[i].name || a[i].content != b[i].content) return false;
  return true;
}

}  // namespace

std::optional<int64_t> ParseUtcMs(const std::string& iso) {
  std::tm tm{};
  const char* end = strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end) return std::nullopt;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

void Scheduler::Reset() {
  states_.clear();
  history_.reset();
}

Status Scheduler::Reload(Store& store) {
  IDSYNC_ASSIGN(auto docs, store.LoadConfig());
  if (config_ && SameDocuments(docs, docs_)) return {};
  docs_ = std::move(docs);
  config_.reset();
  if (docs_.empty()) return {};
  auto config = FromDocuments(docs_);
  if (!config) {
    docs_.clear();  // try again next time
    return tl::unexpected(config.error());
  }
  config_ = std::move(*config);
  if (!config_->schedules.empty()) {
    std::string list;
    for (const auto& s : config_->schedules) list += (list.empty() ? "" : "; ") + s.Describe();
    spdlog::info("schedules: {}", list);
  }
  return {};
}

Result<std::optional<int64_t>> Scheduler::LastRunFromHistory(Store& store, const Schedule& schedule) {
  if (!history_) {
    IDSYNC_ASSIGN(auto runs, store.ListRuns(kHistoryRuns));
    history_.emplace();
    for (const auto& r : runs) {  // newest first
      auto ms = ParseUtcMs(r.started_at);
      if (ms) history_->try_emplace({r.ma, r.profile}, *ms);
    }
  }
  auto it = history_->find({schedule.ma, schedule.profile});
  if (it == history_->end()) return std::optional<int64_t>();
  return std::optional<int64_t>(it->second);
}

Result<std::vector<Schedule>> Scheduler::Due(Store& store, int64_t now_ms,
                                             const std::function<bool(const std::string&, const std::string&)>& busy) {
  IDSYNC_TRY(Reload(store));
  std::vector<Schedule> due;
  if (!config_) return due;
  for (const auto& s : config_->schedules) {
    auto it = states_.find(s.Describe());
    if (it == states_.end()) {
      IDSYNC_ASSIGN(auto last, LastRunFromHistory(store, s));
      it = states_.emplace(s.Describe(), State{last, now_ms}).first;
    }
    if (busy(s.ma, s.profile)) continue;
    if (NextDueMs(s, it->second.last_run_ms, it->second.since_ms) <= now_ms) due.push_back(s);
  }
  return due;
}

void Scheduler::Queued(const Schedule& schedule, int64_t now_ms) { states_[schedule.Describe()].last_run_ms = now_ms; }

}  // namespace idsync
