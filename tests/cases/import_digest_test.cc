// The delta import of a CSV source, which skips rows whose digest shows them
// unchanged: what it stages must be what comparing every row stages, also on
// a database upgraded from schema version 2 (no digests yet) and after the
// MA's settings change.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "config/config.h"
#include "engine/runner.h"
#include "store/schema.h"
#include "store/store.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr const char* kConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "displayName", "title"]

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "ANCHOR"
attributes = ["employeeId", "name", "title"]
project = true
import_flows = { employeeId = "employeeId", displayName = "name", title = "title" }
)toml";

class ImportDigestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_ = dir_.path() / "config";
    fs::create_directories(cfg_);
    auto store = Store::Open(FreshTestDbUrl(dir_.path()), StoreOptions{.create_if_missing = true});
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }

  void ApplyConfig(const std::string& anchor = "employeeId") {
    std::string toml = kConfig;
    toml.replace(toml.find("ANCHOR"), 6, anchor);
    std::ofstream(cfg_ / "idsync.toml") << toml;
    auto config = LoadConfigFiles(cfg_.string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store_->WithWrite([&] { return store_->ReplaceConfig(ToDocuments(*config)); }));
  }

  void WriteHr(const std::string& rows) { std::ofstream(cfg_ / "hr.csv") << "employeeId,name,title\n" << rows; }

  RunResult Run(const std::string& profile) {
    RunRequest req;
    req.ma = "hr";
    req.profile = profile;
    req.server = "test";
    req.batch_size = 2;
    auto result = RunProfile(*store_, req);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : RunResult{};
  }

  // "anchor:pending-import name title" for every object of hr, by id.
  std::vector<std::string> Staged() {
    auto ma = store_->FindManagementAgent("hr");
    EXPECT_TRUE(ma && *ma);
    auto objects = store_->ListCs(CsQuery{.ma_id = ma && *ma ? **ma : 0});
    EXPECT_TRUE(objects);
    std::vector<std::string> out;
    for (const auto& o : *objects) {
      out.push_back(o.anchor + ":" + std::string(PendingImportName(o.pending_import)) + " " +
                    std::string(FirstValue(o.attrs, "name")) + " " + std::string(FirstValue(o.attrs, "title")));
    }
    return out;
  }

  TempDir dir_;
  fs::path cfg_;
  std::unique_ptr<Store> store_;
};

TEST_F(ImportDigestTest, DeltaImportStagesAChangeInAnySingleColumnAndNothingForUnchangedRows) {
  ASSERT_TRUE(store_->Migrate());
  ApplyConfig();
  WriteHr("1,Ada,Countess\n2,Grace,Admiral\n3,Alan,Logician\n4,Edsger,Professor\n");
  EXPECT_EQ(Run("full-import-full-sync").status, "success");
  WriteHr("1,Ada,Countess\n2,Grace,Rear Admiral\n3,Alan M.,Logician\n5,Edsger,Professor\n");
  RunResult delta = Run("delta-import");
  EXPECT_EQ(delta.status, "success");
  EXPECT_EQ(delta.counters.stage_unchanged, 1);
  EXPECT_EQ(Staged(), (std::vector<std::string>{"1:none Ada Countess", "2:update Grace Rear Admiral",
                                                "3:update Alan M. Logician", "4:delete Edsger Professor",
                                                "5:add Edsger Professor"}));
  // The same file again: what is staged stays; nothing is staged twice.
  RunResult again = Run("delta-import");
  EXPECT_EQ(again.counters.stage_unchanged, 4);
  EXPECT_EQ(again.counters.stage_updates + again.counters.stage_adds + again.counters.stage_deletes, 0);
}

TEST_F(ImportDigestTest, ARowRepeatedUnchangedIsStillADuplicateAnchor) {
  ASSERT_TRUE(store_->Migrate());
  ApplyConfig();
  WriteHr("1,Ada,Countess\n2,Grace,Admiral\n");
  EXPECT_EQ(Run("full-import").status, "success");
  WriteHr("1,Ada,Countess\n2,Grace,Admiral\n1,Ada,Countess\n1,Ada,Analyst\n");
  RunResult delta = Run("delta-import");
  EXPECT_EQ(delta.status, "completed-errors");
  auto errors = store_->ListRunErrors(delta.run_id);
  ASSERT_TRUE(errors);
  ASSERT_EQ(errors->size(), 2u);
  EXPECT_EQ((*errors)[0].error, "duplicate-anchor");
  EXPECT_EQ((*errors)[0].object, "1");
  EXPECT_EQ((*errors)[0].location, (cfg_ / "hr.csv").string() + ":4");
  EXPECT_EQ((*errors)[1].location, (cfg_ / "hr.csv").string() + ":5");
  EXPECT_EQ(Staged(), (std::vector<std::string>{"1:add Ada Countess", "2:add Grace Admiral"}));
}

TEST_F(ImportDigestTest, AChangedAnchorSettingMakesTheDeltaImportCompareEveryRow) {
  ASSERT_TRUE(store_->Migrate());
  ApplyConfig();
  WriteHr("1,Ada,Countess\n2,Grace,Admiral\n");
  EXPECT_EQ(Run("full-import-full-sync").status, "success");
  ApplyConfig("name");
  RunResult delta = Run("delta-import");
  EXPECT_EQ(delta.status, "success");
  EXPECT_EQ(Staged(), (std::vector<std::string>{"1:delete Ada Countess", "2:delete Grace Admiral",
                                                "Ada:add Ada Countess", "Grace:add Grace Admiral"}));
}

TEST_F(ImportDigestTest, AnUpgradeFromSchemaVersion2KeepsTheConnectorSpaceAndTheFirstDeltaImportIsRight) {
  // The database as a release with schema version 2 left it after a full
  // import of "1,Ada,Countess", "2,Grace,Admiral" and "3,Alan,Logician".
  ASSERT_TRUE(MigrateTo(store_->db(), 2));
  Db& db = store_->db();
  ASSERT_TRUE(db.BeginWrite());
  ASSERT_TRUE(db.Exec("INSERT INTO management_agents (name) VALUES ('hr')"));
  auto insert = db.Prepare("INSERT INTO cs_objects (ma_id, anchor, dn, object_type, attrs, pending_import) "
                           "VALUES ((SELECT id FROM management_agents WHERE name = 'hr'), ?, ?, 'person', ?, 1)");
  ASSERT_TRUE(insert);
  const std::vector<std::vector<std::string>> rows = {{"1", "Ada", "Countess"}, {"2", "Grace", "Admiral"},
                                                      {"3", "Alan", "Logician"}};
  for (const auto& r : rows) {
    (*insert)->BindText(1, r[0]);
    (*insert)->BindText(2, r[0]);
    (*insert)->BindBlob(3, EncodeAttributes({{"employeeId", {r[0]}}, {"name", {r[1]}}, {"title", {r[2]}}}));
    ASSERT_TRUE((*insert)->Step());
    (*insert)->Reset();
  }
  ASSERT_TRUE(db.Commit());

  ASSERT_TRUE(store_->Migrate());
  EXPECT_EQ(store_->schema_version(), kSchemaVersion);
  auto ma = store_->FindManagementAgent("hr");
  ASSERT_TRUE(ma && *ma);
  auto kept = store_->FindImportedState(**ma, "2");
  ASSERT_TRUE(kept && *kept);
  EXPECT_EQ((*kept)->attrs, EncodeAttributes({{"employeeId", {"2"}}, {"name", {"Grace"}}, {"title", {"Admiral"}}}));
  EXPECT_EQ((*kept)->pending_import, PendingImport::kAdd);
  EXPECT_TRUE((*kept)->digest.empty());

  ApplyConfig();
  WriteHr("1,Ada,Countess\n2,Grace,Rear Admiral\n4,Edsger,Professor\n");
  EXPECT_EQ(Run("delta-import").status, "success");
  EXPECT_EQ(Staged(), (std::vector<std::string>{"1:add Ada Countess", "2:add Grace Rear Admiral",
                                                "3:delete Alan Logician", "4:add Edsger Professor"}));
  auto first = store_->FindImportedState(**ma, "1");
  ASSERT_TRUE(first && *first);
  EXPECT_FALSE((*first)->digest.empty()) << "an unchanged row records its digest";
  WriteHr("1,Ada,Analyst\n2,Grace,Rear Admiral\n4,Edsger,Professor\n");
  RunResult second = Run("delta-import");
  EXPECT_EQ(second.counters.stage_unchanged, 2);
  EXPECT_EQ(Staged(), (std::vector<std::string>{"1:add Ada Analyst", "2:add Grace Rear Admiral",
                                                "3:delete Alan Logician", "4:add Edsger Professor"}));
}

}  // namespace
}  // namespace idsync
