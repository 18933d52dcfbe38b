#include "connectors/connector_config.h"

#include "connectors/csv/csv_connector.h"
#include "connectors/ldif/ldif_connector.h"

namespace idsync {
namespace {

constexpr std::string_view kTypes[] = {"csv", "ldif"};

std::string AllowedKeys(std::span<const ConnectorSetting> settings) {
  std::string out;
  for (const auto& s : settings) out += (out.empty() ? "" : ", ") + std::string(s.key);
  return out;
}

Error ConfigError(const ConnectorConfig& config, const std::string& message) {
  return Error{ErrorCode::kConfig, "management agent '" + config.ma_name + "': " + message};
}

Status CheckObjectTypes(const ConnectorConfig& config) {
  if (config.object_types.empty()) {
    return tl::unexpected(ConfigError(config, "no object types; declare at least one"));
  }
  for (size_t i = 0; i < config.object_types.size(); ++i) {
    const std::string& name = config.object_types[i].name;
    if (name.empty()) {
      return tl::unexpected(ConfigError(config, "object type " + std::to_string(i + 1) + " has no name"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (EqualsIgnoreCase(config.object_types[j].name, name)) {
        return tl::unexpected(ConfigError(config, "object type '" + name + "' is declared twice"));
      }
    }
  }
  return {};
}

Status CheckKeys(const ConnectorConfig& config, std::span<const ConnectorSetting> allowed) {
  for (const auto& [key, value] : config.settings) {
    bool known = false;
    for (const auto& s : allowed) known = known || EqualsIgnoreCase(s.key, key);
    if (!known) {
      return tl::unexpected(ConfigError(config, "setting '" + key + "' is not known for a " + config.type +
                                                    " connector; allowed: " + AllowedKeys(allowed)));
    }
  }
  for (const auto& s : allowed) {
    if (s.required && config.settings.find(s.key) == config.settings.end()) {
      return tl::unexpected(ConfigError(config, "setting '" + std::string(s.key) + "' is required for a " +
                                                    config.type + " connector (" +
                                                    std::string(s.description) + ")"));
    }
  }
  return {};
}

}  // namespace

std::span<const std::string_view> ConnectorTypes() { return kTypes; }

std::span<const ConnectorSetting> ConnectorSettings(std::string_view type) {
  if (EqualsIgnoreCase(type, "csv")) return CsvSettings();
  if (EqualsIgnoreCase(type, "ldif")) return LdifSettings();
  return {};
}

Error ConnectorSettingError(const ConnectorConfig& config, std::string_view key, std::string_view problem) {
  return ConfigError(config, "setting '" + std::string(key) + "' " + std::string(problem));
}

Status ValidateConnectorConfig(const ConnectorConfig& config) {
  std::span<const ConnectorSetting> allowed = ConnectorSettings(config.type);
  if (allowed.empty()) {
    std::string known;
    for (auto t : kTypes) known += (known.empty() ? "" : ", ") + std::string(t);
    return tl::unexpected(
        ConfigError(config, "connector type '" + config.type + "' is not known; allowed: " + known));
  }
  IDSYNC_TRY(CheckObjectTypes(config));
  IDSYNC_TRY(CheckKeys(config, allowed));
  if (EqualsIgnoreCase(config.type, "csv")) {
    IDSYNC_TRY(ParseCsvOptions(config));
  } else {
    IDSYNC_TRY(ParseLdifOptions(config));
  }
  return {};
}

Result<std::unique_ptr<Connector>> CreateConnector(const ConnectorConfig& config) {
  IDSYNC_TRY(ValidateConnectorConfig(config));
  if (EqualsIgnoreCase(config.type, "csv")) {
    IDSYNC_ASSIGN(CsvOptions options, ParseCsvOptions(config));
    return std::unique_ptr<Connector>(std::make_unique<CsvConnector>(std::move(options)));
  }
  IDSYNC_ASSIGN(LdifOptions options, ParseLdifOptions(config));
  return std::unique_ptr<Connector>(std::make_unique<LdifConnector>(std::move(options)));
}

}  // namespace idsync
