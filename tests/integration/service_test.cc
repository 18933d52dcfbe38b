// idsyncd as a real process on a real database (an SQLite file, or
// PostgreSQL with IDSYNC_TEST_DB=postgresql): its API, heartbeats, a
// clean stop, the active and standby roles, activation while it runs,
// fencing of a deposed service in the middle of a run, schedules, and the
// errors that keep it from starting. Conditions are polled with deadlines.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>

#include "ha/home.h"
#include "ha/roles.h"
#include "ha/status.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kStartTimeout{10000};

int64_t MsSince(Clock::time_point t) { return std::chrono::duration_cast<milliseconds>(Clock::now() - t).count(); }

struct Reply {
  int status = 0;
  nlohmann::json body;
};

// A running idsyncd and a client for its API.
struct Service {
  std::unique_ptr<Daemon> process;
  int port = 0;

  Reply Get(const std::string& path) const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    auto r = client.Get(path.c_str());
    if (!r) return {};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  Reply Post(const std::string& path, const std::string& body) const {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(10, 0);
    auto r = client.Post(path.c_str(), body, "application/json");
    if (!r) return {};
    return {r->status, nlohmann::json::parse(r->body, nullptr, false)};
  }
  // The role this process runs as (not what the database says).
  std::string Role() const {
    auto view = Get("/api/v1/service").body;
    return view.is_object() ? view.value("role", "") : "";
  }
  // The status of the last run this process ran ("" when none yet).
  std::string LastOutcome() const {
    auto view = Get("/api/v1/service").body;
    if (!view.is_object() || view["recent"].empty()) return "";
    return view["recent"][0].value("status", "");
  }
};

class ServiceTest : public ::testing::Test {
 protected:
  fs::path home(const std::string& server) const { return dir_.path() / ("home-" + server); }
  const std::string& db_url() const { return db_url_; }

  // Installs alpha, active at epoch 1, with the service on a free port.
  void InstallAlpha(int64_t heartbeat_ms = 200) {
    auto r =
        RunProgram("idsync-setup",
                   {"install", "--home", home("alpha").string(), "--db", db_url(), "--server", "alpha",
                    "--service-account", "CORP\\svc", "--service-password-stdin", "--admins-group", "domain:Admins"},
                   {}, "Correct-Horse-9\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    SetServiceSettings("alpha", "127.0.0.1:0", heartbeat_ms);
  }

  void SetServiceSettings(const std::string& server, const std::string& api, int64_t heartbeat_ms) {
    auto h = ReadHome(home(server).string());
    ASSERT_TRUE(h) << h.error().message;
    h->api_listen = api;
    h->heartbeat_interval_ms = heartbeat_ms;
    ASSERT_TRUE(WriteHome(*h, true));
  }

  // A second server on the same database (standby), registered directly
  // until `idsync-setup install --standby` is available to tests.
  void AddBeta(int64_t heartbeat_ms = 200) {
    auto store = Open();
    ASSERT_TRUE(store->WithWrite([&] { return store->RegisterServer("beta", home("beta").string()); }));
    ServerHome h{home("beta").string(), "beta", db_url(), "127.0.0.1:0", heartbeat_ms};
    ASSERT_TRUE(WriteHome(h, false));
  }

  std::unique_ptr<Store> Open() {
    auto store = Store::Open(db_url(), {});
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }

  // hr: a CSV MA with `rows` people; `extra` is appended to the TOML.
  void ApplyConfig(int rows, const std::string& extra = "") {
    fs::path cfg = dir_.path() / "cfg";
    fs::create_directories(cfg);
    {
      std::ofstream csv(cfg / "hr.csv");
      csv << "id,name\n";
      for (int i = 1; i <= rows; ++i) csv << i << ",Person " << i << "\n";
    }
    std::ofstream(cfg / "idsync.toml") << R"([metaverse.object_types.person]
attributes = ["id", "name"]
[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "id"
attributes = ["id", "name"]
join = [ { mv = "id", cs = "id" } ]
project = true
import_flows = { id = "id", name = "name" }
)" << extra;
    auto r = RunProgram("idsync", {"--home", home("alpha").string(), "config", "apply", cfg.string()});
    ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  Service Start(const std::string& server) {
    Service s;
    s.process = Daemon::Start("idsyncd", {"--home", home(server).string()});
    EXPECT_TRUE(s.process);
    if (!s.process) return s;
    const std::string marker = "serving the API on http://127.0.0.1:";
    EXPECT_TRUE(s.process->WaitForErr(marker, kStartTimeout)) << s.process->Err();
    std::string err = s.process->Err();
    size_t at = err.find(marker);
    if (at != std::string::npos) s.port = std::atoi(err.c_str() + at + marker.size());
    return s;
  }

  std::optional<Store::ServerRecord> Server(const std::string& name) {
    auto store = Open();
    auto r = store->GetServer(name);
    return r ? *r : std::nullopt;
  }

  std::vector<Store::ServerEvent> Events(const std::string& server) {
    auto store = Open();
    auto events = store->ListServerEvents(server, 100);
    return events ? *events : std::vector<Store::ServerEvent>{};
  }

  std::optional<Store::ServerEvent> FindEvent(const std::string& server, const std::string& event) {
    for (const auto& e : Events(server))
      if (e.event == event) return e;
    return std::nullopt;
  }

  // Waits for `n` more heartbeats of a running service: a service that beat
  // n times has also gone through at least n - 1 ticks of its control loop.
  bool WaitForHeartbeats(const std::string& server, int n) {
    for (int i = 0; i < n; ++i) {
      int64_t beat = Server(server)->heartbeat_ms;
      if (!WaitFor([&] { return Server(server)->heartbeat_ms > beat; }, milliseconds(3000))) return false;
    }
    return true;
  }

  std::vector<RunRecord> Runs() {
    auto store = Open();
    auto runs = store->ListRuns(1000);
    return runs ? *runs : std::vector<RunRecord>{};
  }

  int64_t CsCount(const std::string& ma) {
    auto store = Open();
    auto id = store->FindManagementAgent(ma);
    if (!id || !*id) return 0;
    return store->CountCs(**id).value_or(-1);
  }

  // What `idsync-activate` does in the database: `server` becomes active at
  // the next epoch.
  void Activate(const std::string& server, int64_t from_epoch) {
    auto epoch = ActivateInOwnTransaction(*Open(), server, from_epoch);
    ASSERT_TRUE(epoch) << epoch.error().message;
  }

  TempDir dir_;
  std::string db_url_ = FreshTestDbUrl(dir_.path());
};

nlohmann::json WithoutClocks(nlohmann::json status) {
  for (auto& s : status["servers"]) {
    s.erase("heartbeat_age_ms");
    s.erase("heartbeat_at");
  }
  return status;
}

TEST_F(ServiceTest, StatusApiAnswersFromTheDatabaseAndUnknownPathsAreJson404) {
  InstallAlpha();
  Service alpha = Start("alpha");
  ASSERT_GT(alpha.port, 0);
  auto status = alpha.Get("/api/v1/status");
  ASSERT_EQ(status.status, 200);
  auto store = Open();
  auto expected = ReadStatus(*store, "alpha");
  ASSERT_TRUE(expected);
  EXPECT_EQ(WithoutClocks(status.body), WithoutClocks(StatusToJson(*expected)));
  EXPECT_EQ(status.body["role"], "active");
  EXPECT_EQ(status.body["epoch"], 1);
  EXPECT_EQ(status.body["servers"][0]["api"], fmt::format("127.0.0.1:{}", alpha.port));
  EXPECT_EQ(status.body["servers"][0]["service_live"], true);

  for (const auto& [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/v1/nothing"}, {"GET", "/"}, {"POST", "/api/v1/status"}}) {
    SCOPED_TRACE(method + " " + path);
    auto r = method == "GET" ? alpha.Get(path) : alpha.Post(path, "{}");
    EXPECT_EQ(r.status, 404);
    ASSERT_TRUE(r.body.is_object());
    EXPECT_EQ(r.body["code"], "0x80230004");
    EXPECT_NE(r.body["error"].get<std::string>().find("no such endpoint: " + method + " " + path), std::string::npos);
  }
}

TEST_F(ServiceTest, HeartbeatsAdvanceAndSigtermRecordsACleanStop) {
  InstallAlpha();
  Service alpha = Start("alpha");
  auto first = Server("alpha");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->state, "running");
  EXPECT_EQ(first->pid, alpha.process->pid());
  EXPECT_EQ(first->heartbeat_interval_ms, 200);
  int64_t beat = first->heartbeat_ms;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(WaitFor([&] { return Server("alpha")->heartbeat_ms > beat; }, milliseconds(2000)))
        << "heartbeat " << i << " did not come";
    beat = Server("alpha")->heartbeat_ms;
  }
  EXPECT_TRUE(HeartbeatLive(*Server("alpha"), NowMs()));
  EXPECT_EQ(Server("alpha")->role, "active");

  ASSERT_TRUE(alpha.process->Signal(SIGTERM));
  EXPECT_EQ(alpha.process->WaitExit(milliseconds(5000)), 0) << alpha.process->Err();
  auto stopped = Server("alpha");
  EXPECT_EQ(stopped->state, "stopped");
  EXPECT_FALSE(stopped->stopped_at.empty());
  EXPECT_FALSE(HeartbeatLive(*stopped, NowMs()));
  EXPECT_TRUE(FindEvent("alpha", "started"));
  EXPECT_TRUE(FindEvent("alpha", "stopped"));
}

TEST_F(ServiceTest, StandbyRefusesRunsWithTheGuidanceAndTheActiveServerRunsThem) {
  InstallAlpha();
  AddBeta();
  ApplyConfig(3);
  Service alpha = Start("alpha");
  Service beta = Start("beta");
  EXPECT_EQ(beta.Role(), "standby");

  const std::string run = R"({"ma": "hr", "profile": "full-import"})";
  auto refused = beta.Post("/api/v1/runs", run);
  EXPECT_EQ(refused.status, 409);
  ASSERT_TRUE(refused.body.is_object());
  EXPECT_EQ(refused.body["code"], "0x80230008");
  EXPECT_EQ(refused.body["error"], StandbyGuidance("beta", Store::Cluster{"alpha", 1}));

  auto bad = alpha.Post("/api/v1/runs", R"({"ma": "hr"})");
  EXPECT_EQ(bad.status, 400);
  auto unknown = alpha.Post("/api/v1/runs", R"({"ma": "payroll", "profile": "full-import"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body["error"].get<std::string>().find("no management agent 'payroll'"), std::string::npos);

  auto accepted = alpha.Post("/api/v1/runs", run);
  EXPECT_EQ(accepted.status, 202);
  EXPECT_EQ(accepted.body["queued"], true);
  ASSERT_TRUE(WaitFor([&] { return alpha.LastOutcome() == "success"; }, milliseconds(10000))) << alpha.process->Err();
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].server, "alpha");
  EXPECT_EQ(runs[0].status, "success");
  EXPECT_EQ(CsCount("hr"), 3);
  EXPECT_EQ(beta.LastOutcome(), "");
}

TEST_F(ServiceTest, ActivatingARunningStandbyMakesItActiveWithinOneSecond) {
  InstallAlpha();
  AddBeta();
  ApplyConfig(3);
  Service beta = Start("beta");
  ASSERT_EQ(beta.Role(), "standby");
  EXPECT_EQ(beta.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})").status, 409);

  Activate("beta", 1);
  auto t0 = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return beta.Role() == "active"; }, milliseconds(3000))) << beta.process->Err();
  int64_t ms = MsSince(t0);
  std::printf("[ measure  ] activation in the database -> service reports active: %lld ms\n",
              static_cast<long long>(ms));
  EXPECT_LT(ms, 1000);
  EXPECT_EQ(beta.Get("/api/v1/service").body["epoch"], 2);
  // The service records the event just after it takes the new role (the
  // API may answer in between): wait for it.
  ASSERT_TRUE(WaitFor([&] { return FindEvent("beta", "became-active").has_value(); }, milliseconds(3000)));
  auto event = FindEvent("beta", "became-active");
  ASSERT_TRUE(event);
  EXPECT_NE(event->detail.find("epoch 2"), std::string::npos) << event->detail;

  EXPECT_EQ(beta.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})").status, 202);
  ASSERT_TRUE(WaitFor([&] { return beta.LastOutcome() == "success"; }, milliseconds(10000))) << beta.process->Err();
  EXPECT_EQ(Runs().at(0).server, "beta");
  EXPECT_TRUE(WaitFor([&] { return Server("beta")->role == "active"; }, milliseconds(2000)));
}

// The old primary keeps running while another server is activated in the
// middle of its run: the run's next write fails, nothing it would have
// written after the epoch changed reaches the database, and it turns standby.
TEST_F(ServiceTest, ADeposedServiceStopsItsRunAtTheNextWriteAndTurnsStandby) {
  constexpr int kRows = 200000;
  constexpr int64_t kHeartbeatMs = 500;
  InstallAlpha(kHeartbeatMs);
  AddBeta();
  ApplyConfig(kRows);
  Service alpha = Start("alpha");
  ASSERT_EQ(alpha.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})").status, 202);
  ASSERT_TRUE(WaitFor([&] { return CsCount("hr") > 0; }, milliseconds(20000))) << alpha.process->Err();

  Activate("beta", 1);
  auto t0 = Clock::now();
  int64_t at_activation = CsCount("hr");
  ASSERT_LT(at_activation, kRows) << "the run finished before the activation; make the input bigger";

  ASSERT_TRUE(WaitFor([&] { return alpha.Role() == "standby"; }, milliseconds(5000))) << alpha.process->Err();
  int64_t to_standby = MsSince(t0);
  ASSERT_TRUE(WaitFor([&] { return !alpha.LastOutcome().empty(); }, milliseconds(20000))) << alpha.process->Err();
  int64_t to_run_end = MsSince(t0);
  std::printf(
      "[ measure  ] activation of another server -> old primary reports standby: %lld ms, its run "
      "ends: %lld ms (%lld of %d rows were staged)\n",
      static_cast<long long>(to_standby), static_cast<long long>(to_run_end), static_cast<long long>(at_activation),
      kRows);
  EXPECT_LE(to_standby, kHeartbeatMs);
  EXPECT_EQ(alpha.LastOutcome(), "stopped-not-active");
  EXPECT_TRUE(WaitFor([&] { return Server("alpha")->role == "standby"; }, milliseconds(3 * kHeartbeatMs)));

  ASSERT_TRUE(WaitFor([&] { return FindEvent("alpha", "deposed").has_value(); }, milliseconds(3000)));
  auto deposed = FindEvent("alpha", "deposed");
  ASSERT_TRUE(deposed);
  EXPECT_NE(deposed->detail.find("beta is active at epoch 2; this server held epoch 1"), std::string::npos)
      << deposed->detail;
  EXPECT_NE(alpha.process->Err().find("deposed, now standby"), std::string::npos);

  // Nothing the old primary did after the epoch changed is in the database.
  EXPECT_EQ(CsCount("hr"), at_activation);
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].status, "in-progress") << "a deposed server cannot finish its run record";
  // And it refuses work now, naming the new active server.
  auto refused = alpha.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})");
  EXPECT_EQ(refused.status, 409);
  EXPECT_EQ(refused.body["error"], StandbyGuidance("alpha", Store::Cluster{"beta", 2}));
}

TEST_F(ServiceTest, AnIntervalScheduleRunsOnTheActiveServerOnly) {
  InstallAlpha();
  AddBeta();
  ApplyConfig(3, R"(
[[schedule]]
ma = "hr"
profile = "full-import"
every = "1s"
)");
  Service beta = Start("beta");
  Service alpha = Start("alpha");
  // The first run is due at once (the history has none), the next a second later.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto runs = Runs();
        return runs.size() >= 2 && runs[0].status == "success" && runs[1].status == "success";
      },
      milliseconds(10000)))
      << alpha.process->Err();
  for (const auto& run : Runs()) EXPECT_EQ(run.server, "alpha");
  EXPECT_EQ(beta.LastOutcome(), "");
  EXPECT_NE(alpha.process->Err().find("schedule hr/full-import every 1s is due"), std::string::npos);
  EXPECT_EQ(beta.process->Err().find("is due"), std::string::npos);
}

// A schedule that fell due many times while this server was standby runs
// once after its activation, then keeps to its interval.
TEST_F(ServiceTest, AScheduleMissedWhileStandbyRunsOnceAfterActivation) {
  InstallAlpha();
  AddBeta();
  ApplyConfig(3, R"(
[[schedule]]
ma = "hr"
profile = "full-import"
every = "1h"
)");
  {
    // The old primary's last run of the profile, five hours ago.
    auto store = Open();
    std::time_t then = std::time(nullptr) - 5 * 3600;
    std::tm tm{};
    gmtime_r(&then, &tm);
    char at[32];
    std::strftime(at, sizeof at, "%Y-%m-%dT%H:%M:%SZ", &tm);
    RunRecord old{0, "hr", "full-import", "in-progress", "alpha", at, "", "{}"};
    ASSERT_TRUE(store->WithWrite([&]() -> Status {
      IDSYNC_ASSIGN(int64_t id, store->StartRun(old));
      return store->FinishRun(id, "success", "{}");
    }));
  }
  Service beta = Start("beta");
  ASSERT_TRUE(WaitForHeartbeats("beta", 3));
  EXPECT_EQ(Runs().size(), 1u) << "a standby ran a schedule";

  Activate("beta", 1);
  ASSERT_TRUE(WaitFor([&] { return beta.LastOutcome() == "success"; }, milliseconds(10000))) << beta.process->Err();
  ASSERT_TRUE(WaitForHeartbeats("beta", 4));
  auto runs = Runs();
  ASSERT_EQ(runs.size(), 2u) << beta.process->Err();
  EXPECT_EQ(runs[0].server, "beta");
}

// SIGTERM waits for the run in progress (the engine cannot interrupt it); a
// second SIGTERM ends the process at once.
TEST_F(ServiceTest, StopWaitsForTheRunningRunAndASecondSignalExitsAtOnce) {
  InstallAlpha();
  ApplyConfig(200000);
  Service alpha = Start("alpha");
  ASSERT_EQ(alpha.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})").status, 202);
  ASSERT_TRUE(WaitFor([&] { return CsCount("hr") > 0; }, milliseconds(20000))) << alpha.process->Err();
  ASSERT_TRUE(alpha.process->Signal(SIGTERM));
  ASSERT_TRUE(alpha.process->WaitForErr("waiting for the run of hr/full-import to finish", milliseconds(5000)))
      << alpha.process->Err();
  EXPECT_TRUE(alpha.process->Running());
  EXPECT_EQ(alpha.Post("/api/v1/runs", R"({"ma": "hr", "profile": "full-import"})").status, 503);
  auto t0 = Clock::now();
  ASSERT_TRUE(alpha.process->Signal(SIGTERM));
  EXPECT_EQ(alpha.process->WaitExit(milliseconds(2000)), 128 + SIGTERM);
  EXPECT_LT(MsSince(t0), 2000);
  EXPECT_LT(CsCount("hr"), 200000);
}

TEST_F(ServiceTest, ATakenPortIsRefusedNamingTheAddressAndTheSetting) {
  InstallAlpha();
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string taken = fmt::format("127.0.0.1:{}", ntohs(addr.sin_port));
  SetServiceSettings("alpha", taken, 200);

  auto d = Daemon::Start("idsyncd", {"--home", home("alpha").string()});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->WaitExit(kStartTimeout), ExitCodeFor(ErrorCode::kBusy));
  std::string err = d->Err();
  EXPECT_NE(err.find("cannot serve the API on " + taken + ": Address already in use"), std::string::npos) << err;
  EXPECT_NE(err.find("change service.api in " + home("alpha").string() + "/server.toml"), std::string::npos) << err;
  EXPECT_NE(Server("alpha")->state, "running");
  close(fd);
}

// Plays the server that was upgraded first (`idsync-setup upgrade` of a
// newer release), in a child process so that this test program keeps
// knowing only its own release's schema.
bool UpgradeLikeANewerRelease(const std::string& url) {
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    AddMigrationForTesting("CREATE TABLE future_feature (id INTEGER PRIMARY KEY)");
    auto store = Store::Open(url, {});
    _exit(store && (*store)->Migrate() ? 0 : 1);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string NewerSchemaMessage() {
  return fmt::format("schema version {} but this program knows version {}", kSchemaVersion + 1, kSchemaVersion);
}

TEST_F(ServiceTest, ADatabaseWithANewerSchemaIsRefusedWith0x80230443) {
  InstallAlpha();
  ASSERT_TRUE(UpgradeLikeANewerRelease(db_url()));
  auto d = Daemon::Start("idsyncd", {"--home", home("alpha").string()});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->WaitExit(kStartTimeout), ExitCodeFor(ErrorCode::kSchemaMismatch));
  std::string err = d->Err();
  EXPECT_NE(err.find("0x80230443"), std::string::npos) << err;
  EXPECT_NE(err.find(NewerSchemaMessage()), std::string::npos) << err;
  EXPECT_EQ(err.find("serving the API"), std::string::npos);
  EXPECT_NE(Server("alpha")->state, "running");
}

TEST_F(ServiceTest, AServiceWhoseDatabaseIsUpgradedUnderItStopsWith0x80230443) {
  InstallAlpha();
  Service alpha = Start("alpha");
  ASSERT_EQ(alpha.Role(), "active");
  ASSERT_TRUE(UpgradeLikeANewerRelease(db_url()));
  EXPECT_EQ(alpha.process->WaitExit(milliseconds(3000)), ExitCodeFor(ErrorCode::kSchemaMismatch));
  std::string err = alpha.process->Err();
  EXPECT_NE(err.find("stopping: 0x80230443"), std::string::npos) << err;
  EXPECT_NE(err.find(NewerSchemaMessage()), std::string::npos) << err;
  EXPECT_EQ(Server("alpha")->state, "stopped");
}

TEST_F(ServiceTest, AHomeWithoutAnInstallationIsRefused) {
  auto d = Daemon::Start("idsyncd", {"--home", (dir_.path() / "nowhere").string()});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->WaitExit(kStartTimeout), ExitCodeFor(ErrorCode::kNotFound));
  EXPECT_NE(d->Err().find("holds no idsync server"), std::string::npos) << d->Err();
}

}  // namespace
}  // namespace idsync
