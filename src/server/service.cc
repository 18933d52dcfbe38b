// idsyncd's orchestration: start-up checks, the control loop (role, heartbeat,
// schedules), the API's backend and the clean stop.
#include "server/service.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "config/config.h"
#include "core/version.h"
#include "engine/run_context.h"
#include "engine/runner.h"
#include "ha/home.h"
#include "ha/roles.h"
#include "ha/status.h"
#include "server/api.h"
#include "server/run_queue.h"
#include "server/scheduler.h"
#include "server/signals.h"
#include "store/schema.h"
#include "store/store.h"

namespace idsync {
namespace {

// The cluster row is read at least this often, so an activation shows
// within a second.
constexpr int64_t kMaxPollMs = 250;

struct Role {
  bool active = false;
  int64_t epoch = 0;          // held while active; the cluster's epoch otherwise
  std::string active_server;  // as last read
};

bool ProcessAlive(int64_t pid) { return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }

class Service final : public ApiBackend {
 public:
  explicit Service(ServerHome home)
      : home_(std::move(home)),
        poll_ms_(std::min(kMaxPollMs, home_.heartbeat_interval_ms)),
        queue_(
            home_.database, home_.server, [this](const RunJob& job) { return MayStart(job); },
            [this](const RunOutcome&) { Wake(); }),
        api_(*this) {}

  Status Start();
  int Run();

  void RequestStop(int sig) {
    spdlog::info("{} received: stopping", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    std::lock_guard lock(mu_);
    stop_requested_ = true;
    cv_.notify_all();
  }

  Result<nlohmann::json> InstallationStatus() override;
  nlohmann::json ServiceView() override;
  Status QueueRun(const std::string& ma, const std::string& profile) override;

 private:
  Role GetRole() const {
    std::lock_guard lock(mu_);
    return role_;
  }
  void SetRole(Role role) {
    std::lock_guard lock(mu_);
    role_ = std::move(role);
  }
  void Wake() {
    std::lock_guard lock(mu_);
    woken_ = true;
    cv_.notify_all();
  }
  bool MayStart(const RunJob& job) const {
    Role role = GetRole();
    return !stopping_ && role.active && role.epoch == job.epoch;
  }

  Store* Control();
  void Trouble(std::string_view what, const Error& e);
  void PollRole();
  void Heartbeat();
  void RunSchedules();
  void RecordEvent(std::string event, std::string detail);
  void FlushEvents();
  Status RecordStop();

  const ServerHome home_;
  const int64_t poll_ms_;
  std::unique_ptr<Store> control_;  // the control loop's own connection, unfenced
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Role role_;                    // guarded by mu_
  bool stop_requested_ = false;  // guarded by mu_
  bool woken_ = false;           // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::string api_address_;
  std::string started_at_;
  int db_failures_ = 0;
  std::optional<Error> schema_error_;  // the database was upgraded under this service
  std::vector<std::pair<std::string, std::string>> pending_events_;
  Scheduler scheduler_;
  RunQueue queue_;
  ApiServer api_;  // last: stops first
};

Status Service::Start() {
  spdlog::info("idsyncd {} starting: server {}, home {}, database {}", IdsyncVersion(), home_.server, home_.dir,
               home_.database);
  IDSYNC_ASSIGN(control_, Store::Open(home_.database, {}));
  const std::string location = control_->db().Location();
  if (control_->schema_version() == 0)
    return Fail(ErrorCode::kNotFound, fmt::format("database {} holds no idsync installation; create one with "
                                                  "`idsync-setup install`",
                                                  location));
  IDSYNC_TRY(CheckSchemaVersion(control_->schema_version(), location));
  IDSYNC_ASSIGN(auto me, control_->GetServer(home_.server));
  if (!me)
    return Fail(ErrorCode::kNotFound,
                fmt::format("server '{}' (named in {}/server.toml) is not registered in {}; install it with "
                            "`idsync-setup install --home {}`",
                            home_.server, home_.dir, location, home_.dir));
  if (HeartbeatLive(*me, NowMs()) && me->host == HostName() && me->pid != getpid() && ProcessAlive(me->pid))
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("the service of server '{}' already runs (pid {}, API {}); stop it first", home_.server,
                            me->pid, me->api));
  IDSYNC_ASSIGN(Store::Cluster cluster, control_->GetCluster());
  Role role{cluster.active_server == home_.server, cluster.epoch, cluster.active_server};
  SetRole(role);
  IDSYNC_ASSIGN(api_address_, api_.Bind(home_.api_listen, fmt::format("service.api in {}/server.toml", home_.dir)));
  Store::ServerRecord record;
  record.name = home_.server;
  record.host = HostName();
  record.version = IdsyncVersion();
  record.pid = getpid();
  record.api = api_address_;
  record.role = role.active ? "active" : "standby";
  record.epoch = role.epoch;
  record.heartbeat_ms = NowMs();
  record.heartbeat_interval_ms = home_.heartbeat_interval_ms;
  IDSYNC_TRY(control_->WithWrite([&]() -> Status {
    IDSYNC_TRY(control_->RecordServiceStart(record));
    return control_->AddServerEvent(home_.server, "started",
                                    fmt::format("{} at epoch {}; pid {}, API {}, version {}", record.role, role.epoch,
                                                record.pid, api_address_, record.version));
  }));
  started_at_ = NowUtc();
  IDSYNC_TRY(api_.Start());
  queue_.Start();
  spdlog::info("serving the API on http://{}", api_address_);
  if (role.active) {
    scheduler_.Reset();
    spdlog::info("running as active at epoch {}", role.epoch);
  } else {
    spdlog::info("running as standby: {}", StandbyGuidance(home_.server, cluster));
  }
  return {};
}

int Service::Run() {
  int64_t next_beat = NowMs() + home_.heartbeat_interval_ms;
  while (true) {
    bool stop;
    {
      std::lock_guard lock(mu_);
      stop = stop_requested_;
    }
    if (stop && !stopping_) {
      stopping_ = true;
      auto running = queue_.Running();
      size_t dropped = queue_.DropQueued();
      queue_.Close();
      spdlog::info("stopping: no new runs{}{}", dropped ? fmt::format(", {} queued dropped", dropped) : "",
                   running ? fmt::format("; waiting for the run of {}/{} to finish (a run cannot be interrupted; "
                                         "a second signal exits at once)",
                                         running->ma, running->profile)
                           : "");
    }
    PollRole();
    int64_t now = NowMs();
    if (now >= next_beat) {
      Heartbeat();
      next_beat = now + home_.heartbeat_interval_ms;
    }
    if (!stopping_) RunSchedules();
    FlushEvents();
    if (stopping_ && queue_.Idle()) break;
    std::unique_lock lock(mu_);
    auto wake_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::min(poll_ms_, next_beat - now));
    cv_.wait_until(lock, wake_at, [this] { return woken_ || (stop_requested_ && !stopping_); });
    woken_ = false;
  }
  queue_.Join();
  api_.Stop();
  auto stopped = RecordStop();
  if (!stopped) {
    spdlog::error("could not record the stop: {}", FormatError(stopped.error()));
    return ExitCodeFor(stopped.error().code);
  }
  spdlog::info("stopped");
  return schema_error_ ? ExitCodeFor(schema_error_->code) : 0;
}

Store* Service::Control() {
  if (!control_) {
    auto store = Store::Open(home_.database, {});
    if (!store) {
      Trouble("opening the database", store.error());
      return nullptr;
    }
    control_ = std::move(*store);
  }
  return control_.get();
}

// A database that is busy or away is logged (not every time) and tried
// again at the next tick with a fresh connection.
void Service::Trouble(std::string_view what, const Error& e) {
  ++db_failures_;
  if (db_failures_ == 1 || db_failures_ % 40 == 0)
    spdlog::warn("{} failed ({} in a row; retrying): {}", what, db_failures_, FormatError(e));
  control_.reset();
}

void Service::PollRole() {
  Store* store = Control();
  if (!store) return;
  auto cluster = store->GetCluster();
  if (!cluster) return Trouble("reading the active server", cluster.error());
  // A newer release may upgrade the shared database while this one runs.
  auto schema = ReadSchemaVersion(store->db());
  if (!schema) return Trouble("reading the schema version", schema.error());
  if (auto st = CheckSchemaVersion(*schema, store->db().Location()); !st && !schema_error_) {
    schema_error_ = st.error();
    spdlog::error("stopping: {}", FormatError(st.error()));
    std::lock_guard lock(mu_);
    stop_requested_ = true;
  }
  if (db_failures_) {
    spdlog::info("the database answers again after {} failed attempts", db_failures_);
    db_failures_ = 0;
  }
  Role before = GetRole();
  bool named = cluster->active_server == home_.server;
  SetRole(Role{named, cluster->epoch, cluster->active_server});
  if (named && (!before.active || before.epoch != cluster->epoch)) {
    scheduler_.Reset();
    std::string detail =
        fmt::format("epoch {}; was {}", cluster->epoch,
                    before.active ? fmt::format("active at epoch {}", before.epoch) : std::string("standby"));
    spdlog::info("became active: {}", detail);
    RecordEvent("became-active", detail);
  } else if (!named && before.active) {
    size_t dropped = queue_.DropQueued();
    auto running = queue_.Running();
    std::string detail = fmt::format("{} is active at epoch {}; this server held epoch {}",
                                     cluster->active_server.empty() ? "no server" : cluster->active_server,
                                     cluster->epoch, before.epoch);
    if (running)
      detail += fmt::format("; the run of {}/{} in progress stops at its next write", running->ma, running->profile);
    if (dropped) detail += fmt::format("; {} queued runs dropped", dropped);
    spdlog::warn("deposed, now standby: {}", detail);
    RecordEvent("deposed", detail);
  }
}

void Service::Heartbeat() {
  Store* store = Control();
  if (!store) return;
  Role role = GetRole();
  auto st = store->WithWrite(
      [&] { return store->RecordHeartbeat(home_.server, role.active ? "active" : "standby", role.epoch, NowMs()); });
  if (!st) Trouble("the heartbeat", st.error());
}

void Service::RunSchedules() {
  Role role = GetRole();
  if (!role.active) return;
  Store* store = Control();
  if (!store) return;
  int64_t now = NowMs();
  auto due = scheduler_.Due(
      *store, now, [this](const std::string& ma, const std::string& profile) { return queue_.Has(ma, profile); });
  if (!due) return Trouble("reading the schedules", due.error());
  for (const auto& s : *due) {
    if (!queue_.Push(RunJob{s.ma, s.profile, "schedule " + s.Describe(), role.epoch, now})) continue;
    scheduler_.Queued(s, now);
    spdlog::info("schedule {} is due: run queued", s.Describe());
  }
}

void Service::RecordEvent(std::string event, std::string detail) {
  pending_events_.emplace_back(std::move(event), std::move(detail));
  FlushEvents();
}

// Events wait in memory while the database is away.
void Service::FlushEvents() {
  if (pending_events_.empty()) return;
  Store* store = Control();
  if (!store) return;
  auto st = store->WithWrite([&]() -> Status {
    for (const auto& [event, detail] : pending_events_) IDSYNC_TRY(store->AddServerEvent(home_.server, event, detail));
    return {};
  });
  if (!st) return Trouble("recording a server event", st.error());
  pending_events_.clear();
}

Status Service::RecordStop() {
  Error last{ErrorCode::kInternal, ""};
  for (int attempt = 0; attempt < 3; ++attempt) {
    FlushEvents();
    Store* store = Control();
    if (!store) continue;
    auto st = store->WithWrite([&]() -> Status {
      IDSYNC_TRY(store->RecordServiceStop(home_.server));
      return store->AddServerEvent(home_.server, "stopped", "clean stop");
    });
    if (st) return {};
    last = st.error();
    Trouble("recording the stop", last);
  }
  return tl::unexpected(last);
}

Result<nlohmann::json> Service::InstallationStatus() {
  IDSYNC_ASSIGN(auto store, Store::Open(home_.database, {.create_if_missing = false, .read_only = true}));
  IDSYNC_ASSIGN(auto status, ReadStatus(*store, home_.server));
  return StatusToJson(status);
}

nlohmann::json Service::ServiceView() {
  Role role = GetRole();
  nlohmann::json view = queue_.Describe();
  view["server"] = home_.server;
  view["role"] = role.active ? "active" : "standby";
  view["epoch"] = role.epoch;
  view["active_server"] = role.active_server.empty() ? nlohmann::json() : nlohmann::json(role.active_server);
  view["stopping"] = stopping_.load();
  view["pid"] = getpid();
  view["version"] = IdsyncVersion();
  view["api"] = api_address_;
  view["started_at"] = started_at_;
  view["heartbeat_interval_ms"] = home_.heartbeat_interval_ms;
  return view;
}

Status Service::QueueRun(const std::string& ma, const std::string& profile) {
  if (stopping_) return Fail(ErrorCode::kBusy, "the service is stopping and starts no new runs");
  // The API's threads open their own connection (a Store belongs to one thread).
  IDSYNC_ASSIGN(auto store, Store::Open(home_.database, {}));
  IDSYNC_ASSIGN(Store::Cluster cluster, store->GetCluster());
  if (cluster.active_server != home_.server) return Fail(ErrorCode::kFenced, StandbyGuidance(home_.server, cluster));
  Role role = GetRole();
  if (!role.active || role.epoch != cluster.epoch)
    return Fail(ErrorCode::kBusy, fmt::format("server {} was activated at epoch {} a moment ago and turns active "
                                              "within a second; try again",
                                              home_.server, cluster.epoch));
  IDSYNC_ASSIGN(auto docs, store->LoadConfig());
  if (docs.empty())
    return Fail(ErrorCode::kConfig, "no configuration has been applied; run `idsync config apply FILE|DIR` first");
  IDSYNC_ASSIGN(Config config, FromDocuments(docs));
  const ManagementAgent* agent = config.FindMa(ma);
  if (!agent) return Fail(ErrorCode::kNotFound, fmt::format("no management agent '{}'", ma));
  IDSYNC_TRY(ResolveProfile(*agent, profile));
  // The worker may log the run's start before this line is written.
  if (queue_.Push(RunJob{ma, profile, "api", role.epoch, NowMs()}))
    spdlog::info("run {}/{} requested through the API: queued", ma, profile);
  else if (stopping_)
    return Fail(ErrorCode::kBusy, "the service is stopping and starts no new runs");
  else
    spdlog::info("run {}/{} requested through the API: the same run already waits in the queue", ma, profile);
  Wake();
  return {};
}

void SetUpLogging() {
  auto logger = std::make_shared<spdlog::logger>("idsyncd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
  // journald stamps each line itself.
  logger->set_pattern(std::getenv("JOURNAL_STREAM") ? "%l: %v" : "[%Y-%m-%d %H:%M:%S.%e] %l: %v");
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace

int RunService(const ServiceOptions& options) {
  SetUpLogging();
  auto home = ReadHome(DefaultHomeDir(options.home_dir));
  if (!home) {
    spdlog::error("{}", FormatError(home.error()));
    return ExitCodeFor(home.error().code);
  }
  Service service(*home);
  // Before any other thread starts, so that they all leave the signals to it.
  SignalWatcher signals([&service](int sig) { service.RequestStop(sig); });
  auto started = service.Start();
  if (!started) {
    spdlog::error("cannot start: {}", FormatError(started.error()));
    return ExitCodeFor(started.error().code);
  }
  return service.Run();
}

}  // namespace idsync
