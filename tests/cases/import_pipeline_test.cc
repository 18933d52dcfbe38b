// The import reads on a thread of its own and stages on the run's thread
// (engine/import_pipeline.h): a stop on the staging side (the error limit, a
// failed write) must stop the reader and stage nothing it read ahead, and
// errors must keep their source order and locations.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>

#include "config/config.h"
#include "connectors/connector.h"
#include "connectors/connector_config.h"
#include "engine/import_pipeline.h"
#include "engine/runner.h"
#include "store/db.h"
#include "store/store.h"
#include "tests/support/fault_injection.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "displayName"]

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
error_limit = LIMIT
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "name"]
project = true
import_flows = { employeeId = "employeeId", displayName = "name" }
)toml";

// A source of `rows` records that counts what it handed out and stops at
// the first call its sink refuses, as every connector does.
class CountingConnector final : public Connector {
 public:
  CountingConnector(int rows, std::atomic<int>& emitted, std::atomic<bool>& returned)
      : rows_(rows), emitted_(emitted), returned_(returned) {}

  Status FullImport(ImportSink& sink) override {
    Status st = Emit(sink);
    returned_ = true;
    return st;
  }
  Status DeltaImport(ImportSink&) override { return Fail(ErrorCode::kUnsupported, "no change log"); }
  bool ExportsSnapshots() const override { return true; }
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t) override {
    return Fail(ErrorCode::kUnsupported, "snapshots only");
  }
  Status ExportSnapshot(const SnapshotSource&) override { return {}; }

 private:
  Status Emit(ImportSink& sink) {
    for (int i = 1; i <= rows_; ++i) {
      ++emitted_;
      std::string location = "counting:" + std::to_string(i);
      if (i == 10) {
        IDSYNC_TRY(sink.OnRecordError(location, "row 10 is unreadable"));
        continue;
      }
      ImportRecord r;
      r.attrs = {{"employeeId", {std::to_string(i)}}, {"name", {"Person " + std::to_string(i)}}};
      r.location = location;
      IDSYNC_TRY(sink.OnRecord(std::move(r)));
    }
    return {};
  }

  int rows_;
  std::atomic<int>& emitted_;
  std::atomic<bool>& returned_;
};

class ImportPipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = dir_.path() / "config";
    fs::create_directories(cfg_);
    auto db = OpenDb(FreshTestDbUrl(dir_.path()), DbOptions{.create_if_missing = true});
    ASSERT_TRUE(db) << db.error().message;
    // Inserts into the connector space fail (as a lost connection would
    // make them) while failing_inserts_ is set.
    auto fail = [this]() -> Status {
      if (failing_inserts_) return Fail(ErrorCode::kDatabase, "injected write failure");
      return {};
    };
    auto store = Store::Wrap(HookedDb(
        std::move(*db),
        DbHooks{.wraps = [](std::string_view sql) { return sql.starts_with("INSERT INTO cs_objects"); },
                .before_step = fail,
                .before_send = fail}));
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->Migrate());
  }

  void ApplyConfig(int error_limit) {
    std::string toml = kConfig;
    toml.replace(toml.find("LIMIT"), 5, std::to_string(error_limit));
    std::ofstream(cfg_ / "idsync.toml") << toml;
    auto config = LoadConfigFiles(cfg_.string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store_->WithWrite([&] { return store_->ReplaceConfig(ToDocuments(*config)); }));
  }

  Result<RunResult> Run(const std::string& profile, size_t batch_size, bool counting = false) {
    RunRequest req;
    req.ma = "hr";
    req.profile = profile;
    req.server = "test";
    req.batch_size = batch_size;
    if (counting) {
      req.connector_factory = [this](const ConnectorConfig&) -> Result<std::unique_ptr<Connector>> {
        return std::unique_ptr<Connector>(std::make_unique<CountingConnector>(kCountingRows, emitted_, returned_));
      };
    }
    return RunProfile(*store_, req);
  }

  std::string Hr() const { return (cfg_ / "hr.csv").string(); }

  int64_t Staged() {
    auto ma = store_->FindManagementAgent("hr");
    EXPECT_TRUE(ma && *ma);
    auto n = store_->CountCs(ma && *ma ? **ma : 0);
    EXPECT_TRUE(n);
    return n ? *n : -1;
  }

  static constexpr int kCountingRows = 200'000;
  // What the reader may have read ahead when the staging side stops: the
  // batches in the queue, the one being staged and the one being filled
  // (PipelineOptions' defaults), and the records before the stop.
  static constexpr int kReadAheadBound = (PipelineOptions{}.queue_batches + 2) * PipelineOptions{}.batch_items + 2'000;

  TempDir dir_;
  fs::path cfg_;
  std::atomic<bool> failing_inserts_{false};
  std::atomic<int> emitted_{0};
  std::atomic<bool> returned_{false};
  std::unique_ptr<Store> store_;
};

TEST_F(ImportPipelineTest, AnErrorLimitReachedMidFileStagesOnlyTheRowsBeforeIt) {
  ApplyConfig(0);
  std::ofstream hr(Hr());
  hr << "employeeId,name\n";
  for (int i = 1; i <= 3000; ++i) {
    if (i == 2000) hr << "2000,Too,Many,Fields\n";
    else hr << i << ",Person " << i << "\n";
  }
  hr.close();
  auto result = Run("full-import", 500);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, "stopped-error-limit");
  auto errors = store_->ListRunErrors(result->run_id);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].location, Hr() + ":2001");
  EXPECT_EQ((*errors)[0].error, "read-error");
  // The 1,999 rows before it, staged in four batches and the part of the
  // fifth read before the error; none of the 1,000 after it.
  EXPECT_EQ(Staged(), 1999);
  EXPECT_EQ(result->counters.stage_adds, 1999);
}

TEST_F(ImportPipelineTest, AnErrorLimitReachedStopsTheReaderAndJoinsIt) {
  ApplyConfig(0);
  auto result = Run("full-import", 2, /*counting=*/true);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, "stopped-error-limit");
  EXPECT_TRUE(returned_) << "the reading thread is joined before the run ends";
  EXPECT_LT(emitted_.load(), kReadAheadBound) << "the reader went on after the error limit";
  EXPECT_EQ(Staged(), 9) << "the records before the unreadable one, none after it";
  auto errors = store_->ListRunErrors(result->run_id);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 1u);
  EXPECT_EQ((*errors)[0].location, "counting:10");
}

TEST_F(ImportPipelineTest, AFailedWriteStopsTheReaderAndStagesNothing) {
  ApplyConfig(10);
  failing_inserts_ = true;
  auto result = Run("full-import", 2, /*counting=*/true);
  failing_inserts_ = false;
  // A database failure is not the objects' fault: it fails the run.
  EXPECT_TRUE(!result || result->status != "success");
  EXPECT_TRUE(returned_) << "the reading thread is joined before the run ends";
  EXPECT_LT(emitted_.load(), kReadAheadBound) << "the reader went on after the write failed";
  EXPECT_EQ(Staged(), 0);
}

TEST_F(ImportPipelineTest, ErrorsKeepTheSourceOrderAndLocationAcrossHandovers) {
  ApplyConfig(100);
  std::ofstream hr(Hr());
  hr << "employeeId,name\n";
  for (int i = 2; i <= 1000; ++i) {
    if (i == 3 || i == 699 || i == 900) hr << ",Nobody " << i << "\n";      // staging: no anchor
    else if (i == 700) hr << "700,Too,Many,Fields\n";                        // reading: malformed
    else hr << i << ",Person " << i << "\n";
  }
  hr.close();
  // Batches of two: each error is recorded as its row is reached, so the
  // order of the errors is the order of the rows.
  auto result = Run("full-import", 2);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->status, "completed-errors");
  auto errors = store_->ListRunErrors(result->run_id);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 4u);
  EXPECT_EQ((*errors)[0].location, Hr() + ":3");
  EXPECT_EQ((*errors)[0].error, "missing-anchor");
  EXPECT_EQ((*errors)[1].location, Hr() + ":699");
  EXPECT_EQ((*errors)[1].error, "missing-anchor");
  EXPECT_EQ((*errors)[2].location, Hr() + ":700");
  EXPECT_EQ((*errors)[2].error, "read-error");
  EXPECT_EQ((*errors)[3].location, Hr() + ":900");
  EXPECT_EQ((*errors)[3].error, "missing-anchor");
  EXPECT_EQ(Staged(), 995);
}

}  // namespace
}  // namespace idsync
