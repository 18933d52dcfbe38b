// tests/support/test_db: the backend a test runs against, so one suite
// covers both. IDSYNC_TEST_DB=postgresql runs it on a real PostgreSQL server
// (SharedPgServer: one per test process, started on first use), each test in
// a database of its own; otherwise SQLite.
// The functions throw std::runtime_error with the reason when no database
// can be had (for PostgreSQL: not installed, server failed), which fails
// the calling test with that message.
// Thread-safety: call from the test's main thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"

namespace idsync {

class Db;
class Store;

// Whether IDSYNC_TEST_DB selects PostgreSQL.
bool TestingPostgres();

// A URL of a new, empty database that several connections (and programs)
// may open: sqlite:DIR/db, or a new database on the test server. The
// SQLite file does not exist yet; the PostgreSQL database does (empty).
std::string FreshTestDbUrl(const std::filesystem::path& dir);

// A connection to a new, empty database (SQLite: in memory).
std::unique_ptr<Db> OpenFreshTestDb();

// A URL of a database that does not exist: sqlite:DIR/NAME, or a name on
// the test server that no database has.
std::string MissingTestDbUrl(const std::filesystem::path& dir, const std::string& name);

// Whether the database `url` names exists and holds at least one table
// (an SQLite file counts once it exists), i.e. whether something was
// created there.
bool TestDbHoldsTables(const std::string& url);

// A snapshot that differs whenever the database's content differs, for
// "changes nothing" checks: the SQLite file's bytes, or every PostgreSQL
// table's rows as text, sorted.
std::string TestDbSnapshot(const std::string& url);

// Makes the database unreachable under its URL (SQLite: the file is moved
// aside; PostgreSQL: the database is renamed), and back. REQUIRES: no
// connection to a PostgreSQL database is open while it is renamed.
void HideTestDb(const std::string& url);
void RestoreTestDb(const std::string& url);

// What an activation does in the database, in a write transaction of its
// own: `server` becomes active at from_epoch + 1 (Store::ActivateServer).
// Returns the new epoch, or why not (kBusy when the epoch moved on).
Result<int64_t> ActivateInOwnTransaction(Store& store, const std::string& server, int64_t from_epoch);

}  // namespace idsync
