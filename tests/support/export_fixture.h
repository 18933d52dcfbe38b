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
#include <sstream>
#include <string>
#include <vector>

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

  // Opens a fresh store and applies `toml` as the whole configuration.
  void OpenWithConfig(const char* toml) {
    cfg_ = dir_.path() / "config";
    std::filesystem::create_directories(cfg_);
    url_ = FreshTestDbUrl(dir_.path());
    auto store = Store::Open(url_, StoreOptions{.create_if_missing = true});
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_->Migrate());
    std::ofstream(cfg_ / "idsync.toml") << toml;
    auto config = LoadConfigFiles(cfg_.string());
    ASSERT_TRUE(config) << config.error().message;
    ASSERT_TRUE(store_->WithWrite([&] { return store_->ReplaceConfig(ToDocuments(*config)); }));
  }

  // Opens the store with kThreeAgentExportConfig, writes `hr_rows` (CSV rows
  // after the header) and runs HR's full import and full sync.
  void SetUpWith(const std::string& hr_rows) {
    OpenWithConfig(kThreeAgentExportConfig);
    ASSERT_FALSE(HasFatalFailure());
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

  // The connector space objects of `ma`.
  std::vector<CsObject> ObjectsOf(const std::string& ma) {
    auto id = store_->FindManagementAgent(ma);
    EXPECT_TRUE(id && *id);
    auto objects = store_->ListCs(CsQuery{.ma_id = id && *id ? **id : 0});
    EXPECT_TRUE(objects);
    return objects ? std::move(*objects) : std::vector<CsObject>{};
  }

  int64_t PendingExports(const std::string& ma) {
    auto id = store_->FindManagementAgent(ma);
    EXPECT_TRUE(id && *id);
    auto n = store_->CountPendingExports(id && *id ? **id : 0);
    EXPECT_TRUE(n);
    return n ? *n : -1;
  }

  // The text of file `name` in the configuration folder (where the
  // connectors write).
  std::string Read(const std::string& name) {
    std::ifstream in(cfg_ / name);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  static size_t Count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  TempDir dir_;
  std::filesystem::path cfg_;
  std::string url_;
  std::unique_ptr<Store> store_;
};

}  // namespace idsync
