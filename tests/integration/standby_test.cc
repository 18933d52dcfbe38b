// The warm-standby procedure end to end, with the real programs and two
// services on one database (an SQLite file, or PostgreSQL with
// IDSYNC_TEST_DB=postgresql): install the standby first, stop it, install
// the primary, restart the standby (it runs as standby), synchronize, kill
// the primary with SIGKILL in the middle of a run, activate the standby with
// the key file at the console, run the cycle on the new primary, and compare
// everything with an uninterrupted cycle.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "ha/home.h"
#include "store/store.h"
#include "tests/support/daemon.h"
#include "tests/support/process.h"
#include "tests/support/scenario.h"
#include "tests/support/temp_dir.h"
#include "tests/support/terminal.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kAccount = "CORP\\svc-idsync";
constexpr const char* kPassword = "Correct-Horse-9";
constexpr int kPeople = 20000;

// An installation's folder (configuration: the benchmark's scenario; homes)
// and its database.
struct Site {
  explicit Site(fs::path d) : dir(std::move(d)) { fs::create_directories(dir); }
  fs::path dir;
  std::string db_url = FreshTestDbUrl(dir);
  const std::string& url() const { return db_url; }
  fs::path home(const std::string& server) const { return dir / ("home-" + server); }
  fs::path cfg() const { return dir / "cfg"; }

  void WriteConfig() const { WriteScenario(cfg(), kPeople); }
  ProcessResult Install(const std::string& server, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args{"install", "--home", home(server).string(), "--db", url(), "--server", server,
                                  "--service-account", kAccount, "--service-password-stdin", "--admins-group",
                                  "domain:CORP\\IdsyncAdmins", "--api", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = RunProgram("idsync-setup", args, {}, std::string(kPassword) + "\n");
    if (r.exit_code == 0) {
      // Heartbeat fast so a dead service is noticed within a test's patience.
      auto h = ReadHome(home(server).string());
      h->heartbeat_interval_ms = 200;
      EXPECT_TRUE(WriteHome(*h, true));
    }
    return r;
  }
  ProcessResult Idsync(const std::string& server, std::vector<std::string> args) const {
    return RunProgram("idsync", args, {{"IDSYNC_HOME", home(server).string()}});
  }
  // idsync-kmu export on `server`, the password on standard input.
  ProcessResult ExportKeys(const std::string& server, const fs::path& keys) const {
    return RunProgram("idsync-kmu", {"--home", home(server).string(), "export", keys.string(), kAccount, "-"}, {},
                      std::string(kPassword) + "\n");
  }
  // The benchmark scenario's full cycle, each run checked.
  void RunCycle(const std::string& server) const {
    for (auto [ma, profile] : kScenarioCycle) {
      auto r = Idsync(server, {"run", ma, profile});
      ASSERT_EQ(r.exit_code, 0) << ma << " " << profile << ": " << r.out << r.err;
    }
  }
  std::unique_ptr<Store> Open() const {
    auto store = Store::Open(url(), {});
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
  std::string Outcome() const { return ScenarioOutcome(*Open(), cfg()); }
};

// A running idsyncd and its API.
struct Service {
  std::unique_ptr<Daemon> process;
  int port = 0;

  static Service Start(const Site& site, const std::string& server) {
    Service s;
    s.process = Daemon::Start("idsyncd", {"--home", site.home(server).string()});
    EXPECT_TRUE(s.process);
    const std::string marker = "serving the API on http://127.0.0.1:";
    EXPECT_TRUE(s.process->WaitForErr(marker, milliseconds(10000))) << s.process->Err();
    std::string err = s.process->Err();
    if (auto at = err.find(marker); at != std::string::npos) s.port = std::atoi(err.c_str() + at + marker.size());
    return s;
  }
  nlohmann::json Get(const std::string& path) const {
    httplib::Client client("127.0.0.1", port);
    auto r = client.Get(path.c_str());
    return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
  }
  int Post(const std::string& path, const nlohmann::json& body) const {
    httplib::Client client("127.0.0.1", port);
    auto r = client.Post(path.c_str(), body.dump(), "application/json");
    return r ? r->status : 0;
  }
  std::string Role() const {
    auto view = Get("/api/v1/service");
    return view.is_object() ? view.value("role", "") : "";
  }
};

TEST(StandbyTest, TheSeedsProcedureSurvivesAKilledPrimaryAndMatchesAnUninterruptedCycle) {
  TempDir dir;
  Site site{dir.path() / "site"};
  Site reference{dir.path() / "reference"};
  site.WriteConfig();
  reference.WriteConfig();
  fs::path keys = dir.path() / "idsync-keys.bin";

  // 1. The standby is installed first: it creates the installation.
  auto standby_install = site.Install("beta");
  ASSERT_EQ(standby_install.exit_code, 0) << standby_install.err;
  {
    Service beta = Service::Start(site, "beta");
    ASSERT_TRUE(WaitFor([&] { return beta.Role() == "active"; }, milliseconds(5000)));
    auto exported = site.ExportKeys("beta", keys);
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    // 2. Its service is stopped.
    ASSERT_TRUE(beta.process->Signal(SIGTERM));
    ASSERT_EQ(beta.process->WaitExit(milliseconds(10000)), 0) << beta.process->Err();
  }
  // 3. The primary is installed on the same database and takes the active role.
  auto primary_install = site.Install("alpha", {"--keys", keys.string()});
  ASSERT_EQ(primary_install.exit_code, 0) << primary_install.err;
  EXPECT_NE(primary_install.out.find("installed server alpha (active, epoch 2)"), std::string::npos)
      << primary_install.out;
  // 4. The standby's service is started again and runs as standby.
  Service beta = Service::Start(site, "beta");
  Service alpha = Service::Start(site, "alpha");
  ASSERT_TRUE(WaitFor([&] { return beta.Role() == "standby" && alpha.Role() == "active"; }, milliseconds(5000)))
      << beta.Role() << " " << alpha.Role();
  auto status = nlohmann::json::parse(site.Idsync("beta", {"--json", "status"}).out);
  EXPECT_EQ(status["role"], "standby");
  EXPECT_EQ(status["active_server"], "alpha");
  EXPECT_EQ(status["epoch"], 2);
  EXPECT_EQ(beta.Post("/api/v1/runs", {{"ma", "hr"}, {"profile", "full-import"}}), 409);

  // Synchronize on the primary until it is killed in the middle of the sync.
  ASSERT_EQ(site.Idsync("alpha", {"config", "apply", site.cfg().string()}).exit_code, 0);
  ASSERT_EQ(site.Idsync("alpha", {"run", "hr", "full-import"}).exit_code, 0);
  ASSERT_EQ(alpha.Post("/api/v1/runs", {{"ma", "hr"}, {"profile", "full-sync"}}), 202);
  auto store = site.Open();
  auto sync_started = [&] {
    auto st = store->db().Prepare(
        "SELECT (SELECT count(*) FROM runs WHERE profile = 'full-sync' AND status = 'in-progress'), "
        "(SELECT count(*) FROM mv_objects)");
    if (!st || !*(*st)->Step()) return false;
    bool in_progress = (*st)->ColumnInt(0) == 1 && (*st)->ColumnInt(1) > 0;
    (*st)->Reset();
    return in_progress;
  };
  ASSERT_TRUE(WaitFor(sync_started, milliseconds(30000))) << alpha.process->Err();
  ASSERT_TRUE(alpha.process->Signal(SIGKILL));
  ASSERT_EQ(alpha.process->WaitExit(milliseconds(10000)), 128 + SIGKILL);
  auto mv_after_kill = store->db().Prepare("SELECT count(*) FROM mv_objects");
  ASSERT_TRUE(mv_after_kill && *(*mv_after_kill)->Step());
  int64_t partial = (*mv_after_kill)->ColumnInt(0);
  (*mv_after_kill)->Reset();
  EXPECT_LT(partial, kPeople) << "the kill must land in the middle of the sync";

  // The standby is activated at the console with the most recent key file.
  auto activation = RunOnTerminal("idsync-activate", {keys.string(), kAccount, "*"},
                                  {{"IDSYNC_HOME", site.home("beta").string()}},
                                  {{"Password for", kPassword}, {"[y/N]", "y"}});
  ASSERT_EQ(activation.exit_code, 0) << activation.out;
  EXPECT_NE(activation.out.find("server beta is now the active server at epoch 3 (was alpha at epoch 2)"),
            std::string::npos)
      << activation.out;
  EXPECT_TRUE(WaitFor([&] { return beta.Role() == "active"; }, milliseconds(1000)))
      << "the standby's service turns active within a second";

  // The cycle on the new primary completes what the old one left.
  site.RunCycle("beta");
  auto runs = *store->ListRuns(100);
  auto killed = std::find_if(runs.begin(), runs.end(), [](const RunRecord& r) { return r.profile == "full-sync" && r.server == "alpha"; });
  ASSERT_NE(killed, runs.end());
  EXPECT_EQ(killed->status, "stopped-not-active") << "the new primary takes over the dead primary's run lock";

  // An uninterrupted cycle on a single server reaches exactly the same state.
  ASSERT_EQ(reference.Install("solo").exit_code, 0);
  ASSERT_EQ(reference.Idsync("solo", {"config", "apply", reference.cfg().string()}).exit_code, 0);
  reference.RunCycle("solo");
  std::string expected = reference.Outcome();
  ASSERT_GT(expected.size(), 1000u);
  EXPECT_TRUE(site.Outcome() == expected) << "the activated standby's result differs from an uninterrupted cycle";
}

// Activation while the old primary is exporting: its next write fails, it
// turns standby within a heartbeat, and the new primary's export completes
// the batch without writing anything twice.
TEST(StandbyTest, APrimaryDeposedWhileExportingNeverExportsTwice) {
  TempDir dir;
  Site site{dir.path() / "site"};
  Site reference{dir.path() / "reference"};
  site.WriteConfig();
  reference.WriteConfig();
  fs::path keys = dir.path() / "idsync-keys.bin";
  ASSERT_EQ(site.Install("alpha").exit_code, 0);
  ASSERT_EQ(site.ExportKeys("alpha", keys).exit_code, 0);
  ASSERT_EQ(site.Install("beta", {"--keys", keys.string(), "--standby"}).exit_code, 0);
  ASSERT_EQ(site.Idsync("alpha", {"config", "apply", site.cfg().string()}).exit_code, 0);
  ASSERT_EQ(site.Idsync("alpha", {"run", "hr", "full-import"}).exit_code, 0);
  ASSERT_EQ(site.Idsync("alpha", {"run", "hr", "full-sync"}).exit_code, 0);

  Service alpha = Service::Start(site, "alpha");
  ASSERT_TRUE(WaitFor([&] { return alpha.Role() == "active"; }, milliseconds(5000)));
  auto store = site.Open();
  auto exporting = [&] {
    auto st = store->db().Prepare("SELECT count(*) FROM export_batches");
    if (!st || !*(*st)->Step()) return false;
    bool started = (*st)->ColumnInt(0) > 0;
    (*st)->Reset();
    return started;
  };
  // The administrator has passed every check and is asked to confirm when
  // the export starts; the answer lands in the middle of it.
  bool export_started = false;
  auto activation = RunOnTerminal(
      "idsync-activate", {keys.string(), kAccount, "*"}, {{"IDSYNC_HOME", site.home("beta").string()}},
      {{"Password for", kPassword}, {"[y/N]", "y"}}, [&](int, size_t prompt) {
        if (prompt != 1) return;
        EXPECT_EQ(alpha.Post("/api/v1/runs", {{"ma", "directory"}, {"profile", "export"}}), 202);
        export_started = WaitFor(exporting, milliseconds(30000));
      });
  ASSERT_TRUE(export_started) << alpha.process->Err();
  ASSERT_EQ(activation.exit_code, 0) << activation.out;
  EXPECT_TRUE(WaitFor([&] { return alpha.Role() == "standby"; }, milliseconds(1000)))
      << "the deposed service turns standby within a heartbeat: " << alpha.process->Err();
  auto deposed_run = [&] {
    auto runs = *store->ListRuns(10);
    auto it = std::find_if(runs.begin(), runs.end(),
                           [](const RunRecord& r) { return r.ma == "directory" && r.server == "alpha"; });
    return it == runs.end() ? std::string("none") : it->status;
  };
  // The deposed run stops at its next write (the engine does not cancel a
  // write to the connected system half-way); until then it still holds the
  // export file, so the new primary waits for it.
  EXPECT_TRUE(WaitFor([&] { return alpha.Get("/api/v1/service")["running"].is_null(); }, milliseconds(30000)));
  // The old primary cannot record how its run ended (it may not write any
  // more); the new primary's first run of the MA takes the lock over.
  auto export_on_beta = site.Idsync("beta", {"run", "directory", "export"});
  ASSERT_EQ(export_on_beta.exit_code, 0) << export_on_beta.out << export_on_beta.err;
  ASSERT_EQ(site.Idsync("beta", {"run", "badges", "export"}).exit_code, 0);
  EXPECT_EQ(deposed_run(), "stopped-not-active") << "the activation must land in the middle of the export";
  EXPECT_TRUE(alpha.process->Running()) << "the deposed service keeps running as standby";

  ASSERT_EQ(reference.Install("solo").exit_code, 0);
  ASSERT_EQ(reference.Idsync("solo", {"config", "apply", reference.cfg().string()}).exit_code, 0);
  reference.RunCycle("solo");
  EXPECT_TRUE(site.Outcome() == reference.Outcome()) << "the export after the activation differs from one export";
}

// Two standbys activated at the same moment while the old primary still
// runs: both pass their checks and read the same epoch, both are confirmed
// together, and exactly one becomes active.
TEST(StandbyTest, OfTwoRacingActivationsExactlyOneWins) {
  TempDir dir;
  Site site{dir.path() / "site"};
  site.WriteConfig();
  fs::path keys = dir.path() / "idsync-keys.bin";
  ASSERT_EQ(site.Install("alpha").exit_code, 0);
  ASSERT_EQ(site.ExportKeys("alpha", keys).exit_code, 0);
  ASSERT_EQ(site.Install("beta", {"--keys", keys.string(), "--standby"}).exit_code, 0);
  ASSERT_EQ(site.Install("gamma", {"--keys", keys.string(), "--standby"}).exit_code, 0);
  Service alpha = Service::Start(site, "alpha");
  ASSERT_TRUE(WaitFor([&] { return alpha.Role() == "active"; }, milliseconds(5000)));

  std::mutex mu;
  std::condition_variable cv;
  int at_confirmation = 0;
  auto activate = [&](const std::string& server, ProcessResult& out) {
    out = RunOnTerminal("idsync-activate", {keys.string(), kAccount, "*"}, {{"IDSYNC_HOME", site.home(server).string()}},
                        {{"Password for", kPassword}, {"[y/N]", "y"}}, [&](int, size_t prompt) {
                          if (prompt != 1) return;
                          std::unique_lock lock(mu);
                          ++at_confirmation;
                          cv.notify_all();
                          cv.wait_for(lock, std::chrono::seconds(20), [&] { return at_confirmation == 2; });
                        });
  };
  ProcessResult beta, gamma;
  std::thread other([&] { activate("gamma", gamma); });
  activate("beta", beta);
  other.join();
  ASSERT_EQ(at_confirmation, 2);
  int winners = (beta.exit_code == 0) + (gamma.exit_code == 0);
  EXPECT_EQ(winners, 1) << beta.out << "\n---\n" << gamma.out;
  const ProcessResult& loser = beta.exit_code == 0 ? gamma : beta;
  EXPECT_EQ(loser.exit_code, 8) << loser.out;
  EXPECT_NE(loser.out.find("another activation came first"), std::string::npos) << loser.out;
  auto cluster = *site.Open()->GetCluster();
  EXPECT_EQ(cluster.epoch, 2);
  EXPECT_EQ(cluster.active_server, beta.exit_code == 0 ? "beta" : "gamma");
  EXPECT_TRUE(WaitFor([&] { return alpha.Role() == "standby"; }, milliseconds(1000)));
}

}  // namespace
}  // namespace idsync
