// store/postgres: the backend for a database shared across hosts.
//
// Built on libpq itself rather than libpqxx: the store needs only prepared
// statements, and libpq keeps direct control of the wire protocol (binary
// parameters and results, pipelining and COPY for the bulk paths) without
// exceptions to translate at the seam.
//
// A URL is a libpq connection URI (postgresql://USER@HOST:PORT/DBNAME?...),
// passed to libpq as is, so `sslmode`, `sslrootcert`, `passfile` and the
// other parameters work; the password comes from the URI, `passfile=`,
// PGPASSFILE or ~/.pgpass. Location() names user, host, port and database,
// never the password.
//
// Behaviour matching the SQLite backend: transactions run at READ COMMITTED;
// LockClusterRow() reads the cluster row FOR SHARE, so an activation (which
// updates that row) waits for this transaction and every later one sees the
// new epoch; LockForMigration() takes a transaction-scoped advisory lock.
// Lock waits end after DbOptions::busy_timeout_ms with kBusy, as do
// serialization failures and deadlocks. A lost connection fails the current
// call with kDatabase ("connection to ... lost"); the next call outside a
// transaction reconnects. `create_if_missing` does not create a database:
// a missing one is kNotFound.
//
// Round trips: inside a transaction, statements run with Send wait in
// libpq's pipeline and go to the server with the next statement that is
// stepped (one round trip for all of them), before Exec, Commit and
// Rollback, or every 1,000 statements; the first error among them is what
// that call returns, and the server skips everything after it. An insert
// that returns its generated id (`INSERT INTO t (...) VALUES (...)
// RETURNING id` on a table with an identity column, nothing more) takes an
// id reserved from the table's sequence, answers its row at once and is
// sent the same way; ids a transaction reserved but did not use are
// skipped. Sent executions of one insert, update or delete go to the
// server as one statement over arrays of their parameters (see Coalesced in
// pg_sql.h: only where that provably changes what the executions one by
// one would, with the same error), also when writes of other tables came
// between them (they commute: the store's tables have no triggers or
// foreign keys), and an insert of a row whose id is given moves past
// updates of the same table by other ids that set no column of a unique
// index; anything else of the same table keeps its place. An insert that
// may conflict (`ON CONFLICT ... DO NOTHING RETURNING id`), stepped with
// StepAssumingInsert inside a transaction, takes a reserved id, is sent
// the same way without RETURNING, and the rows it inserted are counted
// when its result comes; AssumedInsertsHeld collects every result and
// answers whether each such insert inserted its row. Queries with 32
// parameters or more (the store's lookups of many keys) are planned at
// each execution. After a commit, a table this session has inserted at
// least 1,000 rows into, and at least as many as it held when last
// analyzed, is analyzed (ANALYZE (SKIP_LOCKED), outside the transaction),
// so that those plans follow a table the session is filling faster than
// autovacuum looks at it.
// Thread-safety: one PgDb per thread, like every Db.
#pragma once

#include <memory>
#include <string>

#include "store/db.h"

namespace idsync {

// Connects to the database URL names. Fails with kNotFound when the database
// does not exist and kDatabase otherwise (unreachable server, refused
// authentication, bad URL), naming host, port, database and user.
Result<std::unique_ptr<Db>> OpenPostgres(const std::string& url, const DbOptions& options);

}  // namespace idsync
