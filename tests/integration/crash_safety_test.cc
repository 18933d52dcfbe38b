// Crash safety: a run killed with SIGKILL at any point leaves the database
// consistent, and running the interrupted step again (then the rest) reaches
// exactly the state of an uninterrupted sequence: same metaverse, same
// connector spaces, same export files (no change lost, none written twice).
//
// Each trial forks a child that runs the sequence with a kill countdown
// (tests/support/fault_injection.h) counting database statements, commits
// and export writes; the parent checks the database the child left, resumes
// the sequence, and compares the end state with a reference run.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "config/config.h"
#include "connectors/connector_config.h"
#include "engine/runner.h"
#include "store/db.h"
#include "store/store.h"
#include "tests/support/dump.h"
#include "tests/support/fault_injection.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "givenName", "sn", "displayName", "uid", "title"]
references = ["manager"]
deletion = "source:hr"

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "givenName", "sn", "title"]
references = { manager = "anchor" }
join = [ { mv = "employeeId", cs = "employeeId" } ]
project = true
[ma.hr.object_types.person.import_flows]
employeeId = "employeeId"
givenName = "givenName"
sn = "sn"
title = "title"
displayName = 'givenName & " " & sn'
uid = "lower(givenName & sn)"
manager = "manager"

[ma.dir]
connector = "ldif"
settings = { path = "out/dir.ldif" }
[ma.dir.object_types.person]
mv_object_type = "person"
anchor = "dn"
object_class = "inetOrgPerson"
attributes = ["uid", "cn", "sn", "title"]
references = { manager = "dn" }
export_flows = { uid = "uid", cn = "displayName", sn = "sn", title = "title", manager = "manager" }
provisioning = { dn = '"uid=" & uid & ",ou=people,dc=example"' }

[ma.badges]
connector = "csv"
settings = { path = "out/badges.csv" }
[ma.badges.object_types.badge]
mv_object_type = "person"
anchor = "id"
attributes = ["id", "name", "title"]
export_flows = { id = "employeeId", name = "displayName", title = "title" }
provisioning = { dn = "employeeId" }
)toml";

constexpr int kPeople = 40;

// Version 1: everyone; version 2: renames (new surname), title changes,
// three people gone, three new people (one managed by a new person).
std::string HrCsv(int version) {
  std::string out = "employeeId,givenName,sn,title,manager\n";
  for (int i = 1; i <= kPeople + (version == 2 ? 3 : 0); ++i) {
    if (version == 2 && (i == 7 || i == 19 || i == 33)) continue;
    std::string sn = fmt::format("Person{}", i);
    if (version == 2 && i % 10 == 0) sn += "Renamed";
    std::string title = version == 2 && i % 4 == 0 ? "Senior Engineer" : "Engineer";
    int manager = i == 1 ? 0 : (i > kPeople ? kPeople + 3 : (i * 7) % (i - 1 + (i == 2)) + 1);
    if (version == 2 && (manager == 7 || manager == 19 || manager == 33)) manager = 1;
    out += fmt::format("{},Given{},{},{},{}\n", i, i, sn, title, manager ? std::to_string(manager) : "");
  }
  return out;
}

struct Step {
  int data_version;  // the HR file to write before the step (0: leave it)
  const char* ma;
  const char* profile;
};

constexpr Step kSequence[] = {
    {1, "hr", "full-import"}, {0, "hr", "full-sync"},  {0, "dir", "export"}, {0, "badges", "export"},
    {2, "hr", "delta-import"}, {0, "hr", "delta-sync"}, {0, "dir", "export"}, {0, "badges", "export"},
};
constexpr int kSteps = sizeof(kSequence) / sizeof(kSequence[0]);

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An installation's folder (configuration, input, exports) and its
// database: SQLite, or PostgreSQL with IDSYNC_TEST_DB=postgresql.
class Installation {
 public:
  Installation(const fs::path& dir, std::string db_url) : dir_(dir), db_url_(std::move(db_url)) {}

  void Create() {
    fs::create_directories(dir_ / "out");
    std::ofstream(dir_ / "idsync.toml") << kConfig;
    auto store = Open(false);
    auto config = LoadConfigFiles((dir_ / "idsync.toml").string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store->WithWrite([&] { return store->ReplaceConfig(ToDocuments(*config)); }));
  }

  std::unique_ptr<Store> Open(bool killing) {
    // SQLite: a checkpoint every two pages of log, so that the checkpointer
    // thread copies the log (and starts it over) while the run writes, and
    // the kills land in the middle of its checkpoints too.
    auto db = OpenDb(db_url_, DbOptions{.create_if_missing = true, .sqlite_checkpoint_pages = 2});
    EXPECT_TRUE(db) << db.error().message;
    auto store = Store::Wrap(killing ? KillingDb(std::move(*db)) : std::move(*db));
    EXPECT_TRUE(store) << store.error().message;
    return std::move(*store);
  }

  // Runs steps [from, kSteps); records the step about to start in a file
  // first, so a parent can tell where a killed child was.
  void RunFrom(int from, bool killing) {
    auto store = Open(killing);
    for (int i = from; i < kSteps; ++i) {
      std::ofstream(dir_ / "step") << i;
      if (kSequence[i].data_version) std::ofstream(dir_ / "hr.csv") << HrCsv(kSequence[i].data_version);
      RunRequest req;
      req.ma = kSequence[i].ma;
      req.profile = kSequence[i].profile;
      req.server = "test";
      req.batch_size = 7;
      if (killing)
        req.connector_factory = [](const ConnectorConfig& c) -> Result<std::unique_ptr<Connector>> {
          IDSYNC_ASSIGN(auto inner, CreateConnector(c));
          return KillingConnector(std::move(inner));
        };
      auto result = RunProfile(*store, req);
      ASSERT_TRUE(result) << result.error().message;
      ASSERT_EQ(result->status, "success") << req.ma << " " << req.profile;
    }
  }

  int StepReached() { return std::stoi(ReadAll(dir_ / "step")); }

  std::string State() {
    auto store = Open(false);
    std::string state = *DumpMetaverse(*store);
    for (const char* ma : {"hr", "dir", "badges"}) state += std::string("--- cs ") + ma + "\n" + *DumpConnectorSpace(*store, ma);
    state += "--- dir.ldif\n" + ReadAll(dir_ / "out/dir.ldif");
    state += "--- badges.csv\n" + ReadAll(dir_ / "out/badges.csv");
    return state;
  }

  // Invariants that must hold whatever moment the process died at.
  void ExpectConsistent() {
    auto store = Open(false);
    Db& db = store->db();
    // PostgreSQL has no equivalent of SQLite's file check (its write-ahead
    // log recovers a killed session by itself); the checks below hold there.
    if (db.Backend() == "sqlite") {
      auto check = db.Prepare("PRAGMA integrity_check");
      ASSERT_TRUE(check);
      ASSERT_TRUE(*(*check)->Step());
      EXPECT_EQ((*check)->ColumnText(0), "ok");
      (*check)->Reset();
    }
    auto dangling = db.Prepare("SELECT count(*) FROM cs_objects c WHERE c.mv_id IS NOT NULL AND NOT EXISTS "
                               "(SELECT 1 FROM mv_objects m WHERE m.id = c.mv_id)");
    ASSERT_TRUE(dangling && *(*dangling)->Step());
    EXPECT_EQ((*dangling)->ColumnInt(0), 0) << "connector space objects linked to missing metaverse objects";
    (*dangling)->Reset();
    auto orphans = db.Prepare("SELECT count(*) FROM mv_objects m WHERE NOT EXISTS "
                              "(SELECT 1 FROM cs_objects c WHERE c.mv_id = m.id)");
    ASSERT_TRUE(orphans && *(*orphans)->Step());
    EXPECT_EQ((*orphans)->ColumnInt(0), 0) << "metaverse objects with no connector (half-applied projection)";
    (*orphans)->Reset();
  }

 private:
  fs::path dir_;
  std::string db_url_;
};

class CrashSafetyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    reference_dir_ = new TempDir();
    Installation ref(reference_dir_->path(), FreshTestDbUrl(reference_dir_->path()));
    ref.Create();
    SetKillCountdown(0);
    ref.RunFrom(0, /*killing=*/true);  // counting only: the countdown is off
    events_ = EventsSeen();
    reference_ = ref.State();
  }
  static void TearDownTestSuite() { delete reference_dir_; }

  static TempDir* reference_dir_;
  static int64_t events_;
  static std::string reference_;
};

TempDir* CrashSafetyTest::reference_dir_ = nullptr;
int64_t CrashSafetyTest::events_ = 0;
std::string CrashSafetyTest::reference_;

TEST_F(CrashSafetyTest, ReferenceSequenceExportsEveryChangeOnce) {
  // The sequence really adds, renames, modifies and deletes in both targets.
  EXPECT_NE(reference_.find("changetype: modrdn"), std::string::npos);
  EXPECT_NE(reference_.find("changetype: modify"), std::string::npos);
  EXPECT_NE(reference_.find("changetype: delete"), std::string::npos);
  EXPECT_NE(reference_.find("Person10Renamed"), std::string::npos);
  EXPECT_GT(events_, 1000);
}

TEST_F(CrashSafetyTest, KilledAtRandomPointsThenResumedReachesTheUninterruptedState) {
  // A PostgreSQL trial costs several SQLite ones (a new database, fsynced
  // commits over a socket); 60 random points still reach every kind of step.
  int trials = TestingPostgres() ? 60 : 150;
  if (const char* env = std::getenv("IDSYNC_CRASH_TRIALS")) trials = std::atoi(env);
  std::mt19937_64 rng(20261122);
  std::uniform_int_distribution<int64_t> point(1, events_);
  std::set<int> steps_hit;
  for (int t = 0; t < trials; ++t) {
    int64_t kill_at = point(rng);
    SCOPED_TRACE(fmt::format("trial {} killed at event {} of {}", t, kill_at, events_));
    TempDir dir;
    const std::string db_url = FreshTestDbUrl(dir.path());
    Installation inst(dir.path(), db_url);
    inst.Create();
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      SetKillCountdown(kill_at);
      Installation(dir.path(), db_url).RunFrom(0, /*killing=*/true);
      _exit(::testing::Test::HasFailure() ? 3 : 0);
    }
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the child was expected to be killed (exit status " << status << ")";
    inst.ExpectConsistent();
    int step = inst.StepReached();
    steps_hit.insert(step);
    inst.RunFrom(step, /*killing=*/false);
    ASSERT_EQ(inst.State(), reference_);
  }
  if (trials >= 60) {
    EXPECT_GE(steps_hit.size(), 6u) << "kill points should spread over import, sync and export";
  }
}

}  // namespace
}  // namespace idsync
