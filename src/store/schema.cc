#include "store/schema.h"

#include <algorithm>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "store/db.h"

namespace idsync {
namespace {

// Written for both backends: no AUTOINCREMENT, BLOB columns, `?` placeholders.
// cs_objects_dn only holds objects whose DN is not their anchor (for
// DN-anchored objects the unique anchor index already finds them by DN).
// cs_objects.link_state: 0 normal disconnector, 1 connector, 2 explicit
// disconnector, 3 filtered disconnector. pending_import: 0 none, 1 add,
// 2 update, 3 delete. pending_export: 0 none, 1 add, 2 update, 3 delete.
// Version 4: the join-key index and the reverse-reference index become
// tables clustered on their primary key (SQLite's WITHOUT ROWID; PostgreSQL's
// DDL translation drops the clause), so a new row is written to one b-tree
// plus the secondary index instead of a rowid table, its primary-key index
// and the secondary index. Each table is rebuilt through a temporary copy, so
// that the rebuilt table, its constraints and indexes keep their names on
// both backends.
constexpr const char kVersion4ClusteredIndexTables[] = R"sql(
CREATE TEMP TABLE mv_keys_v3 AS SELECT attr, value, mv_id FROM mv_keys;
DROP TABLE mv_keys;
CREATE TABLE mv_keys (
  attr TEXT NOT NULL,
  value TEXT NOT NULL,
  mv_id INTEGER NOT NULL,
  PRIMARY KEY (attr, value, mv_id)) WITHOUT ROWID;
INSERT INTO mv_keys (attr, value, mv_id) SELECT attr, value, mv_id FROM mv_keys_v3 ORDER BY attr, value, mv_id;
DROP TABLE mv_keys_v3;
CREATE INDEX mv_keys_object ON mv_keys (mv_id);
CREATE TEMP TABLE mv_refs_v3 AS SELECT to_id, from_id FROM mv_refs;
DROP TABLE mv_refs;
CREATE TABLE mv_refs (
  to_id INTEGER NOT NULL,
  from_id INTEGER NOT NULL,
  PRIMARY KEY (to_id, from_id)) WITHOUT ROWID;
INSERT INTO mv_refs (to_id, from_id) SELECT to_id, from_id FROM mv_refs_v3 ORDER BY to_id, from_id;
DROP TABLE mv_refs_v3;
CREATE INDEX mv_refs_from ON mv_refs (from_id);
)sql";

constexpr const char* kMigrations[] = {
    // Version 1.
    R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cluster (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  active_server TEXT,
  epoch INTEGER NOT NULL DEFAULT 0);
INSERT INTO cluster (id, active_server, epoch) VALUES (1, NULL, 0);
CREATE TABLE servers (
  name TEXT PRIMARY KEY,
  home TEXT NOT NULL,
  registered_at TEXT NOT NULL,
  heartbeat_at TEXT,
  state TEXT NOT NULL);
CREATE TABLE service_account (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  domain TEXT NOT NULL,
  name TEXT NOT NULL,
  password_hash TEXT NOT NULL);
CREATE TABLE role_groups (role TEXT PRIMARY KEY, scope TEXT NOT NULL, name TEXT NOT NULL);
CREATE TABLE config_documents (name TEXT PRIMARY KEY, content TEXT NOT NULL);
CREATE TABLE management_agents (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE cs_objects (
  id INTEGER PRIMARY KEY,
  ma_id INTEGER NOT NULL,
  anchor TEXT NOT NULL,
  dn TEXT NOT NULL,
  object_type TEXT NOT NULL,
  attrs BLOB,
  link_state INTEGER NOT NULL DEFAULT 0,
  mv_id INTEGER,
  pending_import INTEGER NOT NULL DEFAULT 0,
  pending_export INTEGER NOT NULL DEFAULT 0,
  export_attrs BLOB,
  export_dn TEXT,
  export_batch INTEGER,
  UNIQUE (ma_id, anchor));
CREATE INDEX cs_objects_dn ON cs_objects (ma_id, dn) WHERE dn <> anchor;
CREATE INDEX cs_objects_mv ON cs_objects (mv_id, ma_id) WHERE mv_id IS NOT NULL;
CREATE INDEX cs_objects_pending_import ON cs_objects (ma_id, id) WHERE pending_import <> 0;
CREATE INDEX cs_objects_pending_export ON cs_objects (ma_id, id) WHERE pending_export <> 0;
CREATE INDEX cs_objects_pending_delete ON cs_objects (ma_id) WHERE pending_export = 3;
CREATE INDEX cs_objects_export_batch ON cs_objects (export_batch, id) WHERE export_batch IS NOT NULL;
CREATE TABLE mv_objects (
  id INTEGER PRIMARY KEY,
  object_type TEXT NOT NULL,
  attrs BLOB,
  contributors BLOB);
CREATE TABLE mv_keys (
  attr TEXT NOT NULL,
  value TEXT NOT NULL,
  mv_id INTEGER NOT NULL,
  PRIMARY KEY (attr, value, mv_id));
CREATE INDEX mv_keys_object ON mv_keys (mv_id);
CREATE TABLE mv_refs (
  to_id INTEGER NOT NULL,
  from_id INTEGER NOT NULL,
  PRIMARY KEY (to_id, from_id));
CREATE INDEX mv_refs_from ON mv_refs (from_id);
CREATE TABLE ref_waits (
  ma_id INTEGER NOT NULL,
  value TEXT NOT NULL,
  cs_id INTEGER NOT NULL,
  PRIMARY KEY (ma_id, value, cs_id));
CREATE INDEX ref_waits_cs ON ref_waits (cs_id);
CREATE TABLE export_waits (
  ma_id INTEGER NOT NULL,
  to_id INTEGER NOT NULL,
  from_id INTEGER NOT NULL,
  PRIMARY KEY (ma_id, to_id, from_id));
CREATE TABLE runs (
  id INTEGER PRIMARY KEY,
  ma TEXT NOT NULL,
  profile TEXT NOT NULL,
  status TEXT NOT NULL,
  server TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT,
  counters TEXT NOT NULL DEFAULT '{}');
CREATE TABLE run_errors (
  run_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  object TEXT NOT NULL,
  location TEXT NOT NULL,
  error TEXT NOT NULL,
  message TEXT NOT NULL,
  PRIMARY KEY (run_id, seq));
CREATE TABLE run_locks (
  ma TEXT PRIMARY KEY,
  run_id INTEGER NOT NULL,
  server TEXT NOT NULL,
  pid INTEGER NOT NULL,
  started_at TEXT NOT NULL);
CREATE TABLE export_batches (
  id INTEGER PRIMARY KEY,
  ma_id INTEGER NOT NULL,
  state TEXT NOT NULL,
  created_at TEXT NOT NULL);
)sql",
    // Version 2: warm standby. Servers report their service's state and
    // heartbeat (heartbeat_ms: Unix milliseconds, compared with the interval
    // the server itself declares); the key set's id and per-version check
    // values (never the keys); management agent secrets, sealed under the key
    // set; principals for domain role groups; every change of the active
    // server; events a server records about itself (started, stopped,
    // deposed).
    R"sql(
ALTER TABLE servers ADD COLUMN host TEXT;
ALTER TABLE servers ADD COLUMN version TEXT;
ALTER TABLE servers ADD COLUMN pid INTEGER;
ALTER TABLE servers ADD COLUMN api TEXT;
ALTER TABLE servers ADD COLUMN role TEXT;
ALTER TABLE servers ADD COLUMN epoch INTEGER;
ALTER TABLE servers ADD COLUMN heartbeat_ms INTEGER;
ALTER TABLE servers ADD COLUMN heartbeat_interval_ms INTEGER;
ALTER TABLE servers ADD COLUMN started_at TEXT;
ALTER TABLE servers ADD COLUMN stopped_at TEXT;
CREATE TABLE key_set (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  set_id TEXT NOT NULL,
  active_version INTEGER NOT NULL,
  updated_at TEXT NOT NULL);
CREATE TABLE key_checks (
  version INTEGER PRIMARY KEY,
  check_value TEXT NOT NULL,
  created_at TEXT NOT NULL);
CREATE TABLE ma_secrets (
  ma TEXT NOT NULL,
  name TEXT NOT NULL,
  sealed TEXT NOT NULL,
  key_version INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (ma, name));
CREATE TABLE principals (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  domain TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at TEXT NOT NULL,
  UNIQUE (domain, name));
CREATE TABLE principal_members (
  group_id INTEGER NOT NULL,
  member_id INTEGER NOT NULL,
  PRIMARY KEY (group_id, member_id));
CREATE TABLE activations (
  id INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  server TEXT NOT NULL,
  previous_server TEXT,
  from_epoch INTEGER NOT NULL,
  to_epoch INTEGER NOT NULL,
  account TEXT NOT NULL,
  os_user TEXT NOT NULL,
  at TEXT NOT NULL);
CREATE TABLE server_events (
  id INTEGER PRIMARY KEY,
  server TEXT NOT NULL,
  at TEXT NOT NULL,
  event TEXT NOT NULL,
  detail TEXT NOT NULL);
)sql",
    // Version 3: the digest of the source record an object was last staged
    // from (engine/import.cc), so a delta import of a whole-file source
    // recognises an unchanged record before building it. NULL when the
    // object's state was last written by anything else. The partial index
    // lets an import read every digest of its MA without table pages.
    R"sql(
ALTER TABLE cs_objects ADD COLUMN import_digest BLOB;
CREATE INDEX cs_objects_import_digest ON cs_objects (ma_id, id, import_digest) WHERE import_digest IS NOT NULL;
)sql",
    kVersion4ClusteredIndexTables,
    // Version 5: export batches without writing their rows (engine/export.cc).
    // A batch is the range of ids (after_id, last_id] of the pending exports
    // it covers; cs_objects.export_gen counts the changes of a row's export
    // state, so that an export confirms only what it wrote. The unused
    // column export_batch stays (dropping a column rewrites the table in
    // SQLite); a batch left open by the previous release gets the range of
    // its rows, and is written again as such.
    R"sql(
ALTER TABLE cs_objects ADD COLUMN export_gen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE export_batches ADD COLUMN after_id INTEGER NOT NULL DEFAULT 0;
ALTER TABLE export_batches ADD COLUMN last_id INTEGER NOT NULL DEFAULT 0;
UPDATE export_batches SET
  after_id = COALESCE((SELECT min(id) - 1 FROM cs_objects WHERE export_batch = export_batches.id), 0),
  last_id = COALESCE((SELECT max(id) FROM cs_objects WHERE export_batch = export_batches.id), 0)
  WHERE state = 'open';
UPDATE cs_objects SET export_batch = NULL WHERE export_batch IS NOT NULL;
DROP INDEX cs_objects_export_batch;
)sql",
    // Version 6: on PostgreSQL, the pending exports are listed in a table
    // of their own instead of partial indexes of cs_objects whose predicates
    // name pending_export. PostgreSQL writes the new version of an updated
    // row without new index entries (a HOT update, into the same page) only
    // when no column that an index names changes, and with pending_export
    // in the predicates no confirmation of an export ever was one: each
    // added entries to the primary key, anchor and MV indexes. The store keeps
    // cs_pending_exports equal to the rows with pending_export <> 0, in the
    // statements that change it. The lower fill factor leaves room in each
    // page for the new versions of its rows. SQLite has no such update:
    // there this version changes nothing (kPostgresqlOnly).
    R"sql(
CREATE TABLE cs_pending_exports (
  id INTEGER NOT NULL,
  ma_id INTEGER NOT NULL,
  PRIMARY KEY (id));
INSERT INTO cs_pending_exports (id, ma_id) SELECT id, ma_id FROM cs_objects WHERE pending_export <> 0;
DROP INDEX cs_objects_pending_export;
DROP INDEX cs_objects_pending_delete;
ALTER TABLE cs_objects SET (fillfactor = 70);
)sql",
};

static_assert(std::size(kMigrations) == kSchemaVersion, "one migration per schema version");

// Versions whose migration runs on PostgreSQL only (elsewhere the version
// number alone moves).
constexpr int64_t kPostgresqlOnly[] = {6};

bool RunsOn(Db& db, int64_t version) {
  return db.Backend() == "postgresql" || std::find(std::begin(kPostgresqlOnly), std::end(kPostgresqlOnly),
                                                   version) == std::end(kPostgresqlOnly);
}

// Migrations a test added to play a newer release (see schema.h).
std::vector<std::string>& ExtraMigrations() {
  static std::vector<std::string> extra;
  return extra;
}

}  // namespace

bool PendingExportsListed(Db& db) { return RunsOn(db, 6); }

Result<int64_t> ReadSchemaVersion(Db& db) {
  IDSYNC_ASSIGN(bool has_meta, db.TableExists("meta"));
  if (!has_meta) return 0;
  IDSYNC_ASSIGN(Statement * st, db.Prepare("SELECT value FROM meta WHERE key = 'schema_version'"));
  IDSYNC_ASSIGN(bool found, st->Step());
  if (!found) return 0;
  std::string text(st->ColumnText(0));
  st->Reset();
  try {
    return std::stoll(text);
  } catch (...) {
    return Fail(ErrorCode::kDatabase, "schema_version in the database is not a number: " + text);
  }
}

int64_t KnownSchemaVersion() { return kSchemaVersion + static_cast<int64_t>(ExtraMigrations().size()); }

void AddMigrationForTesting(std::string sql) { ExtraMigrations().push_back(std::move(sql)); }

Status CheckSchemaVersion(int64_t found, const std::string& location) {
  const int64_t known = KnownSchemaVersion();
  if (found == known) return {};
  if (found > known) {
    return Fail(ErrorCode::kSchemaMismatch,
                fmt::format("database {} has schema version {} but this program knows version {}; "
                            "update this server to the same idsync release as the server that "
                            "upgraded the database, then run the command again",
                            location, found, known));
  }
  return Fail(ErrorCode::kSchemaMismatch,
              fmt::format("database {} has schema version {} but this program needs version {}; "
                          "run `idsync-setup upgrade` to apply the newer schema",
                          location, found, known));
}

namespace {

Status MigrateInTransactionTo(Db& db, int64_t target) {
  IDSYNC_TRY(db.LockForMigration());
  IDSYNC_ASSIGN(int64_t version, ReadSchemaVersion(db));
  const int64_t known = KnownSchemaVersion();
  if (version > known) return CheckSchemaVersion(version, db.Location());
  if (target > known || target < version) {
    return Fail(ErrorCode::kInternal, fmt::format("cannot migrate schema version {} to {}", version, target));
  }
  for (int64_t v = version; v < target; ++v) {
    std::string_view sql = v < kSchemaVersion ? std::string_view(kMigrations[v])
                                               : std::string_view(ExtraMigrations()[v - kSchemaVersion]);
    if (!RunsOn(db, v + 1)) continue;
    auto st = db.Exec(sql);
    if (!st) return Wrap(st.error(), fmt::format("migration to schema version {}", v + 1));
  }
  IDSYNC_ASSIGN(Statement * set,
                db.Prepare("INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                           "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  set->BindText(1, std::to_string(target));
  IDSYNC_TRY(set->Step());
  set->Reset();
  return {};
}

}  // namespace

Status Migrate(Db& db) { return MigrateTo(db, KnownSchemaVersion()); }

Status MigrateInTransaction(Db& db) { return MigrateInTransactionTo(db, KnownSchemaVersion()); }

Status MigrateTo(Db& db, int64_t target) {
  IDSYNC_TRY(db.BeginWrite());
  Transaction txn(db);
  IDSYNC_TRY(MigrateInTransactionTo(db, target));
  return txn.Commit();
}

}  // namespace idsync
