#include "connectors/ldif/ldif_connector.h"

#include "connectors/file_util.h"
#include "connectors/ldif/ldif_export.h"
#include "connectors/ldif/ldif_reader.h"

namespace idsync {
namespace {

constexpr ConnectorSetting kLdifSettings[] = {
    {"path", true, "the LDIF file to import, relative to the configuration file's directory"},
    {"export_path", false, "the LDIF file export appends change records to (default: path)"},
};

const char* ChangeTypeName(ImportRecord::Kind kind) {
  switch (kind) {
    case ImportRecord::Kind::kModify:
      return "modify";
    case ImportRecord::Kind::kRename:
      return "modrdn";
    case ImportRecord::Kind::kDelete:
      return "delete";
    case ImportRecord::Kind::kFull:
      break;
  }
  return "add";
}

// Sets each record's object type and applies the full-import rules before
// passing records on.
class ObjectTypeSink final : public ImportSink {
 public:
  ObjectTypeSink(const std::vector<ConnectorObjectType>& types, ImportSink& next, bool full)
      : types_(types), next_(next), full_(full) {}

  Status OnRecord(ImportRecord&& record) override {
    if (full_ && record.kind != ImportRecord::Kind::kFull) {
      return next_.OnRecordError(record.location, std::string("change record (changetype: ") +
                                                      ChangeTypeName(record.kind) +
                                                      ") in a full import; use a delta import");
    }
    if (record.kind != ImportRecord::Kind::kFull) {
      if (types_.size() == 1) record.object_type = types_.front().name;
      return next_.OnRecord(std::move(record));
    }
    const ConnectorObjectType* type = Match(record.attrs);
    if (type == nullptr && types_.size() == 1) type = &types_.front();
    if (type == nullptr) return next_.OnRecordError(record.location, NoMatchMessage(record.attrs));
    record.object_type = type->name;
    return next_.OnRecord(std::move(record));
  }

  Status OnRecordError(const std::string& location, const std::string& message) override {
    return next_.OnRecordError(location, message);
  }

 private:
  const ConnectorObjectType* Match(const AttributeMap& attrs) const {
    auto it = attrs.find("objectClass");
    if (it == attrs.end()) return nullptr;
    for (const auto& type : types_) {
      if (type.object_class.empty()) continue;
      for (const std::string& oc : it->second) {
        if (EqualsIgnoreCase(oc, type.object_class)) return &type;
      }
    }
    return nullptr;
  }

  std::string NoMatchMessage(const AttributeMap& attrs) const {
    std::string classes;
    if (auto it = attrs.find("objectClass"); it != attrs.end()) {
      for (const auto& oc : it->second) classes += (classes.empty() ? "" : ", ") + oc;
    }
    std::string known;
    for (const auto& t : types_) known += (known.empty() ? "" : ", ") + t.name + " (" + t.object_class + ")";
    if (classes.empty()) {
      return "the record has no objectClass to choose among the object types of this agent: " + known;
    }
    return "objectClass values (" + classes + ") match no object type of this agent: " + known;
  }

  const std::vector<ConnectorObjectType>& types_;
  ImportSink& next_;
  bool full_;
};

}  // namespace

std::span<const ConnectorSetting> LdifSettings() { return kLdifSettings; }

Result<LdifOptions> ParseLdifOptions(const ConnectorConfig& config) {
  LdifOptions options;
  auto path = config.settings.find("path");
  if (path == config.settings.end() || path->second.empty()) {
    return tl::unexpected(ConnectorSettingError(config, "path", "is required: the LDIF file to import"));
  }
  options.path = ResolvePath(config.base_dir, path->second);
  options.export_path = options.path;
  if (auto out = config.settings.find("export_path"); out != config.settings.end()) {
    if (out->second.empty()) {
      return tl::unexpected(
          ConnectorSettingError(config, "export_path", "is empty; remove it to export to 'path'"));
    }
    options.export_path = ResolvePath(config.base_dir, out->second);
  }
  if (config.object_types.empty()) {
    return Fail(ErrorCode::kConfig, "management agent '" + config.ma_name + "' has no object types");
  }
  options.object_types = config.object_types;
  return options;
}

Status LdifConnector::Import(ImportSink& sink, bool full) {
  ObjectTypeSink typed(options_.object_types, sink, full);
  return ReadLdifFile(options_.path, typed);
}

Status LdifConnector::FullImport(ImportSink& sink) { return Import(sink, true); }

Status LdifConnector::DeltaImport(ImportSink& sink) { return Import(sink, false); }

Result<std::unique_ptr<ExportSession>> LdifConnector::BeginExport(int64_t batch_id) {
  return BeginLdifExport(options_.export_path, options_.object_types, batch_id);
}

Status LdifConnector::ExportSnapshot(const SnapshotSource&) {
  return Fail(ErrorCode::kUnsupported, "the LDIF connector exports change records, not snapshots");
}

}  // namespace idsync
