// store/schema: the database schema and its migrations.
//
// The schema version is kept in meta('schema_version'). A program knows
// migrations up to KnownSchemaVersion(); a database at a higher version was
// upgraded by a newer release, and this program must not write to it
// (0x80230443, ErrorCode::kSchemaMismatch). A database at a lower version is
// brought up to date by `idsync-setup upgrade` (Migrate).
// Thread-safety: functions take the Db they act on.
#pragma once

#include <cstdint>
#include <string>

#include "core/error.h"

namespace idsync {

class Db;

// The schema version of this release.
inline constexpr int64_t kSchemaVersion = 6;

// kSchemaVersion plus any migrations added for testing.
int64_t KnownSchemaVersion();

// Whether `db`'s schema lists the pending exports in cs_pending_exports
// (version 6, whose migration runs on PostgreSQL only) rather than finding
// them through partial indexes of cs_objects (SQLite). Where they are
// listed, the store keeps the list equal to the rows whose pending_export
// is not 0, in the same transaction as those rows.
bool PendingExportsListed(Db& db);

// Makes this process behave like a later release whose schema adds `sql` as
// the next migration. Only for test programs that play "the server that was
// upgraded first"; never called by idsync's own programs.
void AddMigrationForTesting(std::string sql);

// The version recorded in the database; 0 for a database with no schema yet.
Result<int64_t> ReadSchemaVersion(Db& db);

// Brings an empty or older database to KnownSchemaVersion(), in one
// transaction.
// Fails with kSchemaMismatch when the database is newer than this program.
Status Migrate(Db& db);

// The same inside a write transaction the caller began (Db::BeginWrite), so
// the schema commits or rolls back together with the caller's own writes
// (DDL is transactional on both backends).
Status MigrateInTransaction(Db& db);

// Brings a database to `target` (at most KnownSchemaVersion()), as an
// older release would have left it: for tests of what a migration keeps.
// kInternal when the database is already past `target`.
Status MigrateTo(Db& db, int64_t target);

// kSchemaMismatch with both versions and what to do when `found` differs from
// what this program can write; ok otherwise.
Status CheckSchemaVersion(int64_t found, const std::string& location);

}  // namespace idsync
