// connectors/connector_config: builds a Connector from a management agent's
// settings.
//
// The config module turns the TOML file into a ConnectorConfig; this module
// checks the settings for the connector type and creates the connector.
// Validation never touches the file system, so it can run anywhere (config
// check, CI). Known types: "csv" and "ldif"; see ConnectorSettings() for the
// keys each accepts.
// Thread-safety: free functions on plain values; safe from any thread.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.h"
#include "core/attributes.h"
#include "core/error.h"

namespace idsync {

// An object type the management agent handles, e.g. "user" with LDAP object
// class "inetOrgPerson" and the attributes the agent reads and writes.
struct ConnectorObjectType {
  std::string name;
  std::string object_class;             // may be empty
  std::vector<std::string> attributes;  // CSV export writes these columns, in order
};

struct ConnectorConfig {
  std::string type;      // "csv" or "ldif"
  std::string ma_name;   // used in messages
  std::string base_dir;  // relative paths in settings resolve against this
  std::map<std::string, std::string, CaseInsensitiveLess> settings;
  std::vector<ConnectorObjectType> object_types;  // at least one
};

// One settings key a connector type accepts.
struct ConnectorSetting {
  std::string_view key;
  bool required;
  std::string_view description;
};

// The connector types CreateConnector() knows, in documentation order.
std::span<const std::string_view> ConnectorTypes();

// Settings keys `type` accepts (matched case-insensitively), in documentation
// order; empty for an unknown type.
std::span<const ConnectorSetting> ConnectorSettings(std::string_view type);

// Checks the type, the object types and the settings keys and values without
// touching files. On failure returns kConfig with a message that names the
// management agent and the bad key and says what is allowed.
Status ValidateConnectorConfig(const ConnectorConfig& config);

// For connector implementations: the kConfig error "management agent 'MA':
// setting 'KEY' PROBLEM".
Error ConnectorSettingError(const ConnectorConfig& config, std::string_view key, std::string_view problem);

// Validates `config` (same errors as above) and creates the connector; files
// are opened only when the connector is used. The caller owns the result.
Result<std::unique_ptr<Connector>> CreateConnector(const ConnectorConfig& config);

}  // namespace idsync
