// store/postgres/pg_connection: connecting with libpq and turning its
// failures into the store's errors (internal to store/postgres).
// Thread-safety: functions act only on the connection they are given.
#pragma once

#include <libpq-fe.h>

#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"
#include "store/db.h"

namespace idsync {

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

// Opens the connection and applies the session settings (see
// ApplySessionSettings); `*location` receives the URL without password.
Result<PgConnPtr> ConnectPg(const std::string& url, const DbOptions& options, std::string* location);

// Settings every session needs again after a reconnection: the lock timeout
// and, for a read-only Db, read-only transactions.
Status ApplySessionSettings(PGconn* conn, const DbOptions& options, const std::string& location);

// The error of a failed command (`result` may be null): kBusy for lock
// timeouts, serialization failures and deadlocks; kDatabase "connection to
// ... lost" when the connection broke; kIo for a full disk; kDatabase else.
Error PgError(PGconn* conn, const PGresult* result, std::string_view what, const std::string& location);

}  // namespace idsync
