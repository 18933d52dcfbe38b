#include "test_util.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace idsync::testing {

std::string TestDataDir() { return IDSYNC_SOURCE_DIR "/tests/data/conformance"; }

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "idsync-conn-XXXXXX").string();
  char* made = ::mkdtemp(pattern.data());
  if (made == nullptr) ADD_FAILURE() << "mkdtemp failed";
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  if (!out) ADD_FAILURE() << "cannot write " << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool FileExists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

const ImportRecord* RecordingSink::Find(const std::string& dn) const {
  for (const auto& r : records) {
    if (r.dn == dn) return &r;
  }
  return nullptr;
}

ConnectorConfig CsvConfig(const std::string& path, std::vector<std::string> columns,
                          std::map<std::string, std::string, CaseInsensitiveLess> settings) {
  ConnectorConfig config;
  config.type = "csv";
  config.ma_name = "hr";
  config.settings = std::move(settings);
  config.settings["path"] = path;
  config.object_types.push_back({"person", "", std::move(columns)});
  return config;
}

ConnectorConfig LdifConfig(const std::string& path, std::vector<ConnectorObjectType> types) {
  ConnectorConfig config;
  config.type = "ldif";
  config.ma_name = "dir";
  config.settings["path"] = path;
  if (types.empty()) types.push_back({"person", "person", {}});
  config.object_types = std::move(types);
  return config;
}

std::unique_ptr<Connector> MakeConnector(const ConnectorConfig& config) {
  auto connector = CreateConnector(config);
  if (!connector) {
    ADD_FAILURE() << connector.error().message;
    return nullptr;
  }
  return std::move(*connector);
}

}  // namespace idsync::testing
