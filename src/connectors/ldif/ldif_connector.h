// connectors/ldif/ldif_connector: a connected system that exchanges LDIF files.
//
// Import reads `path` (see ldif_reader.h for the record mapping). A full
// import takes content records and "changetype: add"; other change records
// are reported with OnRecordError ("use a delta import"). A delta import
// takes every kind of record.
// Object types: a record with attributes gets the first object type (in
// configuration order) whose object_class is one of its objectClass values
// (case-insensitively); with no match, the only object type if there is
// exactly one, else the record is reported with OnRecordError. Modify, delete
// and rename records carry no objectClass: they get the only object type, or
// none (empty) when there are several.
// Export appends change records to `export_path` in idempotent batches (see
// ldif_export.h); there is no snapshot export.
// Thread-safety: one thread at a time, like every Connector.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "connectors/connector_config.h"

namespace idsync {

struct LdifOptions {
  std::string path;         // import file, resolved against the config's base_dir
  std::string export_path;  // change records are appended here; defaults to path
  std::vector<ConnectorObjectType> object_types;
};

// Settings keys: path (required), export_path.
std::span<const ConnectorSetting> LdifSettings();

// Reads the ldif settings of `config`, whose keys have already been checked
// against LdifSettings(). Fails with kConfig naming the bad value.
Result<LdifOptions> ParseLdifOptions(const ConnectorConfig& config);

class LdifConnector final : public Connector {
 public:
  explicit LdifConnector(LdifOptions options) : options_(std::move(options)) {}

  Status FullImport(ImportSink& sink) override;
  Status DeltaImport(ImportSink& sink) override;
  bool ExportsSnapshots() const override { return false; }
  Result<std::unique_ptr<ExportSession>> BeginExport(int64_t batch_id) override;
  // Always kUnsupported; use BeginExport().
  Status ExportSnapshot(const SnapshotSource& next) override;

 private:
  Status Import(ImportSink& sink, bool full);

  LdifOptions options_;
};

}  // namespace idsync
