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
  TempDir dir;
  fs::path cfg = dir.path() / "cfg", keys = dir.path() / "idsync-keys.bin";
  WriteScenario(cfg, kPeople);
  const char* names[2] = {"alpha", "beta"};  // host 0: the primary, host 1: the standby
  auto home = [&](int i) { return (dir.path() / fmt::format("home-{}", names[i])).string(); };
  auto url = [&](int i) { return pg.UrlOf("two_hosts", hosts.server_address[i]); };
  auto install = [&](int i, std::vector<std::string> extra) {
    std::vector<std::string> args{"install", "--home", home(i), "--db", url(i), "--server", names[i],
                                  "--service-account", kAccount, "--service-password-stdin", "--admins-group",
                                  "domain:CORP\\IdsyncAdmins", "--api", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = hosts.Run(i, "idsync-setup", args, std::string(kPassword) + "\n");
    if (r.exit_code == 0) {
      // Heartbeat fast: the test watches roles through the heartbeats.
      auto h = ReadHome(home(i));
      h->heartbeat_interval_ms = 200;
      EXPECT_TRUE(WriteHome(*h, true));
    }
    return r;
  };
  auto idsync = [&](int i, std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home(i)});
    return hosts.Run(i, "idsync", args);
  };
  auto start_service = [&](int i) {
    auto [exe, args] = hosts.Command(i, "idsyncd", {"--home", home(i)});
    auto d = Daemon::Start(exe, args);
    EXPECT_TRUE(d);
    return d;
  };
  auto store = [&] {
    auto s = Store::Open(pg.UrlOf("two_hosts"), {});
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  };
  // What a server's service reports it runs as (its heartbeat records it).
  auto service_role = [&](const std::string& server) {
    auto r = store()->GetServer(server);
    return r && *r && (*r)->state == "running" ? (*r)->role : std::string();
  };

  // The standby's host installs first and exports the key set; its service
  // is stopped; the primary's host installs with the key file.
  auto first = install(1, {});
  ASSERT_EQ(first.exit_code, 0) << first.err;
  {
    auto beta = start_service(1);
    ASSERT_TRUE(WaitFor([&] { return service_role("beta") == "active"; }, milliseconds(10000))) << beta->Err();
    auto exported = hosts.Run(1, "idsync-kmu", {"--home", home(1), "export", keys.string(), kAccount, "-"},
                              std::string(kPassword) + "\n");
    ASSERT_EQ(exported.exit_code, 0) << exported.err;
    ASSERT_TRUE(beta->Signal(SIGTERM));
    ASSERT_EQ(beta->WaitExit(milliseconds(10000)), 0) << beta->Err();
  }
  auto second = install(0, {"--keys", keys.string()});
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("installed server alpha (active, epoch 2)"), std::string::npos) << second.out;
  auto beta = start_service(1);
  auto alpha = start_service(0);
  ASSERT_TRUE(WaitFor([&] { return service_role("beta") == "standby" && service_role("alpha") == "active"; },
                      milliseconds(10000)))
      << alpha->Err() << beta->Err();
  auto refused = idsync(1, {"run", "hr", "full-import"});
  EXPECT_EQ(refused.exit_code, 10) << refused.err;

  // A sync on the primary's host, killed in the middle.
  ASSERT_EQ(idsync(0, {"config", "apply", cfg.string()}).exit_code, 0);
  ASSERT_EQ(idsync(0, {"run", "hr", "full-import"}).exit_code, 0);
  auto [sync_exe, sync_args] = hosts.Command(0, "idsync", {"--home", home(0), "run", "hr", "full-sync"});
  auto sync = Daemon::Start(sync_exe, sync_args);
  ASSERT_TRUE(sync);
  auto watch = store();
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
  auto activation = hosts.Run(1, "idsync-activate", {"--home", home(1), keys.string(), kAccount, "-", "/q"},
                              std::string(kPassword) + "\n");
  ASSERT_EQ(activation.exit_code, 0) << activation.err;
  EXPECT_NE(activation.out.find("server beta is now the active server at epoch 3"), std::string::npos)
      << activation.out;
  // (How fast a service notices an activation is measured in service_test;
  // here its next heartbeat tells.)
  EXPECT_TRUE(WaitFor([&] { return service_role("beta") == "active"; }, milliseconds(10000)));
  for (auto [ma, profile] : kScenarioCycle) {
    auto r = idsync(1, {"run", ma, profile});
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
  EXPECT_TRUE(ScenarioOutcome(*store(), cfg) == expected)
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
  TempDir dir;
  fs::path cfg = dir.path() / "cfg", keys = dir.path() / "idsync-keys.bin";
  WriteScenario(cfg, kPeople);
  const char* names[2] = {"alpha", "beta"};
  auto home = [&](int i) { return (dir.path() / fmt::format("home-{}", names[i])).string(); };
  auto url = [&](int i) { return pg.UrlOf("faults", hosts.server_address[i]); };
  auto install = [&](int i, std::vector<std::string> extra) {
    std::vector<std::string> args{"install", "--home", home(i), "--db", url(i), "--server", names[i],
                                  "--service-account", kAccount, "--service-password-stdin", "--admins-group",
                                  "domain:CORP\\IdsyncAdmins", "--api", "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = hosts.Run(i, "idsync-setup", args, std::string(kPassword) + "\n");
    if (r.exit_code == 0) {
      auto h = ReadHome(home(i));
      h->heartbeat_interval_ms = 200;
      EXPECT_TRUE(WriteHome(*h, true));
    }
    return r;
  };
  auto idsync = [&](int i, std::vector<std::string> args) {
    args.insert(args.begin(), {"--home", home(i)});
    return hosts.Run(i, "idsync", args);
  };
  auto open = [&] {
    auto s = Store::Open(pg.UrlOf("faults"), {});
    EXPECT_TRUE(s) << s.error().message;
    return std::move(*s);
  };
  auto server = [&](const std::string& name) {
    auto r = open()->GetServer(name);
    return r && *r ? **r : Store::ServerRecord{};
  };

  ASSERT_EQ(install(0, {}).exit_code, 0);
  ASSERT_EQ(hosts.Run(0, "idsync-kmu", {"--home", home(0), "export", keys.string(), kAccount, "-"},
                      std::string(kPassword) + "\n")
                .exit_code,
            0);
  ASSERT_EQ(install(1, {"--keys", keys.string(), "--standby"}).exit_code, 0);
  ASSERT_EQ(idsync(0, {"config", "apply", cfg.string()}).exit_code, 0);
  auto start_service = [&](int i) {
    auto [exe, args] = hosts.Command(i, "idsyncd", {"--home", home(i)});
    return Daemon::Start(exe, args);
  };
  auto alpha = start_service(0);
  auto beta = start_service(1);
  ASSERT_TRUE(WaitFor([&] { return server("alpha").role == "active" && server("beta").role == "standby"; },
                      milliseconds(10000)));

  // 1. PostgreSQL restarts in the middle of an import: the run ends with a
  //    clear outcome, the services reconnect by themselves, and running the
  //    profile again completes the work.
  auto [run_exe, run_args] = hosts.Command(0, "idsync", {"--home", home(0), "run", "hr", "full-import"});
  auto run = Daemon::Start(run_exe, run_args);
  ASSERT_TRUE(run);
  auto watch = open();
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
  EXPECT_TRUE(WaitFor([&] { return server("alpha").heartbeat_ms > before_restart + 500 &&
                                   server("beta").heartbeat_ms > before_restart + 500; },
                      milliseconds(30000)))
      << "both services reconnect and beat again:\n" << alpha->Err() << beta->Err();
  auto again = idsync(0, {"run", "hr", "full-import"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;

  // 2. The database unreachable from the standby at activation: a clear
  //    code, nothing changed (no key set under its home, the same epoch).
  auto epoch_before = open()->GetCluster()->epoch;
  ASSERT_TRUE(hosts.SetLink(1, false));
  auto unreachable = hosts.Run(1, "idsync-activate", {"--home", home(1), keys.string(), kAccount, "-", "/q"},
                               std::string(kPassword) + "\n");
  ASSERT_TRUE(hosts.SetLink(1, true));
  EXPECT_EQ(unreachable.exit_code, 15) << unreachable.err;
  EXPECT_NE(unreachable.err.find(hosts.server_address[1]), std::string::npos) << unreachable.err;
  EXPECT_FALSE(fs::exists(fs::path(home(1)) / "keys" / "keyset.json"));
  EXPECT_EQ(open()->GetCluster()->epoch, epoch_before);

  // 3. The old primary cut off from the database while the standby is
  //    activated: once it is back, its writes are refused and it runs as
  //    standby.
  ASSERT_TRUE(hosts.SetLink(0, false));
  auto activation = hosts.Run(1, "idsync-activate", {"--home", home(1), keys.string(), kAccount, "-", "/q"},
                              std::string(kPassword) + "\n");
  EXPECT_EQ(activation.exit_code, 0) << activation.err;
  ASSERT_TRUE(hosts.SetLink(0, true));
  EXPECT_TRUE(WaitFor([&] { return server("alpha").role == "standby" && server("beta").role == "active"; },
                      milliseconds(30000)))
      << alpha->Err();
  auto refused = idsync(0, {"run", "hr", "full-import"});
  EXPECT_EQ(refused.exit_code, 10) << refused.err;
  EXPECT_NE(refused.err.find("the active server is beta"), std::string::npos) << refused.err;
  EXPECT_EQ(idsync(1, {"run", "hr", "full-sync"}).exit_code, 0);
}

}  // namespace
}  // namespace idsync
