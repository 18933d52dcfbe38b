// store/db: the SQL seam under the Store. One Db is one connection to the
// shared database; backends (SQLite now, PostgreSQL later) implement it.
//
// SQL text given to Prepare uses `?` placeholders and the dialect both backends
// accept (INSERT ... ON CONFLICT, RETURNING, partial indexes); a backend
// rewrites placeholders if it must. Statements are cached per connection and
// owned by the Db; a Statement pointer stays valid until the Db is destroyed.
// Thread-safety: a Db and its statements belong to one thread (a backend
// may run sent writes on a thread of its own, invisibly to the caller).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

class Statement {
 public:
  virtual ~Statement() = default;
  // Parameters are 1-based. Text and blobs are copied by the backend.
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindText(int index, std::string_view value) = 0;
  virtual void BindBlob(int index, std::string_view value) = 0;
  virtual void BindNull(int index) = 0;
  // Runs the statement or fetches the next row: true while a row is available.
  virtual Result<bool> Step() = 0;
  // Runs a statement whose rows and ChangedRows the caller will not read
  // (most INSERT/UPDATE/DELETE). Inside a transaction a backend may send it
  // without waiting for the server (PostgreSQL queues it in a pipeline): its
  // error is then returned by a later call on this Db (the next Step, Exec,
  // Commit, or Prepare of a new statement), and the transaction fails as a
  // whole. Sent writes may reach the database in another order than they
  // were sent, but never past a statement that is stepped (a read), Exec,
  // Commit or Rollback, and never past an earlier write of the same table
  // (writes of different tables commute: the store's tables have no
  // triggers or foreign keys); when several would fail, which one's error
  // comes back is not defined. SQLite queues it for a writer thread of the
  // Db on the same connection, which runs the queue in order while the
  // caller goes on; every other call first waits for the queue (outside a
  // transaction, or while a statement of the Db holds a row, it runs at
  // once). Reset the statement afterwards, as after Step. (Both backends
  // treat an insert that returns its generated id the same way inside a
  // write transaction: Step answers the id the insert will take, reserved
  // by PostgreSQL, the largest rowid plus one in SQLite, whose write lock
  // keeps every other writer out; the insert's error comes later.)
  virtual Status Send() { return Step().map([](bool) {}); }
  // For an `INSERT ... ON CONFLICT ... DO NOTHING RETURNING id` that the
  // caller expects to insert: like Step, except that a backend may answer
  // the row the insert gives when it does insert (with an id it reserved)
  // and send it without waiting, like Send. Whether every such insert of
  // the transaction did insert is told by Db::AssumedInsertsHeld; one that
  // did not changed nothing, and what the caller did believing it had must
  // be rolled back. The default runs Step, whose answer is exact; both
  // backends answer ahead inside a write transaction.
  virtual Result<bool> StepAssumingInsert() { return Step(); }
  // Columns are 0-based; views stay valid until the next Step or Reset.
  virtual bool IsNull(int column) = 0;
  virtual int64_t ColumnInt(int column) = 0;
  virtual std::string_view ColumnText(int column) = 0;
  virtual std::string_view ColumnBlob(int column) = 0;
  // Makes the statement ready for new bindings; called by Db::Prepare too.
  virtual void Reset() = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE run by Step (not by
  // Send, nor by an insert whose id was answered ahead).
  virtual int64_t ChangedRows() = 0;
};

class Db {
 public:
  virtual ~Db() = default;
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Returns a cached, reset statement. Fails with kDatabase on bad SQL.
  virtual Result<Statement*> Prepare(std::string_view sql) = 0;
  // Runs one or more statements without results (DDL, pragmas).
  virtual Status Exec(std::string_view sql) = 0;
  // A write transaction takes the database's write lock at once, so that a
  // fencing check made inside it holds until commit. kBusy if another
  // process holds the lock beyond the busy timeout.
  virtual Status BeginWrite() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  virtual bool InTransaction() const = 0;
  // Whether a table exists (used to tell an empty database from an old one).
  virtual Result<bool> TableExists(std::string_view name) = 0;
  // Fencing, inside a write transaction before the epoch is read: makes an
  // activation's update of the cluster row wait until this transaction ends,
  // and the read that follows see the latest committed epoch. PostgreSQL
  // reads the row FOR SHARE; SQLite's write lock already does both.
  virtual Status LockClusterRow() { return {}; }
  // Inside a migration's transaction, before the schema version is read:
  // keeps two programs from migrating at once. PostgreSQL takes an advisory
  // lock; SQLite's write lock already does it.
  virtual Status LockForMigration() { return {}; }
  // Whether every insert stepped with Statement::StepAssumingInsert in the
  // open transaction inserted its row, collecting the answers of what was
  // sent. Call it before Commit: a false answer means the transaction holds
  // work done on a wrong assumption, to be rolled back. Fails like Commit
  // when a sent statement failed. The default (exact answers) is true.
  virtual Result<bool> AssumedInsertsHeld() { return true; }
  // "sqlite" or "postgresql".
  virtual std::string_view Backend() const = 0;
  // Where the database is, for messages ("sqlite:/var/lib/idsync/idsync.db").
  virtual const std::string& Location() const = 0;
};

struct DbOptions {
  bool create_if_missing = false;  // false: a missing SQLite file is kNotFound
  bool read_only = false;
  int busy_timeout_ms = 5000;
  // SQLite: pages of write-ahead log between checkpoints (0: the default).
  // The log is kept within 16 times that. Tests make it small.
  int sqlite_checkpoint_pages = 0;
  // SQLite: whether a write transaction's sent writes run on a writer
  // thread (false: on the caller's thread, as they are stepped). OpenDb
  // sets it false when IDSYNC_SQLITE_WRITER_THREAD is "off".
  bool sqlite_writer_thread = true;
};

// Rolls back on destruction unless Commit() succeeded. Use for every
// transaction so an early `return` on error never leaves one open.
class Transaction {
 public:
  explicit Transaction(Db& db) : db_(db) {}
  ~Transaction() {
    if (!done_) db_.Rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Status Commit() {
    done_ = true;
    auto st = db_.Commit();
    if (!st) db_.Rollback();
    return st;
  }

 private:
  Db& db_;
  bool done_ = false;
};

// The file an SQLite URL names ("sqlite:PATH" or a bare path); empty for a
// URL of another backend.
std::string SqliteFileOf(std::string_view url);

// Opens a database from a URL: "sqlite:PATH" (or a bare path), or a libpq
// URI "postgresql://..." / "postgres://..." (see store/postgres/pg_db.h).
// Errors say what was wrong with the URL or why the database could not be
// opened.
Result<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options);

}  // namespace idsync
