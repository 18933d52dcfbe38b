// An export confirms only what it wrote. Run locks are per MA, so a sync of
// another MA may change a target object's desired state while its export
// runs; that change must stay pending and reach the connected system with
// the next export. The sync here runs, through a second connection to the
// database, at the exact point between the connector's commit and the
// export's confirmation (a wrapped connector calls it), on both the batch
// (LDIF) and the snapshot (CSV) export. Also: a batch export writes each
// pending row once.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "config/config.h"
#include "connectors/connector.h"
#include "connectors/connector_config.h"
#include "engine/runner.h"
#include "store/db.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/support/export_fixture.h"
#include "tests/support/fault_injection.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;


// Calls `after_commit` once, right after the inner connector made its
// export durable (a batch's Commit, or the whole snapshot), before the
// engine confirms anything.
class HookedConnector final : public Connector {
 public:
  HookedConnector(std::unique_ptr<Connector> inner, std::function<void()>* after_commit)
      : inner_(std::move(inner)), after_commit_(after_commit) {}
  Status FullImport(ImportSink& sink) override { return inner_->FullImport(sink); }
  Status DeltaImport(ImportSink& sink) override { return inner_->DeltaImport(sink); }
  bool ExportsSnapshots() const override { return inner_->ExportsSnapshots(); }
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) override {
    IDSYNC_ASSIGN(auto session, inner_->BeginExport(batch_id));
    return std::unique_ptr<ExportSession>(std::make_unique<Session>(std::move(session), after_commit_));
  }
  Status ExportSnapshot(const SnapshotSource& next) override {
    IDSYNC_TRY(inner_->ExportSnapshot(next));
    Fire(after_commit_);
    return {};
  }

 private:
  static void Fire(std::function<void()>* hook) {
    if (!*hook) return;
    auto fn = std::move(*hook);
    *hook = nullptr;
    fn();
  }
  class Session final : public ExportSession {
   public:
    Session(std::unique_ptr<ExportSession> inner, std::function<void()>* hook)
        : inner_(std::move(inner)), hook_(hook) {}
    Status Write(const ExportChange& change) override { return inner_->Write(change); }
    Status Commit() override {
      IDSYNC_TRY(inner_->Commit());
      Fire(hook_);
      return {};
    }

   private:
    std::unique_ptr<ExportSession> inner_;
    std::function<void()>* hook_;
  };

  std::unique_ptr<Connector> inner_;
  std::function<void()>* after_commit_;
};

class ExportRaceTest : public ThreeAgentExportTest {
 protected:
  void SetUp() override { SetUpWith("1,Ada,Countess\n2,Grace,Admiral\n3,Alan,Logician\n"); }

  // While after_commit_ is set, every connector of the run calls it.
  RunResult Run(Store& store, const std::string& ma, const std::string& profile) {
    if (!after_commit_) return RunWith(store, ma, profile);
    return RunWith(store, ma, profile, [this](std::unique_ptr<Connector> inner) {
      return std::unique_ptr<Connector>(std::make_unique<HookedConnector>(std::move(inner), &after_commit_));
    });
  }

  // What another MA's sync does while the export runs: HR holds `rows`
  // now, and the HR sync, through a second connection, gives every target
  // the new desired state.
  void SyncHrInAnotherConnection(const std::string& rows) {
    auto other = Store::Open(url_, StoreOptions{});
    ASSERT_TRUE(other) << other.error().message;
    WriteHr(rows);
    EXPECT_EQ(Run(**other, "hr", "full-import-full-sync").status, "success");
    ++hook_runs_;
  }

  // Grace's title changes.
  void ChangeGraceInAnotherConnection() {
    SyncHrInAnotherConnection("1,Ada,Countess\n2,Grace,Rear Admiral\n3,Alan,Logician\n");
  }

  // The object of `ma` whose (desired or known) `attr` is `value`.
  CsObject Find(const std::string& ma, const std::string& attr, const std::string& value) {
    for (auto& o : ObjectsOf(ma)) {
      if (FirstValue(o.export_attrs, attr) == value || FirstValue(o.attrs, attr) == value) return o;
    }
    ADD_FAILURE() << "no object of " << ma << " with " << attr << " " << value;
    return {};
  }

  // Grace leaves HR; with `deprovision = "delete"` (UseDeleteOnDeprovision)
  // her objects in the targets are to be deleted.
  void RemoveGraceInAnotherConnection() { SyncHrInAnotherConnection("1,Ada,Countess\n3,Alan,Logician\n"); }

  // A person goes with her HR object, and the directory deletes what it
  // provisioned for her.
  void UseDeleteOnDeprovision() {
    std::string text = kThreeAgentExportConfig;
    const std::string mv_attrs = "attributes = [\"employeeId\", \"displayName\", \"title\"]\n";
    auto mv_at = text.find(mv_attrs);
    ASSERT_NE(mv_at, std::string::npos);
    text.insert(mv_at + mv_attrs.size(), "deletion = \"source:hr\"\n");
    const std::string from = "provisioning = { dn = '\"cn=\" & displayName & \",dc=example\"' }";
    auto at = text.find(from);
    ASSERT_NE(at, std::string::npos);
    text.replace(at, from.size(),
                 "provisioning = { dn = '\"cn=\" & displayName & \",dc=example\"', deprovision = \"delete\" }");
    std::ofstream(cfg_ / "idsync.toml") << text;
    auto config = LoadConfigFiles(cfg_.string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store_->WithWrite([&] { return store_->ReplaceConfig(ToDocuments(*config)); }));
  }

  bool HasObject(const std::string& ma, const std::string& dn) {
    auto objects = ObjectsOf(ma);
    return std::any_of(objects.begin(), objects.end(), [&](const CsObject& o) { return o.dn == dn; });
  }

  std::function<void()> after_commit_;
  int hook_runs_ = 0;
};

TEST_F(ExportRaceTest, ABatchExportLeavesPendingAChangeMadeAfterItReadTheObject) {
  after_commit_ = [this] { ChangeGraceInAnotherConnection(); };
  RunResult first = Run(*store_, "directory", "export");
  EXPECT_EQ(first.status, "success");
  ASSERT_EQ(hook_runs_, 1);
  EXPECT_EQ(first.counters.exported_adds, 3);
  std::string ldif = Read("directory.ldif");
  EXPECT_EQ(Count(ldif, "title: Admiral\n"), 1u) << ldif;
  EXPECT_EQ(Count(ldif, "title: Rear Admiral\n"), 0u) << ldif;

  // Her add was written with her old title: the directory holds her now,
  // so her new title is still to be exported, as a change of that entry.
  CsObject grace = Find("directory", "employeeNumber", "2");
  EXPECT_EQ(grace.pending_export, PendingExport::kUpdate);
  EXPECT_EQ(FirstValue(grace.attrs, "title"), "Admiral");
  EXPECT_EQ(FirstValue(grace.export_attrs, "title"), "Rear Admiral");
  EXPECT_EQ(PendingExports("directory"), 1);

  RunResult second = Run(*store_, "directory", "export");
  EXPECT_EQ(second.status, "success");
  EXPECT_EQ(second.counters.exported_adds, 0) << "Grace was added already";
  EXPECT_EQ(second.counters.exported_updates, 1);
  ldif = Read("directory.ldif");
  EXPECT_EQ(Count(ldif, "changetype: add\n"), 3u) << "each person is added once: " << ldif;
  EXPECT_EQ(Count(ldif, "dn: cn=Grace,dc=example\nchangetype: modify\nreplace: title\ntitle: Rear Admiral\n"), 1u)
      << ldif;
  EXPECT_EQ(Count(ldif, "title: Countess\n"), 1u) << "Ada is written once: " << ldif;
  EXPECT_EQ(PendingExports("directory"), 0);
  grace = Find("directory", "employeeNumber", "2");
  EXPECT_EQ(FirstValue(grace.attrs, "title"), "Rear Admiral");
}

TEST_F(ExportRaceTest, ASnapshotExportLeavesPendingAChangeMadeAfterItReadTheObject) {
  after_commit_ = [this] { ChangeGraceInAnotherConnection(); };
  RunResult first = Run(*store_, "badges", "export");
  EXPECT_EQ(first.status, "success");
  ASSERT_EQ(hook_runs_, 1);
  std::string csv = Read("badges.csv");
  EXPECT_NE(csv.find("Admiral"), std::string::npos) << csv;
  EXPECT_EQ(csv.find("Rear Admiral"), std::string::npos) << csv;

  CsObject grace = Find("badges", "employeeId", "2");
  EXPECT_EQ(grace.pending_export, PendingExport::kAdd);
  EXPECT_EQ(FirstValue(grace.export_attrs, "title"), "Rear Admiral");
  EXPECT_EQ(PendingExports("badges"), 1);

  RunResult second = Run(*store_, "badges", "export");
  EXPECT_EQ(second.status, "success");
  csv = Read("badges.csv");
  EXPECT_NE(csv.find("Rear Admiral"), std::string::npos) << csv;
  EXPECT_EQ(PendingExports("badges"), 0);
  grace = Find("badges", "employeeId", "2");
  EXPECT_EQ(FirstValue(grace.attrs, "title"), "Rear Admiral");
}

// An object whose add an export has written, and which a sync of another MA
// deletes before that export confirms it, is in the connected system: it
// is deleted there by the next export, not dropped from the connector space
// (which would leave the entry behind with nothing in idsync knowing of it).
TEST_F(ExportRaceTest, AnObjectDeletedAfterItsAddWasWrittenIsDeletedByTheNextExport) {
  UseDeleteOnDeprovision();
  after_commit_ = [this] { RemoveGraceInAnotherConnection(); };
  RunResult first = Run(*store_, "directory", "export");
  EXPECT_EQ(first.status, "success");
  ASSERT_EQ(hook_runs_, 1);
  EXPECT_EQ(first.counters.exported_adds, 3);
  ASSERT_TRUE(HasObject("directory", "cn=Grace,dc=example")) << "the written add is remembered";
  EXPECT_EQ(PendingExports("directory"), 1);

  RunResult second = Run(*store_, "directory", "export");
  EXPECT_EQ(second.status, "success");
  EXPECT_EQ(second.counters.exported_adds, 0);
  EXPECT_EQ(second.counters.exported_deletes, 1);
  std::string ldif = Read("directory.ldif");
  EXPECT_EQ(Count(ldif, "dn: cn=Grace,dc=example\nchangetype: add\n"), 1u) << ldif;
  EXPECT_EQ(Count(ldif, "dn: cn=Grace,dc=example\nchangetype: delete\n"), 1u) << ldif;
  EXPECT_FALSE(HasObject("directory", "cn=Grace,dc=example"));
  EXPECT_EQ(PendingExports("directory"), 0);
}

// Deleted after the export's batch was opened but before the export read
// her row (the sync runs, through another connection, just before the
// export's first read of pending rows): the export writes neither an add nor
// a delete for her.
TEST_F(ExportRaceTest, AnObjectDeletedBeforeItsAddWasWrittenIsNeverWritten) {
  UseDeleteOnDeprovision();
  auto db = OpenDb(url_, DbOptions{});
  ASSERT_TRUE(db) << db.error().message;
  bool fired = false;
  auto hooked = Store::Wrap(HookedDb(
      std::move(*db),
      DbHooks{.wraps = [](std::string_view sql) {
                return sql.starts_with("SELECT") && sql.find("export_attrs") != std::string_view::npos;
              },
              .before_step = [&]() -> Status {
                if (!fired) {
                  fired = true;
                  RemoveGraceInAnotherConnection();
                }
                return {};
              }}));
  ASSERT_TRUE(hooked) << hooked.error().message;
  RunResult first = Run(**hooked, "directory", "export");
  EXPECT_EQ(first.status, "success");
  ASSERT_EQ(hook_runs_, 1);
  std::string ldif = Read("directory.ldif");
  EXPECT_EQ(first.counters.exported_adds, 2) << ldif;
  EXPECT_EQ(first.counters.exported_deletes, 0);
  EXPECT_EQ(Count(ldif, "Grace"), 0u) << ldif;
  EXPECT_FALSE(HasObject("directory", "cn=Grace,dc=example"));
  EXPECT_EQ(PendingExports("directory"), 0);
}

// The batch export writes each pending row once (when confirming it), not
// once more to put it in its batch: a trigger counts the row updates.
TEST_F(ExportRaceTest, ABatchExportWritesEachPendingRowOnce) {
  Db& db = store_->db();
  if (TestingPostgres()) {
    ASSERT_TRUE(db.Exec("CREATE TABLE cs_writes (id BIGINT NOT NULL); "
                        "CREATE FUNCTION count_cs_write() RETURNS trigger LANGUAGE plpgsql AS "
                        "'BEGIN INSERT INTO cs_writes VALUES (NEW.id); RETURN NEW; END'; "
                        "CREATE TRIGGER cs_writes AFTER UPDATE ON cs_objects FOR EACH ROW "
                        "EXECUTE FUNCTION count_cs_write();"));
  } else {
    ASSERT_TRUE(db.Exec("CREATE TABLE cs_writes (id INTEGER NOT NULL); "
                        "CREATE TRIGGER cs_writes AFTER UPDATE ON cs_objects "
                        "BEGIN INSERT INTO cs_writes VALUES (NEW.id); END;"));
  }
  RunResult run = Run(*store_, "directory", "export");
  EXPECT_EQ(run.status, "success");
  EXPECT_EQ(run.counters.exported_adds, 3);
  EXPECT_EQ(PendingExports("directory"), 0);
  auto st = db.Prepare("SELECT count(*), count(DISTINCT id) FROM cs_writes");
  ASSERT_TRUE(st);
  auto row = (*st)->Step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*st)->ColumnInt(0), 3) << "row writes";
  EXPECT_EQ((*st)->ColumnInt(1), 3) << "rows written";
  (*st)->Reset();
}

}  // namespace
}  // namespace idsync
