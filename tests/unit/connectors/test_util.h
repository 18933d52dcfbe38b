// Helpers for the connector tests: a temp dir per test, whole-file I/O, a sink
// that records everything, and ready-made configs.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "connectors/connector.h"
#include "connectors/connector_config.h"

namespace idsync::testing {

// The shared conformance data (csv-spectrum, OpenLDAP LDIF files).
std::string TestDataDir();

// A fresh directory from mkdtemp(), removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
bool FileExists(const std::string& path);
// Names of the entries in `dir`, sorted.
std::vector<std::string> ListDir(const std::string& dir);

struct RecordingSink : ImportSink {
  Status OnRecord(ImportRecord&& record) override {
    records.push_back(std::move(record));
    return {};
  }
  Status OnRecordError(const std::string& location, const std::string& message) override {
    errors.emplace_back(location, message);
    return {};
  }
  // The record with this DN, or nullptr.
  const ImportRecord* Find(const std::string& dn) const;

  std::vector<ImportRecord> records;
  std::vector<std::pair<std::string, std::string>> errors;  // location, message
};

// A csv agent named "hr" on `path` with one object type "person" whose
// attributes are `columns`, plus `settings`.
ConnectorConfig CsvConfig(const std::string& path, std::vector<std::string> columns = {},
                          std::map<std::string, std::string, CaseInsensitiveLess> settings = {});

// An ldif agent named "dir" on `path` with the given object types (default: one
// type "person" with object class "person").
ConnectorConfig LdifConfig(const std::string& path, std::vector<ConnectorObjectType> types = {});

// CreateConnector() that fails the test on error (returns nullptr then).
std::unique_ptr<Connector> MakeConnector(const ConnectorConfig& config);

}  // namespace idsync::testing
