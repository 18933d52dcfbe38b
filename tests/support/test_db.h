// tests/support/test_db: the backend a store test runs against, so one suite
// covers both. IDSYNC_TEST_DB=postgresql runs it on a real PostgreSQL server
// (SharedPgServer), each test in a database of its own; otherwise SQLite.
// The functions throw std::runtime_error with the reason when no database
// can be had (for PostgreSQL: not installed, server failed), which fails
// the calling test with that message.
// Thread-safety: call from the test's main thread.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

namespace idsync {

class Db;

// Whether IDSYNC_TEST_DB selects PostgreSQL.
bool TestingPostgres();

// A URL of a new, empty database that several connections may open:
// sqlite:DIR/db, or a new database on the test server.
std::string FreshTestDbUrl(const std::filesystem::path& dir);

// A connection to a new, empty database (SQLite: in memory).
std::unique_ptr<Db> OpenFreshTestDb();

}  // namespace idsync
