// Runs of different management agents overlap (run locks are per agent):
// here a second run starts while a sync batch of the first is open, between
// the batch's reads and its writes, and the outcome must be what running
// them one after the other gives. On SQLite a batch holds the write lock,
// so the second run waits for it; on PostgreSQL every write transaction
// takes an installation-wide advisory lock first (store/postgres/pg_db.cc),
// for the same reason.
//
// The seam: the first run's Db runs a hook before a chosen statement of the
// batch (tests/support/fault_injection.h). The hook starts the second run
// on a thread of its own, with a connection of its own, and returns once
// that run has finished or waits for a lock (PostgreSQL: its backend shows a
// lock wait in pg_stat_activity; SQLite: it has reached BeginWrite, whose
// write lock the first run holds). Polling that state is how a lock wait is
// seen from outside; no sleep stands in for it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>

#include "config/config.h"
#include "store/db.h"
#include "store/store.h"
#include "tests/support/export_fixture.h"
#include "tests/support/fault_injection.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {

// A run on a thread of its own, with its own connection to the database.
class OtherRun {
 public:
  OtherRun(std::string url, std::function<void(Store&)> run) : url_(std::move(url)), run_(std::move(run)) {}
  ~OtherRun() { Join(); }

  void Start() {
    thread_ = std::thread([this] {
      // A lock wait far longer than the first run's batch needs.
      auto db = OpenDb(url_, DbOptions{.busy_timeout_ms = 120'000});
      EXPECT_TRUE(db) << db.error().message;
      if (db) {
        DbHooks hooks;
        hooks.before_begin = [this]() -> Status {
          began_ = true;
          return {};
        };
        auto store = Store::Wrap(HookedDb(std::move(*db), std::move(hooks)));
        EXPECT_TRUE(store) << store.error().message;
        if (store) run_(**store);
      }
      done_ = true;
    });
  }

  // Returns once the run finished or waits for a lock. `monitor` is an idle
  // connection to the same database.
  void WaitUntilDoneOrWaiting(Store& monitor) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (!done_) {
      if (began_ && Waiting(monitor)) {
        waited_ = true;
        return;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        ADD_FAILURE() << "the other run neither finished nor waited for a lock";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  void Join() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  // Whether WaitUntilDoneOrWaiting saw it wait (not finish).
  bool waited() const { return waited_; }

 private:
  // SQLite: a writer that has begun a write transaction while another holds
  // the write lock waits for it. PostgreSQL: a backend of this database
  // waits for a lock.
  static bool Waiting(Store& monitor) {
    if (monitor.db().Backend() != "postgresql") return true;
    auto st = monitor.db().Prepare(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    EXPECT_TRUE(st);
    if (!st) return true;
    auto row = (*st)->Step();
    bool waiting = row && *row && (*st)->ColumnInt(0) > 0;
    (*st)->Reset();
    return waiting;
  }

  std::string url_;
  std::function<void(Store&)> run_;
  std::thread thread_;
  std::atomic<bool> began_ = false;
  std::atomic<bool> done_ = false;
  bool waited_ = false;
};

// A store on its own connection whose Db calls `hook` once, before the
// first statement whose SQL starts with `sql_prefix` is stepped or sent.
std::unique_ptr<Store> HookedStore(const std::string& url, std::string sql_prefix, std::function<void()> hook) {
  auto db = OpenDb(url, DbOptions{});
  EXPECT_TRUE(db) << db.error().message;
  if (!db) return nullptr;
  auto once = [hook = std::move(hook), fired = false]() mutable -> Status {
    if (!fired) {
      fired = true;
      hook();
    }
    return {};
  };
  auto shared = std::make_shared<decltype(once)>(std::move(once));
  auto call = [shared]() -> Status { return (*shared)(); };
  DbHooks hooks;
  hooks.wraps = [sql_prefix](std::string_view sql) { return sql.starts_with(sql_prefix); };
  hooks.before_step = call;
  hooks.before_send = call;
  auto store = Store::Wrap(HookedDb(std::move(*db), std::move(hooks)));
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

class SyncAndExportOverlapTest : public ThreeAgentExportTest {
 protected:
  void SetUp() override { SetUpWith("1,Ada,Countess\n2,Grace,Admiral\n3,Alan,Logician\n"); }
};

// HR's sync reads Grace's directory object, pending an add; the directory
// export writes and confirms it; then the sync writes the object from what
// it read. Written back, the object was pending an add again and the next
// export added Grace a second time (a directory rejects that).
TEST_F(SyncAndExportOverlapTest, AnExportDuringASyncBatchNeverAddsAnObjectTwice) {
  WriteHr("1,Ada,Countess\n2,Grace,Rear Admiral\n3,Alan,Logician\n");
  ASSERT_EQ(RunWith(*store_, "hr", "full-import").status, "success");

  RunResult exported;
  OtherRun exporter(url_, [&](Store& s) { exported = RunWith(s, "directory", "export"); });
  // Grace's target objects were read with the batch; her first write to
  // them is the hook's point.
  auto syncing = HookedStore(url_, "UPDATE cs_objects SET ma_id", [&] {
    exporter.Start();
    exporter.WaitUntilDoneOrWaiting(*store_);
  });
  ASSERT_TRUE(syncing);
  RunResult synced = RunWith(*syncing, "hr", "delta-sync");
  exporter.Join();
  ASSERT_TRUE(exporter.done());
  EXPECT_EQ(synced.status, "success");
  EXPECT_EQ(exported.status, "success");
  EXPECT_TRUE(exporter.waited()) << "the export waits for the sync's batch";

  RunResult again = RunWith(*store_, "directory", "export");
  EXPECT_EQ(again.status, "success");
  EXPECT_EQ(again.counters.exported_adds, 0) << "every person was added by the first export";
  std::string ldif = Read("directory.ldif");
  EXPECT_EQ(Count(ldif, "dn: cn=Grace,dc=example\nchangetype: add\n"), 1u) << ldif;
  EXPECT_EQ(Count(ldif, "changetype: add\n"), 3u) << ldif;
  EXPECT_EQ(PendingExports("directory"), 0);
  for (const auto& o : ObjectsOf("directory")) {
    if (FirstValue(o.attrs, "employeeNumber") == "2") {
      EXPECT_EQ(FirstValue(o.attrs, "title"), "Rear Admiral");
    }
  }
}

// Two agents that both project people and join on employeeId.
constexpr const char* kTwoSourcesConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "displayName", "company"]

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "name"]
join = [ { mv = "employeeId", cs = "employeeId" } ]
project = true
import_flows = { employeeId = "employeeId", displayName = "name" }

[ma.contractors]
connector = "csv"
settings = { path = "contractors.csv" }
[ma.contractors.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "company"]
join = [ { mv = "employeeId", cs = "employeeId" } ]
project = true
import_flows = { employeeId = "employeeId", company = "company" }
)toml";

class TwoSyncsOverlapTest : public ThreeAgentExportTest {
 protected:
  void SetUp() override { OpenWithConfig(kTwoSourcesConfig); }

  int64_t CountRows(const char* sql) {
    auto st = store_->db().Prepare(sql);
    EXPECT_TRUE(st);
    if (!st) return -1;
    auto row = (*st)->Step();
    int64_t n = row && *row ? (*st)->ColumnInt(0) : -1;
    (*st)->Reset();
    return n;
  }
};

// Both agents hold person 7. HR's sync batch reads the join keys (none for
// 7) and projects her; the contractors' sync runs before that batch
// commits. Reading the keys before HR's projection was committed, it
// projected her a second time.
TEST_F(TwoSyncsOverlapTest, TwoSyncsAtOnceProjectAPersonOnce) {
  std::ofstream(cfg_ / "hr.csv") << "employeeId,name\n7,Ada\n";
  std::ofstream(cfg_ / "contractors.csv") << "employeeId,company\n7,Acme\n";
  ASSERT_EQ(RunWith(*store_, "hr", "full-import").status, "success");
  ASSERT_EQ(RunWith(*store_, "contractors", "full-import").status, "success");

  RunResult other;
  OtherRun contractors(url_, [&](Store& s) { other = RunWith(s, "contractors", "full-sync"); });
  auto syncing = HookedStore(url_, "INSERT INTO mv_objects", [&] {
    contractors.Start();
    contractors.WaitUntilDoneOrWaiting(*store_);
  });
  ASSERT_TRUE(syncing);
  RunResult hr = RunWith(*syncing, "hr", "full-sync");
  contractors.Join();
  EXPECT_EQ(hr.status, "success");
  EXPECT_EQ(other.status, "success");
  EXPECT_TRUE(contractors.waited()) << "the second sync waits for the first one's batch";

  EXPECT_EQ(CountRows("SELECT count(*) FROM mv_objects"), 1) << "one person, projected once";
  EXPECT_EQ(CountRows("SELECT count(DISTINCT mv_id) FROM cs_objects"), 1);
  EXPECT_EQ(CountRows("SELECT count(*) FROM cs_objects WHERE mv_id IS NOT NULL"), 2) << "both joined to her";
}

}  // namespace
}  // namespace idsync
