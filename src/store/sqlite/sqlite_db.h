// store/sqlite: the embedded default backend (one database file, WAL mode).
// Thread-safety: one SqliteDb per thread; several processes may open the same
// file (SQLite's locking serialises writers; readers run beside them in WAL).
// Inside a write transaction, sent writes and inserts whose id can be told
// ahead run on a writer thread of the Db, on the same connection, while the
// caller goes on (write_queue.h); a checkpointer thread with a connection of
// its own copies the log back (wal_checkpointer.h).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "store/db.h"

namespace idsync {

// Opens PATH (":memory:" for a private in-memory database used by fast tests).
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const DbOptions& options);

// For tests, on a Db that OpenSqlite opened (others are left alone): holds
// the writer thread until the next call on the Db that waits for it, and
// counts the writes queued and not yet started.
void PauseSqliteWritesForTesting(Db& db);
size_t QueuedSqliteWritesForTesting(Db& db);

}  // namespace idsync
