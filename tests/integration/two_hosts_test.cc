// Primary and standby as two hosts with their own addresses, in network
// namespaces this test creates (a veth pair each), both using one real
// PostgreSQL server: the warm-standby procedure across hosts. The primary is
// killed with SIGKILL in the middle of a sync; the standby, activated with
// the key file, completes the cycle; the result equals an uninterrupted cycle
// on an embedded SQLite database. Where namespaces cannot be created, the
// test says so and runs both hosts as processes on loopback.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>

#include <fmt/format.h>

#include "ha/home.h"
#include "ha/roles.h"
#include "store/store.h"
#include "tests/support/daemon.h"
#include "tests/support/pg_server.h"
#include "tests/support/process.h"
#include "tests/support/scenario.h"
#include "tests/support/temp_dir.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;
using std::chrono::milliseconds;

constexpr const char* kAccount = "CORP\\svc-idsync";
constexpr const char* kPassword = "Correct-Horse-9";
constexpr const char* kIp = "/usr/sbin/ip";
constexpr int kPeople = 20000;

bool Ip(const std::vector<std::string>& args, std::string* why = nullptr) {
  auto r = RunProgram(kIp, args);
  if (r.exit_code != 0 && why) *why = fmt::format("ip {}: {}", fmt::join(args, " "), r.err);
  return r.exit_code == 0;
}

// Two test hosts: host i lives in namespace ns[i] with address
// 10.B.(i+1).2, and reaches the database server at 10.B.(i+1).1.
struct Hosts {
  bool isolated = false;
  std::string why;
  std::string ns[2];
  std::string link[2];  // the host side of each veth pair
  std::string server_address[2] = {"127.0.0.1", "127.0.0.1"};

  Hosts() {
    std::string tag = std::to_string(getpid() % 100000);
    for (int i = 0; i < 2; ++i) {
      std::string name = fmt::format("idsync-h{}-{}", i, tag);
      std::string outer = fmt::format("ids{}o{}", i, tag), inner = fmt::format("ids{}i{}", i, tag);
      // Subnets of this process (tests run in parallel): 10.B.1.0/24 and 10.B.2.0/24.
      std::string net = fmt::format("10.{}.{}", 20 + getpid() % 230, i + 1);
      if (!Ip({"netns", "add", name}, &why)) {
        Undo();
        return;
      }
      ns[i] = name;
      if (!Ip({"link", "add", outer, "type", "veth", "peer", "name", inner}, &why) ||
          !Ip({"link", "set", inner, "netns", name}, &why) ||
          !Ip({"addr", "add", net + ".1/24", "dev", outer}, &why) || !Ip({"link", "set", outer, "up"}, &why) ||
          !Ip({"netns", "exec", name, kIp, "addr", "add", net + ".2/24", "dev", inner}, &why) ||
          !Ip({"netns", "exec", name, kIp, "link", "set", inner, "up"}, &why) ||
          !Ip({"netns", "exec", name, kIp, "link", "set", "lo", "up"}, &why)) {
        Undo();
        return;
      }
      server_address[i] = net + ".1";
      link[i] = outer;
    }
    isolated = true;
  }
  ~Hosts() { Undo(); }
  void Undo() {
    for (auto& name : ns) {
      if (name.empty()) continue;
      Ip({"netns", "del", name});  // removes the inner end, and with it the pair
      name.clear();
    }
    if (!isolated) server_address[0] = server_address[1] = "127.0.0.1";
  }
  // Cuts host i off the network (its packets are dropped), or joins it again.
  bool SetLink(int i, bool up) const { return Ip({"link", "set", link[i], up ? "up" : "down"}); }
  // A program of the build, run on host i.
  std::pair<std::string, std::vector<std::string>> Command(int i, const std::string& program,
                                                           std::vector<std::string> args) const {
    std::string exe = std::string(IDSYNC_BINARY_DIR) + "/src/exe/" + program;
    if (!isolated) return {exe, args};
    args.insert(args.begin(), {"netns", "exec", ns[i], exe});
    return {kIp, args};
  }
  ProcessResult Run(int i, const std::string& program, std::vector<std::string> args,
                    const std::string& input = "") const {
    auto [exe, all] = Command(i, program, std::move(args));
    return RunProgram(exe, all, {}, input);
  }
};

// One installation across the two hosts: the scenario's configuration, a
// home per host (host 0: alpha, the primary; host 1: beta, the standby), one
// database on the server, reached by each host at its own address.
struct Installation {
  const Hosts& hosts;
  PgTestServer& pg;
  std::string database;
  TempDir dir;
  const char* names[2] = {"alpha", "beta"};

  Installation(const Hosts& h, PgTestServer& server, std::string db) : hosts(h), pg(server), database(std::move(db)) {
    WriteScenario(cfg(), kPeople);
  }
  fs::path cfg() const { return dir.path() / "cfg"; }
  std::string keys() const { return (dir.path() / "idsync-keys.bin").string(); }
  std::string home(int i) const { return (dir.path() / fmt::format("home-{}", names[i])).string(); }
  std::string url(int i) const { return pg.UrlOf(database, hosts.server_address[i]); }

  ProcessResult Install(int i, std::vector<std::string> extra) const {
    std::vector<std::string> args{"install", "--home", home(i), "--db", url(i), "--server", names[i],
                                  "--service-account", kAccount, "--service-password-stdin", "--admins-group",
                                  "domain:CORP\\IdsyncAdmins", "--api", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = hosts.Run(i, "idsync-setup", args, std::string(kPassword) + "\n");
    if (r.exit_code == 0) {
      // Heartbeat fast: the tests watch roles through the heartbeats.
      auto h = ReadHome(home(i));
      h->heartbeat_interval_ms = 200;
      EXPECT_TRUE(WriteHome(*h, true));
    }
    return r;
  }
  ProcessResult Idsync(int i, std::vector<std::string> args) const {
    args.insert(args.begin(), {"--home", home(i)});
    return hosts.Run(i, "idsync", args);
  }
  ProcessResult ExportKeys(int i) const {
    return hosts.Run(i, "idsync-kmu", {"--home", home(i), "export", keys(), kAccount, "-"},
                     std::string(kPassword) + "\n");
  }
  ProcessResult Activate(int i) const {
    return hosts.Run(i, "idsync-activate", {"--home", home(i), keys(), kAccount, "-", "/q"},
                     std::string(kPassword) + "\n");
  }
  std::unique_ptr<Daemon> Start(int i, const std::string& program, const std::vector<std::string>& args) const {
    auto [exe, all] = hosts.Command(i, program, args);
    auto d = Daemon::Start(exe, all);
    EXPECT_TRUE(d);
    return d;
  }
  std::unique_ptr<Daemon> StartService(int i) const { return Start(i, "idsyncd", {"--home", home(i)}); }
  std::unique_ptr<Store> Open() const {
    auto s = Store::Open(pg.UrlOf(database), {});
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  // A server's record; its service's heartbeat records the role it runs as.
  Store::ServerRecord Server(const std::string& name) const {
    auto store = Open();
    auto r = store ? store->GetServer(name) : Result<std::optional<Store::ServerRecord>>(std::nullopt);
    return r && *r ? **r : Store::ServerRecord{};
  }
  std::string ServiceRole(const std::string& name) const {
    auto r = Server(name);
    return r.state == "running" ? r.role : std::string();
  }
};

TEST(TwoHostsTest, TheProcedureAcrossTwoHostsOnPostgreSQL) {
  Hosts hosts;
  if (!hosts.isolated)
    std::fprintf(stderr,
                 "two-hosts test: network namespaces are not available here (%s); both hosts run as processes on "
                 "loopback instead\n",
                 hosts.why.c_str());
  std::vector<std::string> listen;
  if (hosts.isolated) listen = {hosts.server_address[0], hosts.server_address[1]};
  PgTestServer pg(listen);
  ASSERT_TRUE(pg.ok()) << pg.error();
  ASSERT_TRUE(pg.CreateDatabase("two_hosts"));
  Installation site(hosts, pg, "two_hosts");

  // The standby's host installs first and exports the key set; its service
  // is stopped; the primary's host installs with the key file.
  auto first = site.Install(1, {});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  {
    auto beta = site.StartService(1);
    ASSERT_TRUE(WaitFor([&] { return site.ServiceRole("beta") == "active"; }, milliseconds(10000))) << beta->Err();
    auto exported = site.ExportKeys(1);
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    ASSERT_TRUE(beta->Signal(SIGTERM));
    ASSERT_EQ(beta->WaitExit(milliseconds(10000)), 0) << beta->Err();
  }
  auto second = site.Install(0, {"--keys", site.keys()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("installed server alpha (active, epoch 2)"), std::string::npos) << second.out;
  auto beta = site.StartService(1);
  auto alpha = site.StartService(0);
  ASSERT_TRUE(WaitFor([&] { return site.ServiceRole("beta") == "standby" && site.ServiceRole("alpha") == "active"; },
                      milliseconds(10000)))
      << alpha->Err() << beta->Err();
  auto refused = site.Idsync(1, {"run", "hr", "full-import"});
  EXPECT_EQ(refused.exit_code, 10) << refused.err;

  // A sync on the primary's host, killed in the middle.
  ASSERT_EQ(site.Idsync(0, {"config", "apply", site.cfg().string()}).exit_code, 0);
  ASSERT_EQ(site.Idsync(0, {"run", "hr", "full-import"}).exit_code, 0);
  auto sync = site.Start(0, "idsync", {"--home", site.home(0), "run", "hr", "full-sync"});
  ASSERT_TRUE(sync);
  auto watch = site.Open();
  auto mv_count = [&]() -> int64_t {
    auto st = watch->db().Prepare("SELECT count(*) FROM mv_objects");
    if (!st || !*(*st)->Step()) return -1;
    int64_t n = (*st)->ColumnInt(0);
    (*st)->Reset();
    return n;
  };
  ASSERT_TRUE(WaitFor([&] { return mv_count() > 0; }, milliseconds(60000))) << sync->Err();
  ASSERT_TRUE(sync->Signal(SIGKILL));
  ASSERT_TRUE(alpha->Signal(SIGKILL));
  sync->WaitExit(milliseconds(10000));
  alpha->WaitExit(milliseconds(10000));
  EXPECT_LT(mv_count(), kPeople) << "the kill must land in the middle of the sync";

  // Activation on the standby's host, then the cycle there.
  auto activation = site.Activate(1);
  ASSERT_EQ(activation.exit_code, 0) << activation.err;
  EXPECT_NE(activation.out.find("server beta is now the active server at epoch 3"), std::string::npos)
      << activation.out;
  // (How fast a service notices an activation is measured in service_test;
  // here its next heartbeat tells.)
  EXPECT_TRUE(WaitFor([&] { return site.ServiceRole("beta") == "active"; }, milliseconds(10000)));
  for (auto [ma, profile] : kScenarioCycle) {
    auto r = site.Idsync(1, {"run", ma, profile});
    ASSERT_EQ(r.exit_code, 0) << ma << " " << profile << ": " << r.out << r.err;
  }

  // The same cycle, uninterrupted, on one server with an embedded database.
  TempDir solo;
  fs::path solo_cfg = solo.path() / "cfg";
  WriteScenario(solo_cfg, kPeople);
  std::string solo_url = "sqlite:" + (solo.path() / "idsync.db").string();
  ASSERT_EQ(RunProgram("idsync-setup",
                       {"install", "--home", (solo.path() / "home").string(), "--db", solo_url, "--server", "solo",
                        "--service-account", kAccount, "--service-password-stdin", "--admins-group",
                        "domain:CORP\\IdsyncAdmins"},
                       {}, std::string(kPassword) + "\n")
                .exit_code,
            0);
  std::map<std::string, std::string> solo_env{{"IDSYNC_HOME", (solo.path() / "home").string()}};
  ASSERT_EQ(RunProgram("idsync", {"config", "apply", solo_cfg.string()}, solo_env).exit_code, 0);
  for (auto [ma, profile] : kScenarioCycle) ASSERT_EQ(RunProgram("idsync", {"run", ma, profile}, solo_env).exit_code, 0);
  auto solo_store = Store::Open(solo_url, {});
  ASSERT_TRUE(solo_store);
  std::string expected = ScenarioOutcome(**solo_store, solo_cfg);
  ASSERT_GT(expected.size(), 1000u);
  EXPECT_TRUE(ScenarioOutcome(*site.Open(), site.cfg()) == expected)
      << "the cycle across two hosts on PostgreSQL differs from an uninterrupted one on SQLite";
}

// Faults across hosts on PostgreSQL: the database restarted in the middle of
// a run, the database unreachable from the standby at activation, and the
// old primary cut off from the database while the standby is activated.
TEST(TwoHostsTest, DatabaseRestartsAndNetworkCutsAreSurvived) {
  Hosts hosts;
  if (!hosts.isolated) GTEST_SKIP() << "network namespaces are not available here (" << hosts.why << ")";
  PgTestServer pg({hosts.server_address[0], hosts.server_address[1]});
  ASSERT_TRUE(pg.ok()) << pg.error();
  ASSERT_TRUE(pg.CreateDatabase("faults"));
  Installation site(hosts, pg, "faults");

  ASSERT_EQ(site.Install(0, {}).exit_code, 0);
  ASSERT_EQ(site.ExportKeys(0)
                .exit_code,
            0);
  ASSERT_EQ(site.Install(1, {"--keys", site.keys(), "--standby"}).exit_code, 0);
  ASSERT_EQ(site.Idsync(0, {"config", "apply", site.cfg().string()}).exit_code, 0);
  auto alpha = site.StartService(0);
  auto beta = site.StartService(1);
  ASSERT_TRUE(WaitFor([&] { return site.Server("alpha").role == "active" && site.Server("beta").role == "standby"; },
                      milliseconds(10000)));

  // 1. PostgreSQL restarts in the middle of an import: the run ends with a
  //    clear outcome, the services reconnect by themselves, and running the
  //    profile again completes the work.
  auto run = site.Start(0, "idsync", {"--home", site.home(0), "run", "hr", "full-import"});
  ASSERT_TRUE(run);
  auto watch = site.Open();
  auto staged = [&] {
    auto st = watch->db().Prepare("SELECT count(*) FROM cs_objects");
    bool some = st && *(*st)->Step() && (*st)->ColumnInt(0) > 0;
    if (st) (*st)->Reset();
    return some;
  };
  ASSERT_TRUE(WaitFor(staged, milliseconds(60000))) << run->Err();
  int64_t before_restart = NowMs();
  watch.reset();  // its connection would only be cut by the restart
  ASSERT_TRUE(pg.Restart());
  auto run_exit = run->WaitExit(milliseconds(60000));
  ASSERT_TRUE(run_exit);
  std::string said = run->Out() + run->Err();
  if (*run_exit == 0) {
    GTEST_LOG_(INFO) << "the import finished before the restart reached it";
  } else {
    EXPECT_TRUE(*run_exit == 1 || *run_exit == 15) << said;
    EXPECT_TRUE(said.find("lost") != std::string::npos || said.find("stopped-server") != std::string::npos) << said;
  }
  EXPECT_TRUE(WaitFor([&] { return site.Server("alpha").heartbeat_ms > before_restart + 500 &&
                                   site.Server("beta").heartbeat_ms > before_restart + 500; },
                      milliseconds(30000)))
      << "both services reconnect and beat again:\n" << alpha->Err() << beta->Err();
  auto again = site.Idsync(0, {"run", "hr", "full-import"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;

  // 2. The database unreachable from the standby at activation: a clear
  //    code, nothing changed (no key set under its home, the same epoch).
  auto epoch_before = site.Open()->GetCluster()->epoch;
  ASSERT_TRUE(hosts.SetLink(1, false));
  auto unreachable = site.Activate(1);
  ASSERT_TRUE(hosts.SetLink(1, true));
  EXPECT_EQ(unreachable.exit_code, 15) << unreachable.err;
  EXPECT_NE(unreachable.err.find(hosts.server_address[1]), std::string::npos) << unreachable.err;
  EXPECT_FALSE(fs::exists(fs::path(site.home(1)) / "keys" / "keyset.json"));
  EXPECT_EQ(site.Open()->GetCluster()->epoch, epoch_before);

  // 3. The old primary cut off from the database while the standby is
  //    activated: once it is back, its writes are refused and it runs as
  //    standby.
  ASSERT_TRUE(hosts.SetLink(0, false));
  auto activation = site.Activate(1);
  EXPECT_EQ(activation.exit_code, 0) << activation.err;
  ASSERT_TRUE(hosts.SetLink(0, true));
  EXPECT_TRUE(WaitFor([&] { return site.Server("alpha").role == "standby" && site.Server("beta").role == "active"; },
                      milliseconds(30000)))
      << alpha->Err();
  auto refused = site.Idsync(0, {"run", "hr", "full-import"});
  EXPECT_EQ(refused.exit_code, 10) << refused.err;
  EXPECT_NE(refused.err.find("the active server is beta"), std::string::npos) << refused.err;
  EXPECT_EQ(site.Idsync(1, {"run", "hr", "full-sync"}).exit_code, 0);
}

}  // namespace
}  // namespace idsync
