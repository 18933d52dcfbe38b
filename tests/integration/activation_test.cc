// Setup, key management and activation as administrators use them: the
// real programs on a real database (an SQLite file, or PostgreSQL with
// IDSYNC_TEST_DB=postgresql), two servers sharing it through two home
// folders. Every refused command must leave the database and the home
// folders exactly as they were.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "crypto/password.h"
#include "ha/roles.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/terminal.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kAccount = "CORP\\svc-idsync";
constexpr const char* kPassword = "Correct-Horse-9";

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every file under a folder with its bytes.
std::string FolderState(const fs::path& dir) {
  std::string out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return "(absent)";
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    out += f.string() + "\n";
    if (fs::is_regular_file(f)) out += ReadAll(f) + "\n";
  }
  return out;
}

class ActivationTest : public ::testing::Test {
 protected:
  const std::string& db_url() const { return db_url_; }
  fs::path home(const std::string& server) const { return dir_.path() / ("home-" + server); }
  fs::path keys() const { return dir_.path() / "keys.bin"; }

  ProcessResult Setup(const std::string& server, std::vector<std::string> extra,
                      const std::string& password = kPassword) {
    std::vector<std::string> args{"install", "--home", home(server).string(), "--db", db_url(), "--server", server,
                                  "--service-account", kAccount, "--service-password-stdin", "--api",
                                  "127.0.0.1:0"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram("idsync-setup", args, {}, password + "\n");
  }
  ProcessResult Kmu(const std::string& server, std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--home", home(server).string()});
    return RunProgram("idsync-kmu", args, {}, input);
  }
  // idsync-kmu export KEYS USER -, the password on standard input ending
  // with `line_end`.
  ProcessResult ExportKeys(const std::string& server, const std::string& line_end = "\n") {
    return Kmu(server, {"export", keys().string(), kAccount, "-"}, kPassword + line_end);
  }
  // A configuration with one CSV MA, hr, with or without password sync.
  fs::path ApplyHrConfig(bool password_sync) {
    fs::path cfg = dir_.path() / "cfg";
    fs::create_directories(cfg);
    std::ofstream(cfg / "idsync.toml") << R"([metaverse.object_types.person]
attributes = ["id"]
[ma.hr]
connector = "csv"
)" << (password_sync ? "password_sync = true\n" : "")
                                       << R"(settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "id"
attributes = ["id"]
)";
    auto r = Idsync("alpha", {"config", "apply", cfg.string()});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return cfg;
  }
  // idsync-activate FILE USER - /q, the password on standard input.
  ProcessResult Activate(const std::string& server, const std::string& file, const std::string& user = kAccount,
                         const std::string& password = kPassword, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"--home", home(server).string(), file, user, "-", "/q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunProgram("idsync-activate", args, {}, password + "\n");
  }
  ProcessResult Idsync(const std::string& server, std::vector<std::string> args) {
    return RunProgram("idsync", args, {{"IDSYNC_HOME", home(server).string()}});
  }

  std::unique_ptr<Store> OpenDb() {
    auto store = Store::Open(db_url(), {});
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }
  Store::Cluster Cluster() { return *OpenDb()->GetCluster(); }

  // The shared state an activation may change, and both homes. Each query
  // gives one line: its rows in order, comma-separated.
  std::string State() {
    auto store = OpenDb();
    std::string out;
    for (const char* sql : {"SELECT active_server || ':' || epoch FROM cluster",
                            "SELECT count(*) FROM activations", "SELECT count(*) FROM server_events",
                            "SELECT set_id || ':' || active_version FROM key_set",
                            "SELECT version || '=' || check_value FROM key_checks ORDER BY 1",
                            "SELECT ma || '/' || name || '/' || sealed FROM ma_secrets ORDER BY 1",
                            "SELECT role || '=' || scope || ':' || name FROM role_groups ORDER BY 1",
                            "SELECT name FROM servers ORDER BY 1", "SELECT value FROM meta WHERE key = 'schema_version'"}) {
      auto st = store->db().Prepare(sql);
      EXPECT_TRUE(st) << st.error().message;
      if (!st) continue;
      std::string line;
      while (true) {
        auto row = (*st)->Step();
        EXPECT_TRUE(row) << sql << ": " << row.error().message;
        if (!row || !*row) break;
        line += (line.empty() ? "" : ",") + std::string((*st)->IsNull(0) ? "null" : (*st)->ColumnText(0));
      }
      (*st)->Reset();
      out += line + "\n";
    }
    return out + FolderState(home("alpha")) + FolderState(home("beta"));
  }

  // alpha active (epoch 1) with its key file exported; beta a standby.
  void InstallPair() {
    auto a = Setup("alpha", {"--admins-group", "domain:IdsyncAdmins"});
    ASSERT_EQ(a.exit_code, 0) << a.err;
    auto e = ExportKeys("alpha");
    ASSERT_EQ(e.exit_code, 0) << e.err;
    auto b = Setup("beta", {"--keys", keys().string(), "--standby"});
    ASSERT_EQ(b.exit_code, 0) << b.err;
    EXPECT_NE(b.out.find("installed server beta (standby, epoch 1)"), std::string::npos) << b.out;
    EXPECT_FALSE(fs::exists(home("beta") / "keys" / "keyset.json")) << "a standby holds no key set yet";
  }

  TempDir dir_;
  std::string db_url_ = FreshTestDbUrl(dir_.path());
};

TEST_F(ActivationTest, AFirstInstallCreatesAKeySetOnlyUnderItsHome) {
  auto r = Setup("alpha", {"--admins-group", "domain:IdsyncAdmins", "--operators-group", "domain:Ops"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  fs::path keyset = home("alpha") / "keys" / "keyset.json";
  ASSERT_TRUE(fs::exists(keyset));
  EXPECT_EQ(fs::status(keyset).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  auto local = nlohmann::json::parse(ReadAll(keyset));
  std::string key = local["keys"][0]["key"];
  ASSERT_FALSE(key.empty());
  // SQLite: the file's bytes and its write-ahead log; PostgreSQL: every row as text.
  std::string file = SqliteFileOf(db_url());
  std::string db = file.empty() ? TestDbSnapshot(db_url()) : ReadAll(file) + ReadAll(file + "-wal");
  EXPECT_EQ(db.find(key), std::string::npos) << "the key must never reach the database";
  EXPECT_EQ(db.find(kPassword), std::string::npos);
  auto store = OpenDb();
  auto record = *store->GetKeySetRecord();
  ASSERT_TRUE(record);
  EXPECT_EQ(record->set_id, local["id"]);
  EXPECT_EQ(record->checks.size(), 1u);
  auto groups = *store->ListRoleGroups();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[1].role, "operators");
  EXPECT_EQ(groups[1].name, "Ops");
  auto activations = *store->ListActivations(10);
  ASSERT_EQ(activations.size(), 1u);
  EXPECT_EQ(activations[0].kind, "install");
  EXPECT_EQ(activations[0].to_epoch, 1);
}

TEST_F(ActivationTest, JoiningAnInstallationNeedsItsKeyFileAndTheServiceAccount) {
  ASSERT_EQ(Setup("alpha", {"--admins-group", "domain:IdsyncAdmins"}).exit_code, 0);
  ASSERT_EQ(ExportKeys("alpha").exit_code, 0);
  std::string before = State();
  auto no_keys = Setup("beta", {"--standby"});
  EXPECT_EQ(no_keys.exit_code, 6) << no_keys.err;
  EXPECT_NE(no_keys.err.find("--keys FILE"), std::string::npos) << no_keys.err;
  auto wrong_password = Setup("beta", {"--standby", "--keys", keys().string()}, "not-it");
  EXPECT_EQ(wrong_password.exit_code, 17) << wrong_password.err;
  auto other_groups = Setup("beta", {"--standby", "--keys", keys().string(), "--admins-group", "domain:Other"});
  EXPECT_EQ(other_groups.exit_code, 4) << other_groups.err;
  EXPECT_NE(other_groups.err.find("idsync-setup repair"), std::string::npos) << other_groups.err;
  auto taken_name = RunProgram("idsync-setup",
                               {"install", "--home", home("alpha2").string(), "--db", db_url(), "--server", "alpha",
                                "--service-account", kAccount, "--service-password-stdin", "--keys",
                                keys().string(), "--standby"},
                               {}, std::string(kPassword) + "\n");
  EXPECT_EQ(taken_name.exit_code, 6) << taken_name.err;
  EXPECT_NE(taken_name.err.find("already registered"), std::string::npos) << taken_name.err;
  EXPECT_FALSE(fs::exists(home("alpha2")));
  EXPECT_EQ(State(), before);

  const std::string missing = MissingTestDbUrl(dir_.path(), "nope.db");
  auto missing_db = RunProgram("idsync-setup",
                               {"install", "--home", home("beta").string(), "--db", missing, "--service-account",
                                kAccount, "--service-password-stdin", "--keys", keys().string(), "--standby"},
                               {}, std::string(kPassword) + "\n");
  EXPECT_EQ(missing_db.exit_code, 5) << missing_db.err;
  EXPECT_FALSE(TestDbHoldsTables(missing));
  EXPECT_EQ(State(), before);
}

TEST_F(ActivationTest, TheActiveRoleIsTakenAtInstallOnlyWhenNoActiveServiceHeartbeats) {
  ASSERT_EQ(Setup("alpha", {"--admins-group", "domain:IdsyncAdmins"}).exit_code, 0);
  ASSERT_EQ(Kmu("alpha", {"export", keys().string()}, "").exit_code != 0, true)
      << "without a terminal, * cannot be asked";
  // A password file written on Windows: its line ends in \r\n.
  ASSERT_EQ(ExportKeys("alpha", "\r\n").exit_code, 0);
  {
    // alpha's service is running: it heartbeats now.
    auto store = OpenDb();
    Store::ServerRecord alpha;
    alpha.name = "alpha";
    alpha.role = "active";
    alpha.epoch = 1;
    alpha.heartbeat_ms = NowMs();
    alpha.heartbeat_interval_ms = 60000;
    ASSERT_TRUE(store->WithWrite([&] { return store->RecordServiceStart(alpha); }));
  }
  std::string before = State();
  auto refused = Setup("beta", {"--keys", keys().string()});
  EXPECT_EQ(refused.exit_code, 8) << refused.err;
  EXPECT_NE(refused.err.find("server alpha is active (epoch 1) and its service is running"), std::string::npos)
      << refused.err;
  EXPECT_EQ(State(), before);
  {
    auto store = OpenDb();
    ASSERT_TRUE(store->WithWrite([&] { return store->RecordServiceStop("alpha"); }));
  }
  auto taken = Setup("beta", {"--keys", keys().string()});
  ASSERT_EQ(taken.exit_code, 0) << taken.err;
  EXPECT_NE(taken.out.find("installed server beta (active, epoch 2)"), std::string::npos) << taken.out;
  EXPECT_TRUE(fs::exists(home("beta") / "keys" / "keyset.json"));
  EXPECT_EQ(Cluster().active_server, "beta");
  auto refused_run = Idsync("alpha", {"run", "hr", "full-import"});
  EXPECT_EQ(refused_run.exit_code, 10) << refused_run.err;
  EXPECT_NE(refused_run.err.find("server alpha is a standby: the active server is beta at epoch 2"),
            std::string::npos)
      << refused_run.err;
  EXPECT_NE(refused_run.err.find("idsync-activate"), std::string::npos) << refused_run.err;
}

TEST_F(ActivationTest, EveryBadActivationGetsItsCodeAndChangesNothing) {
  InstallPair();
  // Another installation's key file, sealed with the same credentials.
  TempDir other;
  ASSERT_EQ(RunProgram("idsync-setup",
                       {"install", "--home", (other.path() / "h").string(), "--db",
                        FreshTestDbUrl(other.path()), "--service-account", kAccount,
                        "--service-password-stdin", "--admins-group", "domain:IdsyncAdmins"},
                       {}, std::string(kPassword) + "\n")
                .exit_code,
            0);
  fs::path foreign = dir_.path() / "foreign.bin";
  ASSERT_EQ(RunProgram("idsync-kmu", {"--home", (other.path() / "h").string(), "export", foreign.string(), kAccount, "-"},
                       {}, std::string(kPassword) + "\n")
                .exit_code,
            0);
  std::string good = ReadAll(keys());
  fs::path truncated = dir_.path() / "truncated.bin", corrupted = dir_.path() / "corrupted.bin";
  std::ofstream(truncated, std::ios::binary) << good.substr(0, good.size() / 2);
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x20;
  std::ofstream(corrupted, std::ios::binary) << flipped;

  std::string before = State();
  struct Case {
    std::string name;
    std::function<ProcessResult()> run;
    int exit_code;
    std::string message;
  };
  std::vector<Case> cases = {
      {"wrong password", [&] { return Activate("beta", keys().string(), kAccount, "wrong"); }, 17,
       "does not open with the credentials"},
      {"another account", [&] { return Activate("beta", keys().string(), "CORP\\mallory"); }, 12,
       "is not this installation's service account"},
      {"another installation's key file", [&] { return Activate("beta", foreign.string()); }, 18,
       "another installation"},
      {"truncated key file", [&] { return Activate("beta", truncated.string()); }, 16, "damaged"},
      {"corrupted key file", [&] { return Activate("beta", corrupted.string()); }, 16, "damaged"},
      {"unreadable key file", [&] { return Activate("beta", (dir_.path() / "missing.bin").string()); }, 7,
       "cannot read key file"},
      {"malformed user name", [&] { return Activate("beta", keys().string(), "CORP\\svc idsync"); }, 2,
       "not a valid account name"},
      {"missing arguments in quiet mode",
       [&] { return RunProgram("idsync-activate", {"--home", home("beta").string(), keys().string(), "/q"}); }, 2,
       "quiet mode asks nothing"},
      {"unknown option", [&] { return Activate("beta", keys().string(), kAccount, kPassword, {"/x"}); }, 2,
       "unknown option '/x'"},
      {"no home", [&] { return Activate("gamma", keys().string()); }, 5, "holds no idsync server"},
      {"a home whose server is not registered",
       [&] {
         fs::create_directories(home("gamma"));
         std::ofstream(home("gamma") / "server.toml") << fmt::format("server = 'gamma'\ndatabase = '{}'\n", db_url());
         auto r = Activate("gamma", keys().string());
         fs::remove_all(home("gamma"));
         return r;
       },
       5, "server gamma is not registered"},
  };
  if (geteuid() == 0) {
    cases.push_back({"not root",
                     [&] {
                       return RunProgram("/usr/bin/setpriv",
                                         {"--reuid=65534", "--regid=65534", "--clear-groups",
                                          std::string(IDSYNC_BINARY_DIR) + "/src/exe/idsync-activate", "--home",
                                          home("beta").string(), keys().string(), kAccount, "-", "/q"},
                                         {}, std::string(kPassword) + "\n");
                     },
                     11, "needs root or the service's own user"});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = c.run();
    EXPECT_EQ(r.exit_code, c.exit_code) << r.out << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_EQ(State(), before);
  }

  // The service password changed after the key file was exported: the file
  // still opens, but the credentials are no longer the service account's.
  {
    auto store = OpenDb();
    auto hash = HashPassword(SecureString(std::string("Newer-Password-1")));
    ASSERT_TRUE(store->WithWrite([&] { return store->SetServiceAccount("CORP", "svc-idsync", *hash); }));
  }
  before = State();
  auto stale = Activate("beta", keys().string());
  EXPECT_EQ(stale.exit_code, 12) << stale.err;
  EXPECT_NE(stale.err.find("not the service account's"), std::string::npos) << stale.err;
  EXPECT_EQ(State(), before);

  // The database missing altogether.
  HideTestDb(db_url());
  auto no_db = Activate("beta", keys().string());
  EXPECT_EQ(no_db.exit_code, 5) << no_db.err;
  EXPECT_FALSE(TestDbHoldsTables(db_url())) << "activation must not create a database";
  RestoreTestDb(db_url());
}

TEST_F(ActivationTest, ALocalAdminsGroupIsRefusedUntilSetupRepairsIt) {
  ASSERT_EQ(Setup("alpha", {"--admins-group", "local:idsync-admins"}).exit_code, 0);
  ASSERT_EQ(ExportKeys("alpha").exit_code, 0);
  ASSERT_EQ(Setup("beta", {"--keys", keys().string(), "--standby"}).exit_code, 0);
  std::string before = State();
  auto refused = Activate("beta", keys().string());
  EXPECT_EQ(refused.exit_code, 19) << refused.err;
  EXPECT_NE(refused.err.find("0x80230011"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("idsync-setup repair --admins-group domain:"), std::string::npos) << refused.err;
  EXPECT_EQ(State(), before);

  auto repair = RunProgram("idsync-setup",
                           {"repair", "--home", home("beta").string(), "--admins-group", "domain:IdsyncAdmins"});
  ASSERT_EQ(repair.exit_code, 0) << repair.err;
  EXPECT_NE(repair.out.find("admins group: local:idsync-admins -> domain:IdsyncAdmins"), std::string::npos)
      << repair.out;
  auto bad_repair = RunProgram("idsync-setup", {"repair", "--home", home("beta").string(), "--admins-group", "x"});
  EXPECT_EQ(bad_repair.exit_code, 2) << bad_repair.err;
  auto activated = Activate("beta", keys().string());
  EXPECT_EQ(activated.exit_code, 0) << activated.err;
}

TEST_F(ActivationTest, UsageIsPrintedForEveryHelpSpelling) {
  for (const char* flag : {"/?", "-h", "--help"}) {
    auto r = RunProgram("idsync-activate", {flag});
    EXPECT_EQ(r.exit_code, 0) << flag;
    EXPECT_NE(r.out.find("usage: idsync-activate [FileName] [UserName {Password | *}] [/q]"), std::string::npos)
        << flag << ": " << r.out;
    auto kmu = RunProgram("idsync-kmu", {flag});
    EXPECT_EQ(kmu.exit_code, 0) << flag;
    EXPECT_NE(kmu.out.find("idsync-kmu /e FileName /u:UserName {Password | *}"), std::string::npos) << kmu.out;
  }
}

TEST_F(ActivationTest, ActivationSwitchesTheEpochInstallsTheKeysAndRecordsWhoDidIt) {
  InstallPair();
  std::string before = State();
  auto check = Activate("beta", keys().string(), "svc-idsync", kPassword, {"--check"});
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_NE(check.out.find("every check passed"), std::string::npos) << check.out;
  EXPECT_EQ(State(), before) << "--check changes nothing";

  auto r = Activate("beta", keys().string(), "corp\\SVC-IDSYNC");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("server beta is now the active server at epoch 2 (was alpha at epoch 1)"),
            std::string::npos)
      << r.out;
  for (const char* check_name : {"schema", "key-file", "key-set", "credentials", "admins-group"})
    EXPECT_NE(r.out.find(fmt::format("ok  {}", check_name)), std::string::npos) << r.out;
  EXPECT_EQ(Cluster().active_server, "beta");
  EXPECT_EQ(Cluster().epoch, 2);
  EXPECT_EQ(ReadAll(home("beta") / "keys" / "keyset.json"), ReadAll(home("alpha") / "keys" / "keyset.json"));
  auto activations = *OpenDb()->ListActivations(1);
  ASSERT_EQ(activations.size(), 1u);
  EXPECT_EQ(activations[0].kind, "activate");
  EXPECT_EQ(activations[0].previous_server, "alpha");
  EXPECT_EQ(activations[0].from_epoch, 1);
  EXPECT_EQ(activations[0].account, kAccount);
  EXPECT_FALSE(activations[0].os_user.empty());

  // Activating the active server again changes nothing; the old primary is
  // now refused and can be activated back (fail back).
  auto again = Activate("beta", keys().string());
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_NE(again.out.find("already the active server"), std::string::npos) << again.out;
  EXPECT_EQ(Cluster().epoch, 2);
  EXPECT_EQ(Idsync("alpha", {"principal", "add-user", "CORP\\someone"}).exit_code, 10);
  auto back = Activate("alpha", keys().string());
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(Cluster().active_server, "alpha");
  EXPECT_EQ(Cluster().epoch, 3);
}

TEST_F(ActivationTest, AnAdministratorAtTheConsoleIsAskedForThePasswordAndToConfirm) {
  InstallPair();
  std::string before = State();
  auto declined = RunOnTerminal("idsync-activate", {keys().string(), kAccount, "*"},
                                {{"IDSYNC_HOME", home("beta").string()}},
                                {{"Password for", kPassword}, {"[y/N]", "n"}});
  EXPECT_EQ(declined.exit_code, 2) << declined.out;
  EXPECT_NE(declined.out.find("activation cancelled; nothing changed"), std::string::npos) << declined.out;
  EXPECT_EQ(declined.out.find(kPassword), std::string::npos) << "the password must not be echoed";
  EXPECT_EQ(State(), before);

  auto asked = RunOnTerminal("idsync-activate", {}, {{"IDSYNC_HOME", home("beta").string()}},
                             {{"Key file:", keys().string()},
                              {"Service account", kAccount},
                              {"Password for", kPassword},
                              {"[y/N]", "y"}});
  EXPECT_EQ(asked.exit_code, 0) << asked.out;
  EXPECT_EQ(asked.out.find(kPassword), std::string::npos) << "the password must not be echoed";
  EXPECT_NE(asked.out.find("server beta is now the active server at epoch 2"), std::string::npos) << asked.out;
  EXPECT_EQ(Cluster().active_server, "beta");
}

TEST_F(ActivationTest, APasswordTypedOnTheCommandLineIsWipedFromTheProcessList) {
  InstallPair();
  // The seed interface allows the password as an argument; once parsed it
  // must not be readable in /proc/PID/cmdline (what ps shows). Activation
  // waits for the confirmation, which is when the test looks.
  std::string cmdline;
  auto r = RunOnTerminal("idsync-activate", {keys().string(), kAccount, kPassword},
                         {{"IDSYNC_HOME", home("beta").string()}}, {{"[y/N]", "n"}},
                         [&](int pid, size_t) { cmdline = ReadAll(fmt::format("/proc/{}/cmdline", pid)); });
  EXPECT_EQ(r.exit_code, 2) << r.out;
  ASSERT_NE(cmdline.find(keys().string()), std::string::npos) << "the test looked at the wrong process";
  EXPECT_EQ(cmdline.find(kPassword), std::string::npos) << cmdline;
  auto wrong = RunProgram("idsync-kmu", {"--home", home("alpha").string(), "export", keys().string(), kAccount,
                                         "wrong-Password"});
  EXPECT_EQ(wrong.exit_code, 12) << wrong.err;
  EXPECT_EQ(wrong.err.find("wrong-Password"), std::string::npos) << "never echo a password in a message";
}

TEST_F(ActivationTest, RotationResealsSecretsAndMakesOlderKeyFilesStale) {
  InstallPair();
  ApplyHrConfig(true);
  auto set = RunProgram("idsync", {"secret", "set", "hr", "password", "--stdin"},
                        {{"IDSYNC_HOME", home("alpha").string()}}, "ldap-Secret-7\n");
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(RunProgram("idsync", {"secret", "set", "nosuch", "password", "--stdin"},
                       {{"IDSYNC_HOME", home("alpha").string()}}, "x\n")
                .exit_code,
            5);
  std::string sealed_before = (*OpenDb()->GetSecret("hr", "password"))->sealed;
  EXPECT_EQ(sealed_before.find("ldap-Secret-7"), std::string::npos);

  EXPECT_EQ(Kmu("beta", {"rotate"}).exit_code, 10) << "only the active server rotates";
  auto rotate = Kmu("alpha", {"rotate"});
  ASSERT_EQ(rotate.exit_code, 0) << rotate.err;
  EXPECT_NE(rotate.out.find("key version 2 is active; 1 secrets re-sealed"), std::string::npos) << rotate.out;
  auto secret = *OpenDb()->GetSecret("hr", "password");
  EXPECT_EQ(secret->key_version, 2u);
  EXPECT_NE(secret->sealed, sealed_before);
  auto list = Kmu("alpha", {"list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  auto listing = nlohmann::json::parse(list.out);
  EXPECT_EQ(listing["active_version"], 2);
  EXPECT_EQ(listing["versions"].size(), 2u);

  std::string before = State();
  auto stale = Activate("beta", keys().string());
  EXPECT_EQ(stale.exit_code, 18) << stale.err;
  EXPECT_EQ(State(), before);
  fs::path fresh = dir_.path() / "fresh.bin";
  ASSERT_EQ(Kmu("alpha", {"/e", fresh.string(), std::string("/u:") + kAccount, "-"}, std::string(kPassword) + "\n")
                .exit_code,
            0);
  auto activated = Activate("beta", fresh.string());
  ASSERT_EQ(activated.exit_code, 0) << activated.err;
  EXPECT_NE(activated.err.find("password synchronization is configured (management agents: hr)"),
            std::string::npos)
      << activated.err;
}

TEST_F(ActivationTest, AbandoningTheKeySetDropsEverySecret) {
  InstallPair();
  ApplyHrConfig(false);
  ASSERT_EQ(RunProgram("idsync", {"secret", "set", "hr", "password", "--stdin"},
                       {{"IDSYNC_HOME", home("alpha").string()}}, "x-Secret\n")
                .exit_code,
            0);
  std::string old_id = (*OpenDb()->GetKeySetRecord())->set_id;
  fs::remove(home("alpha") / "keys" / "keyset.json");  // the key set is lost
  EXPECT_EQ(Kmu("alpha", {"list"}).exit_code, 5);
  auto abandon = Kmu("alpha", {"abandon", "/q"});
  ASSERT_EQ(abandon.exit_code, 0) << abandon.err;
  EXPECT_NE(abandon.out.find("enter again: hr/password"), std::string::npos) << abandon.out;
  EXPECT_TRUE((*OpenDb()->ListSecrets()).empty());
  EXPECT_NE((*OpenDb()->GetKeySetRecord())->set_id, old_id);
  EXPECT_EQ(Kmu("alpha", {"list"}).exit_code, 0);
  EXPECT_EQ(Activate("beta", keys().string()).exit_code, 18) << "key files of the abandoned set are useless";
}

TEST_F(ActivationTest, RoleGroupsResolveDomainPrincipalsAndTheHostsLocalGroups) {
  ASSERT_EQ(Setup("alpha", {"--admins-group", "domain:CORP\\IdsyncAdmins", "--operators-group", "local:idsync-ops"})
                .exit_code,
            0);
  auto p = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "principal");
    return Idsync("alpha", args);
  };
  ASSERT_EQ(p({"add-group", "CORP\\IdsyncAdmins"}).exit_code, 0);
  ASSERT_EQ(p({"add-group", "CORP\\Helpdesk"}).exit_code, 0);
  ASSERT_EQ(p({"add-user", "CORP\\alice"}).exit_code, 0);
  ASSERT_EQ(p({"add-user", "CORP\\bob"}).exit_code, 0);
  ASSERT_EQ(p({"add-member", "CORP\\IdsyncAdmins", "CORP\\Helpdesk"}).exit_code, 0);
  ASSERT_EQ(p({"add-member", "corp\\helpdesk", "CORP\\Alice"}).exit_code, 0);
  auto dup = p({"add-user", "corp\\ALICE"});
  EXPECT_EQ(dup.exit_code, 6) << dup.err;
  EXPECT_EQ(p({"add-member", "CORP\\alice", "CORP\\bob"}).exit_code, 2) << "alice is not a group";
  EXPECT_EQ(p({"add-user", "nodomain"}).exit_code, 2);

  auto alice = p({"check", "alice", "admins"});
  EXPECT_EQ(alice.exit_code, 0) << alice.out << alice.err;
  EXPECT_NE(alice.out.find("(through CORP\\Helpdesk)"), std::string::npos) << alice.out;
  EXPECT_EQ(p({"check", "CORP\\bob", "admins"}).exit_code, 1);
  ASSERT_EQ(p({"remove", "CORP\\Helpdesk"}).exit_code, 0);
  EXPECT_EQ(p({"check", "CORP\\alice", "admins"}).exit_code, 1) << "removing a group removes its memberships";

  fs::path group_file = dir_.path() / "group";
  std::ofstream(group_file) << "root:x:0:\nidsync-ops:x:1200:carol,dave\n";
  EXPECT_EQ(p({"check", "carol", "operators", "--group-file", group_file.string()}).exit_code, 0);
  EXPECT_EQ(p({"check", "alice", "operators", "--group-file", group_file.string()}).exit_code, 1);
  auto unreadable = p({"check", "carol", "operators", "--group-file", (dir_.path() / "none").string()});
  EXPECT_EQ(unreadable.exit_code, 7) << unreadable.err;
  EXPECT_EQ(p({"check", "carol", "wizards"}).exit_code, 2);
}

TEST_F(ActivationTest, AfterAnUpgradeByANewerReleaseThisReleaseIsRefusedWithTheProductCode) {
  InstallPair();
  std::string next = std::string(IDSYNC_BINARY_DIR) + "/tests/integration/idsync-setup-next";
  auto upgrade = RunProgram(next, {"upgrade", "--home", home("alpha").string()});
  ASSERT_EQ(upgrade.exit_code, 0) << upgrade.err;
  EXPECT_NE(upgrade.out.find(fmt::format("from version {} to {}", kSchemaVersion, kSchemaVersion + 1)),
            std::string::npos)
      << upgrade.out;
  std::string before = State();
  auto refused = Activate("beta", keys().string());
  EXPECT_EQ(refused.exit_code, 9) << refused.err;
  EXPECT_NE(refused.err.find("0x80230443"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(fmt::format("schema version {} but this program knows version {}", kSchemaVersion + 1,
                                         kSchemaVersion)),
            std::string::npos)
      << refused.err;
  EXPECT_NE(refused.err.find("update this server to the same idsync release"), std::string::npos) << refused.err;
  EXPECT_EQ(State(), before);
  EXPECT_EQ(Idsync("alpha", {"run", "hr", "full-import"}).exit_code, 9);
  auto again = RunProgram(next, {"upgrade", "--home", home("alpha").string()});
  EXPECT_NE(again.out.find("already at version"), std::string::npos) << again.out;
}

}  // namespace
}  // namespace idsync
