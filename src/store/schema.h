// store/schema: the database schema and its migrations.
//
// The schema version is kept in meta('schema_version'). A program knows
// migrations up to kSchemaVersion; a database at a higher version was
// upgraded by a newer release, and this program must not write to it
// (0x80230443, ErrorCode::kSchemaMismatch).
// Thread-safety: functions take the Db they act on.
#pragma once

#include <cstdint>

#include "core/error.h"

namespace idsync {

class Db;

inline constexpr int64_t kSchemaVersion = 1;

// The version recorded in the database; 0 for a database with no schema yet.
Result<int64_t> ReadSchemaVersion(Db& db);

// Brings an empty or older database to kSchemaVersion, in one transaction.
// Fails with kSchemaMismatch when the database is newer than this program.
Status Migrate(Db& db);

// kSchemaMismatch with both versions and what to do when `found` differs from
// what this program can write; ok otherwise.
Status CheckSchemaVersion(int64_t found, const std::string& location);

}  // namespace idsync
