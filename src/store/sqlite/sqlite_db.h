// store/sqlite: the embedded default backend (one database file, WAL mode).
// Thread-safety: one SqliteDb per thread; several processes may open the same
// file (SQLite's locking serialises writers; readers run beside them in WAL).
#pragma once

#include <memory>
#include <string>

#include "store/db.h"

namespace idsync {

// Opens PATH (":memory:" for a private in-memory database used by fast tests).
Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const DbOptions& options);

}  // namespace idsync
