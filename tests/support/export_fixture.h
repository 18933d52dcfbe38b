// tests/support/export_fixture: a fixture for the export's tests: a fresh
// store (SQLite or PostgreSQL, as the test runs) with
// kThreeAgentExportConfig applied and HR's people imported and synchronized.
// Header-only: it needs GoogleTest, which the support library does not link.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "config/config.h"
#include "connectors/connector.h"
#include "connectors/connector_config.h"
#include "engine/runner.h"
#include "store/store.h"
#include "tests/support/scenario.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_db.h"

namespace idsync {

class ThreeAgentExportTest : public ::testing::Test {
 protected:
  // Wraps each connector a run creates (to fail or observe its export).
  using WrapConnector = std::function<std::unique_ptr<Connector>(std::unique_ptr<Connector>)>;

  // Opens the store, applies the configuration, writes `hr_rows` (CSV rows
  // after the header) and runs HR's full import and full sync.
  void SetUpWith(const std::string& hr_rows) {
    cfg_ = dir_.path() / "config";
    std::filesystem::create_directories(cfg_);
    url_ = FreshTestDbUrl(dir_.path());
    auto store = Store::Open(url_, StoreOptions{.create_if_missing = true});
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->Migrate());
    std::ofstream(cfg_ / "idsync.toml") << kThreeAgentExportConfig;
    auto config = LoadConfigFiles(cfg_.string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store_->WithWrite([&] { return store_->ReplaceConfig(ToDocuments(*config)); }));
    WriteHr(hr_rows);
    EXPECT_EQ(RunWith(*store_, "hr", "full-import-full-sync").status, "success");
  }

  // Replaces hr.csv: the header and `rows`.
  void WriteHr(const std::string& rows) { std::ofstream(cfg_ / "hr.csv") << "employeeId,name,title\n" << rows; }

  // Runs `profile` of `ma` on `store`, with each connector wrapped by `wrap` when set.
  RunResult RunWith(Store& store, const std::string& ma, const std::string& profile, WrapConnector wrap = {}) {
    RunRequest req;
    req.ma = ma;
    req.profile = profile;
    req.server = "test";
    if (wrap) {
      req.connector_factory = [wrap](const ConnectorConfig& config) -> Result<std::unique_ptr<Connector>> {
        IDSYNC_ASSIGN(auto inner, CreateConnector(config));
        return wrap(std::move(inner));
      };
    }
    auto result = RunProfile(store, req);
    EXPECT_TRUE(result) << result.error().message;
    return result ? *result : RunResult{};
  }

  TempDir dir_;
  std::filesystem::path cfg_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

}  // namespace idsync
