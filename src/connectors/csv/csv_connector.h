// connectors/csv/csv_connector: a connected system that is one CSV file.
//
// Import: the header row names the attributes; every other row is one object
// (ImportRecord kind kFull, location "PATH:LINE"). An empty field means the
// attribute is absent. Malformed rows (more fields than the header, invalid
// UTF-8, an unterminated quote at end of file) go to the sink's
// OnRecordError and the import goes on; a bad header (empty or duplicate
// name) fails the whole import with kParse. There is no delta import: the
// engine diffs full imports itself. For a sink that takes digests
// (ImportSink::DigestContext), each good row's digest is offered before its
// record is built, and a row the sink holds is skipped.
// Export: ExportSnapshot() rewrites the whole file atomically (temp file,
// fsync, rename, fsync of the directory); on failure the old file stays.
// Thread-safety: one thread at a time, like every Connector.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/connector_config.h"

namespace idsync {

struct CsvOptions {
  std::string path;  // resolved against the config's base_dir
  char delimiter = ',';
  std::string multi_value_separator;  // empty: a field is one value
  std::string object_type;            // set on every imported record
  std::vector<std::string> columns;   // export header: the object type's attributes
  // When set, this column names each row's object type (several types in one
  // file); export then writes the union of the types' attributes.
  std::string object_type_column;
  std::vector<std::string> object_types;  // the agent's type names
};

// Settings keys: path (required), delimiter, multi_value_separator,
// object_type, object_type_column.
std::span<const ConnectorSetting> CsvSettings();

// Reads the csv settings of `config`, whose keys have already been checked
// against CsvSettings(). Fails with kConfig naming the bad value.
Result<CsvOptions> ParseCsvOptions(const ConnectorConfig& config);

class CsvConnector final : public Connector {
 public:
  explicit CsvConnector(CsvOptions options) : options_(std::move(options)) {}

  Status FullImport(ImportSink& sink) override;
  // Always kUnsupported.
  Status DeltaImport(ImportSink& sink) override;
  bool ExportsSnapshots() const override { return true; }
  // Always kUnsupported; use ExportSnapshot().
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) override;
  // Writes the header (CsvOptions::columns) and one row per object. Fails
  // with kConfig when there are no columns or a multi-valued attribute cannot
  // be written with the configured multi_value_separator.
  Status ExportSnapshot(const SnapshotSource& next) override;

 private:
  CsvOptions options_;
};

}  // namespace idsync
