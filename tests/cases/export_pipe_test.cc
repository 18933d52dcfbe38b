// The export reads and confirms on the engine's thread while a writer
// thread writes through the connector (engine/export_pipe.h). An error on
// either thread stops both: a write error ends the run with the status a
// write error has and confirms nothing of its batch; a read error stops the
// writer before it makes anything durable, so no partial file is visible.
// The objects are more than one chunk of the pipe, so the reader is still
// handing rows over when the error comes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "config/config.h"
#include "connectors/connector.h"
#include "connectors/connector_config.h"
#include "engine/runner.h"
#include "store/db.h"
#include "store/store.h"
#include "tests/support/fault_injection.h"
#include "tests/support/export_fixture.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr int kPeople = 1500;  // the export pipe's chunks are 1,000 rows


// A connector whose export sessions fail the Nth write with kIo.
class FailingWriteConnector final : public Connector {
 public:
  FailingWriteConnector(std::unique_ptr<Connector> inner, int fail_at) : inner_(std::move(inner)), fail_at_(fail_at) {}
  Status FullImport(ImportSink& sink) override { return inner_->FullImport(sink); }
  Status DeltaImport(ImportSink& sink) override { return inner_->DeltaImport(sink); }
  bool ExportsSnapshots() const override { return inner_->ExportsSnapshots(); }
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) override {
    IDSYNC_ASSIGN(auto session, inner_->BeginExport(batch_id));
    return std::unique_ptr<ExportSession>(std::make_unique<Session>(std::move(session), fail_at_));
  }
  Status ExportSnapshot(const SnapshotSource& next) override { return inner_->ExportSnapshot(next); }

 private:
  class Session final : public ExportSession {
   public:
    Session(std::unique_ptr<ExportSession> inner, int fail_at) : inner_(std::move(inner)), fail_at_(fail_at) {}
    Status Write(const ExportChange& change) override {
      if (++writes_ == fail_at_) return Fail(ErrorCode::kIo, "cannot write directory.ldif: disk full (test)");
      return inner_->Write(change);
    }
    Status Commit() override { return inner_->Commit(); }

   private:
    std::unique_ptr<ExportSession> inner_;
    int fail_at_;
    int writes_ = 0;
  };
  std::unique_ptr<Connector> inner_;
  int fail_at_;
};

class ExportPipeTest : public ThreeAgentExportTest {
 protected:
  void SetUp() override { SetUpWith(Rows("Engineer")); }

  static std::string Rows(const std::string& title) {
    std::string rows;
    for (int i = 1; i <= kPeople; ++i) rows += std::to_string(i) + ",Person " + std::to_string(i) + "," + title + "\n";
    return rows;
  }

  RunResult Run(Store& store, const std::string& ma, const std::string& profile, int fail_write_at = 0) {
    if (!fail_write_at) return RunWith(store, ma, profile);
    return RunWith(store, ma, profile, [fail_write_at](std::unique_ptr<Connector> inner) {
      return std::unique_ptr<Connector>(std::make_unique<FailingWriteConnector>(std::move(inner), fail_write_at));
    });
  }

  // Runs an export of `ma` on a store whose statements containing
  // `sql_part` fail at their `fail_at`th step.
  RunResult RunWithFailingRead(const std::string& ma, const std::string& sql_part, int fail_at) {
    auto db = OpenDb(url_, DbOptions{});
    EXPECT_TRUE(db) << db.error().message;
    // Counted over all the statements containing `sql_part`; fails once.
    int steps = 0;
    auto store = Store::Wrap(HookedDb(
        std::move(*db),
        DbHooks{.wraps = [&](std::string_view sql) { return sql.find(sql_part) != std::string_view::npos; },
                .before_step = [&]() -> Status {
                  if (++steps == fail_at) return Fail(ErrorCode::kDatabase, "disk I/O error (test)");
                  return {};
                }}));
    EXPECT_TRUE(store) << store.error().message;
    RunResult result = Run(**store, ma, "export");
    EXPECT_GE(steps, fail_at) << "the read that should fail was not reached";
    return result;
  }

  std::vector<std::string> Files() {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(cfg_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

};

TEST_F(ExportPipeTest, AWriteErrorOnTheWriterThreadStopsTheRunAndConfirmsNothingOfItsBatch) {
  RunResult failed = Run(*store_, "directory", "export", /*fail_write_at=*/1200);
  EXPECT_EQ(failed.status, "stopped-connectivity");
  EXPECT_EQ(failed.counters.exported_adds, 0);
  EXPECT_EQ(PendingExports("directory"), kPeople);
  // The session was dropped without its commit: it took back what it wrote.
  EXPECT_EQ(Count(Read("directory.ldif"), "changetype: add"), 0u);

  RunResult retried = Run(*store_, "directory", "export");
  EXPECT_EQ(retried.status, "success");
  EXPECT_EQ(retried.counters.exported_adds, kPeople);
  EXPECT_EQ(PendingExports("directory"), 0);
  std::string ldif = Read("directory.ldif");
  EXPECT_EQ(Count(ldif, "changetype: add"), static_cast<size_t>(kPeople));
  EXPECT_EQ(Count(ldif, "dn: cn=Person 1200,dc=example\n"), 1u);
}

TEST_F(ExportPipeTest, AReadErrorStopsTheBatchWriterAndLeavesNoPartialBatch) {
  // The second page of the batch fails, after the writer had the first.
  RunResult failed = RunWithFailingRead("directory", "AND id <= ? ORDER BY id LIMIT ?", 1200);
  EXPECT_NE(failed.status, "success");
  EXPECT_EQ(PendingExports("directory"), kPeople);
  EXPECT_EQ(Count(Read("directory.ldif"), "changetype: add"), 0u);

  RunResult retried = Run(*store_, "directory", "export");
  EXPECT_EQ(retried.status, "success");
  EXPECT_EQ(retried.counters.exported_adds, kPeople);
  EXPECT_EQ(Count(Read("directory.ldif"), "changetype: add"), static_cast<size_t>(kPeople));
}

TEST_F(ExportPipeTest, AReadErrorStopsTheSnapshotWriterAndKeepsTheOldFile) {
  ASSERT_EQ(Run(*store_, "badges", "export").status, "success");
  const std::string before = Read("badges.csv");
  ASSERT_EQ(Count(before, ",Engineer\n"), static_cast<size_t>(kPeople));
  const std::vector<std::string> files = Files();
  WriteHr(Rows("Architect"));
  ASSERT_EQ(Run(*store_, "hr", "full-import-full-sync").status, "success");
  ASSERT_EQ(PendingExports("badges"), kPeople);

  // The whole-MA walk fails on its second page, after the writer had the
  // first page's rows: the file stays as it was, with no temporary file.
  RunResult failed = RunWithFailingRead("badges", "+ma_id = ? AND id > ?", 1200);
  EXPECT_NE(failed.status, "success");
  EXPECT_EQ(Read("badges.csv"), before);
  EXPECT_EQ(Files(), files);
  EXPECT_EQ(PendingExports("badges"), kPeople);

  RunResult retried = Run(*store_, "badges", "export");
  EXPECT_EQ(retried.status, "success");
  EXPECT_EQ(Count(Read("badges.csv"), ",Architect\n"), static_cast<size_t>(kPeople));
  EXPECT_EQ(PendingExports("badges"), 0);
}

}  // namespace
}  // namespace idsync
