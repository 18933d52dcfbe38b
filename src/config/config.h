// config/config: the whole configuration of an installation as a model.
//
// Administrators write TOML files (docs/config.md); `idsync config apply`
// loads them (LoadConfigFiles), validates everything, and stores canonical
// documents in the database (ToDocuments). Every server reads its
// configuration back from the database (FromDocuments), so an activated
// standby has it at once. Expressions are parsed at load time, so a bad one
// is reported with its file, line and key before anything is stored.
// Thread-safety: plain values after loading.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/attributes.h"
#include "config/schedule.h"
#include "core/error.h"
#include "rules/expression.h"

namespace idsync {

struct ConfigDocument;

// An expression together with where it was written, for error messages.
struct Flow {
  std::string target;     // attribute written by the flow
  Expression expression;  // evaluated over the source object
  std::string where;      // "FILE:LINE key"
};

struct JoinRule {
  std::string mv_attribute;
  Expression cs_value;  // evaluated over the CS object; compared case-insensitively
  std::string where;
};

enum class Deprovision { kDelete, kDisconnect, kExplicitDisconnect };
enum class ReferenceKind { kAnchor, kDn };

struct Provisioning {
  Expression dn;                        // evaluated over the MV object
  std::optional<Expression> condition;  // provision only where true
  Deprovision deprovision = Deprovision::kDelete;
  std::string where;
};

struct MaObjectType {
  std::string name;
  std::string mv_object_type;
  std::string anchor;  // CS attribute holding the anchor, or "dn"
  std::string object_class;
  std::vector<std::string> attributes;
  std::map<std::string, ReferenceKind, CaseInsensitiveLess> references;
  std::optional<Expression> filter;  // true: filtered disconnector
  std::vector<JoinRule> join;
  bool project = false;
  std::vector<Flow> import_flows;
  std::vector<Flow> export_flows;
  std::optional<Provisioning> provisioning;
  std::string where;  // "FILE:LINE key 'ma.NAME.object_types.TYPE'"
};

struct DeletionThreshold {
  int64_t count = 0;    // 0: no count limit
  double percent = 0;   // 0: no percent limit
};

struct ManagementAgent {
  std::string name;
  std::string connector;  // "csv" | "ldif"
  std::string description;
  std::map<std::string, std::string, CaseInsensitiveLess> settings;
  std::vector<MaObjectType> object_types;
  DeletionThreshold deletion_threshold;
  int64_t error_limit = 1000;
  // The MA receives password changes (password change notification); an
  // activation warns that notification sources must be redirected first.
  bool password_sync = false;
  std::map<std::string, std::vector<std::string>> run_profiles;  // name -> step names
  std::string where;
};

enum class DeletionRule { kLastConnector, kSourceMa };

struct MvObjectType {
  std::string name;
  std::vector<std::string> attributes;
  std::vector<std::string> references;
  DeletionRule deletion = DeletionRule::kLastConnector;
  std::string deletion_ma;  // kSourceMa: deleting this MA's connector deletes the MV object
  std::string where;
};

struct Extension {
  std::string name;
  std::string code;  // Lua source
};

struct ConnectorConfig;

struct Config {
  std::vector<MvObjectType> mv_types;
  // Ranked precedence: MA names in order; MAs not listed follow by name.
  std::vector<std::string> precedence_default;
  std::string precedence_where;  // where `default` was written
  // Per attribute: an explicit order, or empty with equal = true.
  struct AttributePrecedence {
    bool equal = false;
    std::vector<std::string> order;
    std::string where;
  };
  std::map<std::string, AttributePrecedence, CaseInsensitiveLess> precedence;
  std::vector<ManagementAgent> mas;
  std::vector<Extension> extensions;
  // [[schedule]] tables, in the order written (config/schedule.h).
  std::vector<Schedule> schedules;

  const ManagementAgent* FindMa(std::string_view name) const;
  const MvObjectType* FindMvType(std::string_view name) const;
  // Rank of an MA for an attribute (lower wins); nullopt when equal precedence.
  std::optional<int> Rank(std::string_view attribute, std::string_view ma) const;
  // MV attributes used by any join rule (kept in the join-key index).
  std::vector<std::string> JoinAttributes() const;
};

// The connector's view of an MA (type, settings, object types).
ConnectorConfig ToConnectorConfig(const ManagementAgent& ma);

// Step names: "full-import", "delta-import", "full-sync", "delta-sync",
// "export", "full-import-full-sync", "full-import-delta-sync", "delta-import-delta-sync".
bool IsStepName(std::string_view step);

// Reads PATH (a .toml file or a folder of them, recursively, in name order),
// validates the whole configuration and returns it. Errors name the file,
// line and key. Relative paths in connector settings are made absolute
// against the folder of the file that holds them.
Result<Config> LoadConfigFiles(const std::string& path);

// Parses configuration from documents stored in the database.
Result<Config> FromDocuments(const std::vector<ConfigDocument>& docs);

// Canonical documents: "idsync.toml" plus "extensions/NAME.lua". Loading the
// export of these documents yields identical documents.
std::vector<ConfigDocument> ToDocuments(const Config& config);

}  // namespace idsync
