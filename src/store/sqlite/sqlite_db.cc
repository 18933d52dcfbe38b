#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/sqlite/write_queue.h"
#include "store/sqlite/write_turns.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>
#include <sys/stat.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace idsync {
namespace {

// SQLite runs `RETURNING` through a temporary trigger, which makes every
// such insert keep a statement journal (a copy of each page it changes). A
// one-row `INSERT ... RETURNING id` into a table whose id is its rowid runs
// without the clause instead: the row it returns is the rowid SQLite
// assigned, or no row when ON CONFLICT ... DO NOTHING skipped the insert.
constexpr std::string_view kReturningId = " RETURNING id";

// What a statement may do to the rowids of a table: a new id is the
// largest rowid plus one, which inserts and deletes change.
enum class Writes { kNothing, kUpdate, kInsertOrDelete, kUnknown };

class SqliteDb;

class SqliteStatement final : public Statement {
 public:
  // `returns_rowid`: the SQL is such an insert with the clause removed.
  SqliteStatement(SqliteDb& owner, sqlite3* db, sqlite3_stmt* stmt, const std::string& location, bool returns_rowid,
                  bool may_skip, Writes writes, std::string table, bool rolls_back_to)
      : owner_(owner),
        db_(db),
        stmt_(stmt),
        location_(location),
        returns_rowid_(returns_rowid),
        may_skip_(may_skip),
        writes_(writes),
        table_(std::move(table)),
        rolls_back_to_(rolls_back_to) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  // Bindings are kept until the statement runs, here or on the writer thread.
  void BindInt(int i, int64_t v) override { bindings_.Int(i, v); }
  void BindText(int i, std::string_view v) override { bindings_.Text(i, v); }
  void BindBlob(int i, std::string_view v) override { bindings_.Blob(i, v); }
  void BindNull(int i) override { bindings_.Null(i); }

  Result<bool> Step() override;
  Status Send() override;
  Result<bool> StepAssumingInsert() override;
  bool IsNull(int c) override { return !inserted_id_ && sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t ColumnInt(int c) override { return inserted_id_ ? *inserted_id_ : sqlite3_column_int64(stmt_, c); }
  std::string_view ColumnText(int c) override {
    if (inserted_id_) return {};
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, c)) : std::string_view();
  }
  std::string_view ColumnBlob(int c) override {
    if (inserted_id_) return {};
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, c)) : std::string_view();
  }
  void Reset() override;
  int64_t ChangedRows() override { return changed_rows_; }

 private:
  friend class SqliteDb;
  void Release();  // no longer holds a row

  SqliteDb& owner_;
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string& location_;
  const bool returns_rowid_;
  const bool may_skip_;  // ON CONFLICT ... DO NOTHING: an insert may insert nothing
  const Writes writes_;
  const std::string table_;  // the table it inserts into or deletes from
  const bool rolls_back_to_;  // ROLLBACK TO a savepoint
  SqliteBindings bindings_;
  bool holds_row_ = false;              // stepped here to a row, not yet reset
  std::optional<int64_t> inserted_id_;  // the row a rowid-returning insert produced
  int64_t changed_rows_ = 0;            // of its last run here
};

class SqliteDb final : public Db {
 public:
  // `queue_writes`: DbOptions::sqlite_writer_thread.
  SqliteDb(sqlite3* db, std::string location, const std::string& turns_path, bool queue_writes)
      : db_(db), location_(std::move(location)), turns_(turns_path), writes_(db, location_),
        queue_writes_(queue_writes) {}
  ~SqliteDb() override {
    writes_.Discard();
    cache_.clear();
    // Its connection closes first, so that this one, the last, copies the
    // rest of the log and removes it.
    checkpointer_.reset();
    sqlite3_close_v2(db_);
  }

  // Commits leave the write-ahead log to a checkpointer thread instead of
  // copying it back on this thread (wal_checkpointer.h).
  void CheckpointOnAThread(const std::string& path, int step_pages, int limit_pages) {
    checkpointer_ = std::make_unique<WalCheckpointer>(path, step_pages, limit_pages);
    sqlite3_wal_hook(db_, &SqliteDb::OnCommit, this);
  }

  Result<Statement*> Prepare(std::string_view sql) override {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      it->second->Reset();
      return it->second.get();
    }
    IDSYNC_TRY(Settle());
    bool returns_rowid = InsertsIntoRowidTable(sql);
    std::string_view run = returns_rowid ? sql.substr(0, sql.size() - kReturningId.size()) : sql;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, run.data(), static_cast<int>(run.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(SqliteError(db_, rc, "prepare", location_));
    std::string table;
    Writes writes = WritesOf(sql, sqlite3_stmt_readonly(stmt) != 0, &table);
    bool may_skip = sql.find(" ON CONFLICT ") != std::string_view::npos;
    bool rolls_back_to = sql.starts_with("ROLLBACK TO ");
    auto owned = std::make_unique<SqliteStatement>(*this, db_, stmt, location_, returns_rowid, may_skip, writes,
                                                   std::move(table), rolls_back_to);
    Statement* raw = owned.get();
    cache_.emplace(std::string(sql), std::move(owned));
    return raw;
  }

  Status Exec(std::string_view sql) override {
    IDSYNC_TRY(Settle());
    next_ids_.clear();
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    in_write_ = in_write_ && !sqlite3_get_autocommit(db_);
    if (rc == SQLITE_OK && sql.starts_with("ROLLBACK TO ")) RolledBackToSavepoint();
    if (rc != SQLITE_OK) {
      Error e = SqliteError(db_, rc, "statement", location_);
      sqlite3_free(err);
      return tl::unexpected(e);
    }
    return {};
  }

  // Lets a writer of another connection that waits for the lock go first,
  // then waits for the lock itself in short steps, visibly to others
  // (write_turns.h), up to the busy timeout.
  Status BeginWrite() override {
    turns_.YieldToWaiters(std::chrono::milliseconds(busy_timeout_ms_));
    auto st = Begin("BEGIN IMMEDIATE");
    turns_.StopWaiting();
    if (st) StartTransaction();
    return st;
  }
  void SetBusyTimeout(int ms) {
    busy_timeout_ms_ = ms;

    sqlite3_busy_handler(db_, &SqliteDb::OnBusy, this);
  }
  Status Commit() override {
    IDSYNC_TRY(Settle());
    if (failed_)
      return Fail(ErrorCode::kDatabase,
                  fmt::format("database {}: the transaction cannot commit: one of its writes failed", location_));
    IDSYNC_TRY(Exec("COMMIT"));
    EndTransaction();
    return {};
  }
  void Rollback() override {
    writes_.Discard();
    EndTransaction();
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool InTransaction() const override {
    writes_.WaitKeepingError();
    return !sqlite3_get_autocommit(db_);
  }
  Result<bool> TableExists(std::string_view name) override {
    IDSYNC_ASSIGN(Statement * st,
                  Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    st->BindText(1, name);
    IDSYNC_ASSIGN(bool row, st->Step());
    bool exists = row && st->ColumnInt(0) > 0;
    st->Reset();
    return exists;
  }
  // An insert answered ahead that did not insert, or took another id,
  // is a failed answer; a failed write is an error, as at Commit.
  Result<bool> AssumedInsertsHeld() override {
    auto st = Settle();
    if (!writes_.AnswersHeld()) return false;
    if (!st) return tl::unexpected(st.error());
    if (failed_)
      return Fail(ErrorCode::kDatabase, fmt::format("database {}: one of the transaction's writes failed", location_));
    return true;
  }
  std::string_view Backend() const override { return "sqlite"; }
  const std::string& Location() const override { return location_; }

  // The writer thread (write_queue.h) runs a statement sent inside a write
  // transaction, unless a statement here holds a row (reading its columns
  // while the thread uses the connection would use it from two threads).
  bool Queue(SqliteStatement& s) {
    if (!CanQueue()) return false;
    ForgetIdsChangedBy(s);
    writes_.Push(s.stmt_, s.bindings_);
    return true;
  }

  // For a one-row insert into a rowid table: answers the id it will take
  // (the largest rowid plus one, read once per table and transaction: this
  // connection holds the write lock, so no one else inserts) and queues it.
  // False when it must run at once.
  Result<bool> AnswerAhead(SqliteStatement& s, bool may_not_insert) {
    if (!CanQueue()) return false;
    auto it = next_ids_.find(s.table_);
    if (it == next_ids_.end()) {
      IDSYNC_TRY(Settle());
      auto next = NextRowid(s.table_);
      if (!next) return false;
      it = next_ids_.emplace(s.table_, *next).first;
    }
    int64_t id = it->second++;
    writes_.Push(s.stmt_, s.bindings_, id, may_not_insert);
    s.inserted_id_ = id;
    return true;
  }

  // Before a statement runs on this thread: the queued writes first, and
  // any error of theirs instead.
  Status BeforeRunning(SqliteStatement& s) {
    IDSYNC_TRY(Settle());
    ForgetIdsChangedBy(s);
    return {};
  }

  int held_rows_ = 0;  // statements holding a row (SqliteStatement::holds_row_)

  // A savepoint is always older than a queued write's failure (taking one
  // waits for the queue), so rolling back to it undoes the failed write and
  // the writes dropped after it: the transaction may go on and commit.
  void RolledBackToSavepoint() { failed_ = false; }

  void PauseWritesForTesting() { writes_.PauseForTesting(); }
  size_t QueuedWritesForTesting() { return writes_.QueuedForTesting(); }

 private:
  bool CanQueue() { return queue_writes_ && in_write_ && held_rows_ == 0 && writes_.Start(); }

  Status Settle() {
    auto st = writes_.Wait();
    if (!st && in_write_) failed_ = true;
    return st;
  }

  void StartTransaction() {
    in_write_ = true;
    failed_ = false;
    next_ids_.clear();
    writes_.ForgetAnswers();
  }
  void EndTransaction() {
    in_write_ = false;
    failed_ = false;
    next_ids_.clear();
    writes_.ForgetAnswers();
  }

  // Ids answered ahead stay right only while nothing else inserts into or
  // deletes from their table (savepoints and other statements that are not
  // plain writes may undo inserts: they forget every table).
  void ForgetIdsChangedBy(const SqliteStatement& s) {
    if (next_ids_.empty()) return;
    switch (s.writes_) {
      case Writes::kNothing:
      case Writes::kUpdate:
        return;
      case Writes::kInsertOrDelete:
        next_ids_.erase(s.table_);
        return;
      case Writes::kUnknown:
        next_ids_.clear();
        return;
    }
  }

  // The rowid SQLite gives the next row of `table`; none once the largest
  // rowid is the largest integer (SQLite then picks one at random).
  std::optional<int64_t> NextRowid(const std::string& table) {
    std::string sql = "SELECT max(rowid) FROM \"" + table + "\"";
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return std::nullopt;
    }
    std::optional<int64_t> next;
    if (sqlite3_step(st) == SQLITE_ROW) {
      if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        next = 1;
      } else if (int64_t max = sqlite3_column_int64(st, 0); max < INT64_MAX) {
        next = max + 1;
      }
    }
    sqlite3_finalize(st);
    return next;
  }

  // What `sql` does to rowids, and the table it inserts into or deletes from.
  static Writes WritesOf(std::string_view sql, bool read_only, std::string* table) {
    // Transaction statements (SAVEPOINT, ROLLBACK TO) count as read-only.
    if (read_only && (sql.starts_with("SELECT") || sql.starts_with("select"))) return Writes::kNothing;
    if (sql.starts_with("UPDATE ")) return Writes::kUpdate;
    for (std::string_view head : {"INSERT INTO ", "DELETE FROM "}) {
      if (!sql.starts_with(head)) continue;
      *table = std::string(TableAfter(sql, head));
      return Writes::kInsertOrDelete;
    }
    return Writes::kUnknown;
  }

  // The table named right after `head`, with which `sql` begins.
  static std::string_view TableAfter(std::string_view sql, std::string_view head) {
    std::string_view rest = sql.substr(head.size());
    return rest.substr(0, rest.find_first_of(" ("));
  }

  // Whether `sql` is a one-row `INSERT INTO t ... VALUES (...) RETURNING id`
  // where t's only primary key column is `id INTEGER` (an alias of the rowid).
  bool InsertsIntoRowidTable(std::string_view sql) {
    constexpr std::string_view kInsert = "INSERT INTO ";
    if (!sql.starts_with(kInsert) || !sql.ends_with(kReturningId) || sql.find("SELECT") != std::string_view::npos)
      return false;
    std::string table(TableAfter(sql, kInsert));
    sqlite3_stmt* probe = nullptr;
    const char* kProbe =
        "SELECT (SELECT count(*) FROM pragma_table_info(?1) WHERE pk > 0) = 1 AND EXISTS (SELECT 1 FROM "
        "pragma_table_info(?1) WHERE name = 'id' AND pk = 1 AND upper(type) = 'INTEGER') AND NOT EXISTS "
        "(SELECT 1 FROM pragma_index_list(?1) WHERE origin = 'pk')";
    if (sqlite3_prepare_v2(db_, kProbe, -1, &probe, nullptr) != SQLITE_OK) return false;
    sqlite3_bind_text(probe, 1, table.c_str(), -1, SQLITE_TRANSIENT);
    bool rowid = sqlite3_step(probe) == SQLITE_ROW && sqlite3_column_int(probe, 0) == 1;
    sqlite3_finalize(probe);
    return rowid;
  }

  static int OnCommit(void* self, sqlite3* db, const char*, int log_pages) {
    static_cast<SqliteDb*>(self)->checkpointer_->Committed(db, log_pages);
    return SQLITE_OK;
  }

  // SQLite calls this while the lock is taken: announce the wait, sleep a
  // little, and keep trying until the busy timeout has passed.
  static int OnBusy(void* self, int attempts) {
    auto* db = static_cast<SqliteDb*>(self);
    if (attempts == 0) {
      db->busy_since_ = std::chrono::steady_clock::now();
      db->turns_.AnnounceWaiting();
    }
    if (std::chrono::steady_clock::now() - db->busy_since_ >= std::chrono::milliseconds(db->busy_timeout_ms_))
      return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(attempts < 10 ? 200 : 1000));
    return 1;
  }

  Status Begin(const char* sql) {
    if (InTransaction()) return Fail(ErrorCode::kInternal, "nested transaction");
    return Exec(sql);
  }

  sqlite3* db_;
  std::string location_;
  WriteTurns turns_;
  int busy_timeout_ms_ = 5000;
  std::chrono::steady_clock::time_point busy_since_;
  std::unique_ptr<WalCheckpointer> checkpointer_;
  mutable SqliteWriteQueue writes_;
  const bool queue_writes_;  // sent writes go to the writer thread
  bool in_write_ = false;  // inside a transaction begun by BeginWrite
  bool failed_ = false;    // a queued write of the open transaction failed
  // Per table, the id the next insert answered ahead takes.
  std::unordered_map<std::string, int64_t> next_ids_;
  // Looked up by string_view without building a key string per call.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>, SqlHash, std::equal_to<>> cache_;
};

void SqliteStatement::Release() {
  if (!holds_row_) return;
  holds_row_ = false;
  --owner_.held_rows_;
}

Result<bool> SqliteStatement::Step() {
  if (inserted_id_) {
    inserted_id_.reset();  // the one row has been read
    return false;
  }
  if (!holds_row_) {
    // An insert that always inserts (no ON CONFLICT) is answered ahead, as
    // PostgreSQL answers it with a reserved id.
    if (returns_rowid_ && !may_skip_) {
      IDSYNC_ASSIGN(bool queued, owner_.AnswerAhead(*this, /*may_not_insert=*/false));
      if (queued) return true;
    }
    IDSYNC_TRY(owner_.BeforeRunning(*this));
    bindings_.ApplyTo(stmt_);
  }
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    if (!holds_row_) {
      holds_row_ = true;
      ++owner_.held_rows_;
    }
    return true;
  }
  Release();
  if (rc == SQLITE_DONE) {
    if (rolls_back_to_) owner_.RolledBackToSavepoint();
    changed_rows_ = sqlite3_changes64(db_);
    if (returns_rowid_ && changed_rows_ > 0) inserted_id_ = sqlite3_last_insert_rowid(db_);
    sqlite3_reset(stmt_);
    return inserted_id_.has_value();
  }
  Error e = SqliteError(db_, rc, "statement", location_);
  sqlite3_reset(stmt_);
  return tl::unexpected(e);
}

Status SqliteStatement::Send() {
  if (!holds_row_ && !inserted_id_ && owner_.Queue(*this)) return {};
  return Step().map([](bool) {});
}

Result<bool> SqliteStatement::StepAssumingInsert() {
  if (returns_rowid_ && !holds_row_ && !inserted_id_) {
    IDSYNC_ASSIGN(bool queued, owner_.AnswerAhead(*this, /*may_not_insert=*/true));
    if (queued) return true;
  }
  return Step();
}

void SqliteStatement::Reset() {
  inserted_id_.reset();
  bindings_.Clear();
  // A statement holding a row ran here, and nothing is queued meanwhile;
  // one that was queued is reset by the writer thread.
  if (holds_row_) {
    sqlite3_reset(stmt_);
    Release();
  }
}

// SQLite counts every allocation it makes under a process-wide mutex, for
// statistics idsync never reads; without the counting each statement's
// allocations take no lock. Must run before SQLite initializes, so it runs
// before the first connection is opened (later calls fail harmlessly).
void StopMemoryStatistics() {
  static const int kDone = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)kDone;
}

}  // namespace

Result<std::unique_ptr<Db>> OpenSqlite(const std::string& path, const DbOptions& options) {
  StopMemoryStatistics();
  std::string location = "sqlite:" + path;
  bool memory = path == ":memory:";
  if (!memory) {
    std::error_code ec;
    bool exists = std::filesystem::exists(path, ec);
    if (!exists && !options.create_if_missing) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("database {} does not exist; create it with `idsync-setup install "
                              "--db {}` or check the --db argument",
                              location, location));
    }
    if (!exists) {
      auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty() && !std::filesystem::is_directory(parent, ec)) {
        return Fail(ErrorCode::kIo, fmt::format("cannot create database {}: folder {} does not "
                                                "exist; create it first",
                                                location, parent.string()));
      }
    }
  }
  int flags = SQLITE_OPEN_NOMUTEX | (options.read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE);
  if (options.create_if_missing && !options.read_only) flags |= SQLITE_OPEN_CREATE;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Error e = SqliteError(raw, rc, "open", location);
    if ((rc & 0xff) == SQLITE_CANTOPEN)
      e.message += "; check that the path exists and that this user may write to its folder";
    sqlite3_close_v2(raw);
    return tl::unexpected(e);
  }
  auto db = std::make_unique<SqliteDb>(raw, location, memory || options.read_only ? std::string() : path,
                                       options.sqlite_writer_thread);
  db->SetBusyTimeout(options.busy_timeout_ms);
  sqlite3_extended_result_codes(raw, 1);
  // WAL lets status readers run beside the writer; NORMAL sync keeps every
  // committed transaction across a process crash (not across power loss of
  // the last few). The cache is bounded to keep peak memory predictable.
  std::string pragmas = "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-131072; PRAGMA temp_store=MEMORY;";
  const bool writes_log = !options.read_only && !memory;
  if (writes_log) pragmas += "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  auto st = db->Exec(pragmas);
  if (!st) {
    Error e = st.error();
    if (e.code == ErrorCode::kIo || e.code == ErrorCode::kDatabase)
      e.message += "; check that this user may write the database file and its folder";
    return tl::unexpected(e);
  }
  // Checkpoints on a thread of their own, asked for every 4096 pages of log
  // (16 MiB); past 65536 pages (256 MiB) the writer copies the rest and the
  // log starts over (see wal_checkpointer.h).
  if (writes_log) {
    int step = options.sqlite_checkpoint_pages > 0 ? options.sqlite_checkpoint_pages : 4096;
    db->CheckpointOnAThread(path, step, step * 16);
  }
  return std::unique_ptr<Db>(std::move(db));
}

void PauseSqliteWritesForTesting(Db& db) {
  if (auto* s = dynamic_cast<SqliteDb*>(&db)) s->PauseWritesForTesting();
}

size_t QueuedSqliteWritesForTesting(Db& db) {
  auto* s = dynamic_cast<SqliteDb*>(&db);
  return s ? s->QueuedWritesForTesting() : 0;
}

}  // namespace idsync
