// The programs as administrators use them: real binaries, a real database
// (an SQLite file, or PostgreSQL with IDSYNC_TEST_DB=postgresql), exit
// codes, messages, and "bad input changes nothing".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "store/schema.h"
#include "store/store.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class CliTest : public ::testing::Test {
 protected:
  fs::path home() const { return dir_.path() / "home"; }
  const std::string& db_url() const { return db_url_; }
  std::map<std::string, std::string> env() const { return {{"IDSYNC_HOME", home().string()}}; }

  // `changes` replace the value of a flag (or add a flag); an empty value drops it.
  ProcessResult Install(const std::vector<std::pair<std::string, std::string>>& changes = {},
                        const std::string& password = "Correct-Horse-9\n") {
    std::vector<std::pair<std::string, std::string>> flags{
        {"--home", home().string()}, {"--db", db_url()},
        {"--service-account", "CORP\\svc-idsync"}, {"--service-password-stdin", "-"},
        {"--admins-group", "domain:IdsyncAdmins"}, {"--server", "alpha"}};
    for (const auto& [flag, value] : changes) {
      auto it = std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == flag; });
      if (it == flags.end()) flags.emplace_back(flag, value);
      else it->second = value;
    }
    std::vector<std::string> args{"install"};
    for (const auto& [flag, value] : flags) {
      if (value.empty()) continue;
      args.push_back(flag);
      if (value != "-") args.push_back(value);
    }
    return RunProgram("idsync-setup", args, {}, password);
  }

  ProcessResult Idsync(std::vector<std::string> args) { return RunProgram("idsync", args, env()); }

  // A small configuration: HR CSV -> LDIF directory.
  fs::path WriteConfig(const std::string& hr_rows, int threshold_percent = 0) {
    fs::path cfg = dir_.path() / "cfg";
    fs::create_directories(cfg / "out");
    std::ofstream(cfg / "hr.csv") << "id,name\n" << hr_rows;
    std::ofstream(cfg / "idsync.toml") << R"([metaverse.object_types.person]
attributes = ["id", "name"]
deletion = "source:hr"
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
[ma.dir]
connector = "ldif"
settings = { path = "out/dir.ldif" }
)" << (threshold_percent ? "deletion_threshold = { percent = " + std::to_string(threshold_percent) + " }\n" : "")
                                         << R"([ma.dir.object_types.person]
mv_object_type = "person"
anchor = "dn"
attributes = ["cn"]
export_flows = { cn = "name" }
provisioning = { dn = '"cn=" & name & ",dc=example"' }
)";
    return cfg;
  }

  TempDir dir_;
  std::string db_url_ = FreshTestDbUrl(dir_.path());
};

TEST_F(CliTest, InstallCreatesTheDatabaseAndAPrivateHomeWithoutTheClearPassword) {
  auto r = Install();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("installed server alpha (active, epoch 1)"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(stat(home().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat((home() / "server.toml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  for (const auto& entry : fs::directory_iterator(dir_.path())) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(ReadAll(entry.path()).find("Correct-Horse-9"), std::string::npos) << entry.path();
    }
  }
  auto store = Store::Open(db_url(), {});
  ASSERT_TRUE(store);
  auto hash = (*store)->db().Prepare("SELECT password_hash, domain, name FROM service_account");
  ASSERT_TRUE(hash && *(*hash)->Step());
  EXPECT_TRUE((*hash)->ColumnText(0).starts_with("$argon2id$"));
  EXPECT_EQ((*hash)->ColumnText(1), "CORP");
  EXPECT_EQ((*hash)->ColumnText(2), "svc-idsync");
}

TEST_F(CliTest, BadInstallArgumentsAreRefusedAndCreateNothing) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> args;
    std::string password;
    int exit_code;
    std::string message;
  };
  std::vector<Case> cases = {
      {{{"--service-account", "CORP\\svc idsync"}}, "pw\n", 2, "not a valid account name"},
      {{{"--service-account", "A\\B\\C"}}, "pw\n", 2, "not a valid account name"},
      {{{"--admins-group", "IdsyncAdmins"}}, "pw\n", 2, "write domain:[DOMAIN"},
      {{{"--admins-group", "global:IdsyncAdmins"}}, "pw\n", 2, "--admins-group"},
      {{}, "\n", 2, "password is empty"},
      {{{"--service-password-file", "/nonexistent/pw"}}, "pw\n", 2, "exactly one of"},
      {{{"--service-password-stdin", ""}, {"--service-password-file", "/nonexistent/pw"}}, "", 7, "cannot read password file"},
      {{{"--db", "sqlite:/nonexistent-folder/x.db"}}, "pw\n", 7, "does not exist"},
      {{{"--db", "mysql://x/y"}}, "pw\n", 2, "unsupported database URL"},
      {{{"--service-password-stdin", ""}, {"--service-password", "pw"}}, "", 2, "--service-password"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.message);
    auto r = Install(c.args, c.password);
    EXPECT_EQ(r.exit_code, c.exit_code) << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << r.err;
    EXPECT_FALSE(TestDbHoldsTables(db_url()));
    EXPECT_FALSE(fs::exists(home()));
  }
}

TEST_F(CliTest, SecondInstallIntoTheSameHomeOrDatabaseChangesNothing) {
  ASSERT_EQ(Install().exit_code, 0);
  std::string db_before = TestDbSnapshot(db_url());
  std::string home_before = ReadAll(home() / "server.toml");
  auto again = Install();
  EXPECT_EQ(again.exit_code, 6) << again.err;
  EXPECT_NE(again.err.find("already holds server 'alpha'"), std::string::npos) << again.err;
  auto other_home = RunProgram("idsync-setup",
                               {"install", "--home", (dir_.path() / "home2").string(), "--db",
                                db_url(), "--service-account", "svc", "--service-password-stdin",
                                "--admins-group", "domain:A"},
                               {}, "pw\n");
  EXPECT_EQ(other_home.exit_code, 6) << other_home.err;
  EXPECT_NE(other_home.err.find("already holds installation"), std::string::npos) << other_home.err;
  EXPECT_FALSE(fs::exists(dir_.path() / "home2" / "server.toml"));
  EXPECT_EQ(ReadAll(home() / "server.toml"), home_before);
  EXPECT_EQ(TestDbSnapshot(db_url()), db_before);
}

TEST_F(CliTest, ANewInstallThatFailsAfterWritingTheDatabaseLeavesItEmpty) {
  // The home cannot be created (its parent is a file), which the install
  // finds only after the schema and the first records are written.
  std::ofstream(dir_.path() / "file") << "not a folder\n";
  auto failed = Install({{"--home", (dir_.path() / "file" / "home").string()}});
  EXPECT_NE(failed.exit_code, 0) << failed.out;
  EXPECT_FALSE(TestDbHoldsTables(db_url())) << "a failed install must leave no schema behind";
  auto r = Install();
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(CliTest, ConfigErrorsNameFileLineAndKeyAndKeepTheStoredConfiguration) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n");
  ASSERT_EQ(Idsync({"config", "apply", cfg.string()}).exit_code, 0);
  auto same = Idsync({"config", "apply", cfg.string()});
  EXPECT_NE(same.out.find("configuration unchanged"), std::string::npos) << same.out;

  fs::path bad = dir_.path() / "bad";
  fs::create_directories(bad);
  std::string text = ReadAll(cfg / "idsync.toml");
  text.replace(text.find("project = true"), 14, "project = true\nprojekt = true");
  std::ofstream(bad / "idsync.toml") << text;
  std::ofstream(bad / "hr.csv") << "id,name\n";
  auto r = Idsync({"config", "apply", bad.string()});
  EXPECT_EQ(r.exit_code, 4) << r.err;
  EXPECT_NE(r.err.find("idsync.toml:13: key 'ma.hr.object_types.person.projekt': unknown key"), std::string::npos)
      << r.err;

  fs::path exported = dir_.path() / "exported";
  ASSERT_EQ(Idsync({"config", "export", exported.string()}).exit_code, 0);
  EXPECT_NE(ReadAll(exported / "idsync.toml").find("project = true"), std::string::npos);
  EXPECT_EQ(ReadAll(exported / "idsync.toml").find("projekt"), std::string::npos);
  auto reapply = Idsync({"config", "apply", exported.string()});
  EXPECT_NE(reapply.out.find("configuration unchanged"), std::string::npos) << reapply.out << reapply.err;
}

TEST_F(CliTest, RunExitsZeroOnlyOnSuccessAndHistoryShowsIt) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n2,Grace\n3,Alan\n", /*threshold_percent=*/20);
  ASSERT_EQ(Idsync({"config", "apply", cfg.string()}).exit_code, 0);
  auto cycle = Idsync({"run", "hr", "full-import-full-sync"});
  EXPECT_EQ(cycle.exit_code, 0) << cycle.out << cycle.err;
  EXPECT_NE(cycle.out.find("projections"), std::string::npos);
  ASSERT_EQ(Idsync({"run", "dir", "export"}).exit_code, 0);

  std::ofstream(cfg / "hr.csv") << "id,name\n1,Ada\n";  // two of three deleted: over 20%
  ASSERT_EQ(Idsync({"run", "hr", "full-import-full-sync"}).exit_code, 0);
  auto held = Idsync({"run", "dir", "export"});
  EXPECT_EQ(held.exit_code, 1);
  EXPECT_NE(held.out.find("stopped-deletion-threshold-exceeded"), std::string::npos) << held.out;
  EXPECT_EQ(ReadAll(cfg / "out/dir.ldif").find("changetype: delete"), std::string::npos);

  auto history = Idsync({"--json", "history"});
  ASSERT_EQ(history.exit_code, 0) << history.err;
  auto runs = nlohmann::json::parse(history.out);
  ASSERT_EQ(runs.size(), 4u);
  EXPECT_EQ(runs[0]["status"], "stopped-deletion-threshold-exceeded");
  EXPECT_EQ(runs[3]["counters"]["total"]["projections"], 3);
  auto show = Idsync({"history", "show", std::to_string(runs[0]["run"].get<int>())});
  EXPECT_NE(show.out.find("deletion-threshold"), std::string::npos) << show.out;

  auto unknown = Idsync({"run", "nosuch", "export"});
  EXPECT_EQ(unknown.exit_code, 5);
  EXPECT_NE(unknown.err.find("no management agent 'nosuch'; configured: dir, hr"), std::string::npos) << unknown.err;
}

TEST_F(CliTest, ARunOfAnMaThatIsAlreadyRunningIsRefused) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n");
  ASSERT_EQ(Idsync({"config", "apply", cfg.string()}).exit_code, 0);
  {
    // This test process holds the lock, as a live run on this server would.
    auto store = Store::Open(db_url(), {});
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->WithWrite([&]() -> Status {
      IDSYNC_ASSIGN(bool got, (*store)->AcquireRunLock("hr", 999, "alpha", getpid()));
      EXPECT_TRUE(got);
      return {};
    }));
  }
  auto r = Idsync({"run", "hr", "full-import"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("no-start-ma-already-running"), std::string::npos) << r.out;
  auto search = Idsync({"cs", "search", "hr"});
  EXPECT_NE(search.err.find("0 objects"), std::string::npos) << "the refused run must not import";
}

TEST_F(CliTest, ANewerSchemaIsRefusedForWritesWithTheProductCode) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n");
  ASSERT_EQ(Idsync({"config", "apply", cfg.string()}).exit_code, 0);
  {
    auto store = Store::Open(db_url(), {});
    ASSERT_TRUE(store);
    auto st = (*store)->db().Exec("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    ASSERT_TRUE(st);
  }
  auto r = Idsync({"run", "hr", "full-import"});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("0x80230443"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(fmt::format("schema version 99 but this program knows version {}", kSchemaVersion)),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("update this server"), std::string::npos) << r.err;
  auto apply = Idsync({"config", "apply", cfg.string()});
  EXPECT_EQ(apply.exit_code, 9) << apply.err;
  EXPECT_EQ(Idsync({"history"}).exit_code, 0) << "reading still works";
}

TEST_F(CliTest, ADatabaseLockedByAnotherProcessIsReportedAsBusy) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n");
  auto store = Store::Open(db_url(), {});
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->db().BeginWrite());  // held until the end of the test
  if ((*store)->db().Backend() == "postgresql") {
    // PostgreSQL writers lock rows, not the database: hold the cluster row
    // as an activation does, which every fenced write must read.
    auto lock = (*store)->db().Prepare("SELECT 1 FROM cluster WHERE id = 1 FOR UPDATE");
    ASSERT_TRUE(lock && *(*lock)->Step());
    (*lock)->Reset();
  }
  auto r = Idsync({"config", "apply", cfg.string()});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_NE(r.err.find("is locked by another process"), std::string::npos) << r.err;
  (*store)->db().Rollback();
}

TEST_F(CliTest, SearchAndShowExplainAnObjectsLineage) {
  ASSERT_EQ(Install().exit_code, 0);
  fs::path cfg = WriteConfig("1,Ada\n");
  ASSERT_EQ(Idsync({"config", "apply", cfg.string()}).exit_code, 0);
  ASSERT_EQ(Idsync({"run", "hr", "full-import-full-sync"}).exit_code, 0);
  auto pending = Idsync({"--json", "cs", "search", "dir", "--pending-export"});
  auto objects = nlohmann::json::parse(pending.out);
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0]["pending_export"], "add");
  EXPECT_EQ(objects[0]["export_dn"], "cn=Ada,dc=example");
  auto mv = Idsync({"--json", "mv", "search", "name=Ada"});
  auto found = nlohmann::json::parse(mv.out);
  ASSERT_EQ(found.size(), 1u);
  auto show = Idsync({"show", "mv", std::to_string(found[0]["id"].get<int>())});
  EXPECT_NE(show.out.find("name                 Ada  <- hr"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("cn=Ada,dc=example"), std::string::npos) << show.out;
  EXPECT_EQ(Idsync({"show", "mv", "x"}).exit_code, 2);
}

}  // namespace
}  // namespace idsync
