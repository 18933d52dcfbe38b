#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/wal_checkpointer.h"
#include "store/sqlite/write_turns.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include <fmt/format.h>

namespace idsync {
namespace {

Error DbError(sqlite3* db, int rc, std::string_view what, const std::string& location) {
  int base = rc & 0xff;
  if (base == SQLITE_BUSY || base == SQLITE_LOCKED) {
    return {ErrorCode::kBusy,
            fmt::format("database {} is locked by another process ({}); wait for it to finish or "
                        "stop it, then try again",
                        location, what)};
  }
  if (base == SQLITE_READONLY || base == SQLITE_CANTOPEN || base == SQLITE_PERM ||
      base == SQLITE_IOERR || base == SQLITE_FULL) {
    return {ErrorCode::kIo, fmt::format("database {}: {} failed: {}", location, what,
                                        db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
  }
  return {ErrorCode::kDatabase, fmt::format("database {}: {} failed: {}", location, what,
                                            db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))};
}

// SQLite runs `RETURNING` through a temporary trigger, which makes every
// such insert keep a statement journal (a copy of each page it changes). A
// one-row `INSERT ... RETURNING id` into a table whose id is its rowid runs
// without the clause instead: the row it returns is the rowid SQLite
// assigned, or no row when ON CONFLICT ... DO NOTHING skipped the insert.
constexpr std::string_view kReturningId = " RETURNING id";

class SqliteStatement final : public Statement {
 public:
  // `returns_rowid`: the SQL is such an insert with the clause removed.
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt, const std::string& location, bool returns_rowid)
      : db_(db), stmt_(stmt), location_(location), returns_rowid_(returns_rowid) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void BindInt(int i, int64_t v) override { sqlite3_bind_int64(stmt_, i, v); }
  void BindText(int i, std::string_view v) override {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindBlob(int i, std::string_view v) override {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void BindNull(int i) override { sqlite3_bind_null(stmt_, i); }

  Result<bool> Step() override {
    if (inserted_id_) {
      inserted_id_.reset();  // the one row has been read
      return false;
    }
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      if (returns_rowid_ && sqlite3_changes64(db_) > 0) {
        inserted_id_ = sqlite3_last_insert_rowid(db_);
        return true;
      }
      return false;
    }
    Error e = DbError(db_, rc, "statement", location_);
    sqlite3_reset(stmt_);
    return tl::unexpected(e);
  }
  bool IsNull(int c) override { return !inserted_id_ && sqlite3_column_type(stmt_, c) == SQLITE_NULL; }
  int64_t ColumnInt(int c) override { return inserted_id_ ? *inserted_id_ : sqlite3_column_int64(stmt_, c); }
  std::string_view ColumnText(int c) override {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, c));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, c)) : std::string_view();
  }
  std::string_view ColumnBlob(int c) override {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, c));
    return p ? std::string_view(p, sqlite3_column_bytes(stmt_, c)) : std::string_view();
  }
  void Reset() override {
    inserted_id_.reset();
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  int64_t ChangedRows() override { return sqlite3_changes64(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  const std::string& location_;
  const bool returns_rowid_;
  std::optional<int64_t> inserted_id_;  // the row a rowid-returning insert produced
};

class SqliteDb final : public Db {
 public:
  SqliteDb(sqlite3* db, std::string location, const std::string& turns_path)
      : db_(db), location_(std::move(location)), turns_(turns_path) {}
  ~SqliteDb() override {
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
    bool returns_rowid = InsertsIntoRowidTable(sql);
    std::string_view run = returns_rowid ? sql.substr(0, sql.size() - kReturningId.size()) : sql;
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, run.data(), static_cast<int>(run.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(DbError(db_, rc, "prepare", location_));
    auto owned = std::make_unique<SqliteStatement>(db_, stmt, location_, returns_rowid);
    Statement* raw = owned.get();
    cache_.emplace(std::string(sql), std::move(owned));
    return raw;
  }

  Status Exec(std::string_view sql) override {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      Error e = DbError(db_, rc, "statement", location_);
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
    return st;
  }
  void SetBusyTimeout(int ms) {
    busy_timeout_ms_ = ms;

    sqlite3_busy_handler(db_, &SqliteDb::OnBusy, this);
  }
  Status Commit() override {
    IDSYNC_TRY(Exec("COMMIT"));
    return {};
  }
  void Rollback() override {
    if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  bool InTransaction() const override { return !sqlite3_get_autocommit(db_); }
  Result<bool> TableExists(std::string_view name) override {
    IDSYNC_ASSIGN(Statement * st,
                  Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?"));
    st->BindText(1, name);
    IDSYNC_ASSIGN(bool row, st->Step());
    bool exists = row && st->ColumnInt(0) > 0;
    st->Reset();
    return exists;
  }
  std::string_view Backend() const override { return "sqlite"; }
  const std::string& Location() const override { return location_; }

 private:
  // Whether `sql` is a one-row `INSERT INTO t ... VALUES (...) RETURNING id`
  // where t's only primary key column is `id INTEGER` (an alias of the rowid).
  bool InsertsIntoRowidTable(std::string_view sql) {
    constexpr std::string_view kInsert = "INSERT INTO ";
    if (!sql.starts_with(kInsert) || !sql.ends_with(kReturningId) || sql.find("SELECT") != std::string_view::npos)
      return false;
    std::string_view rest = sql.substr(kInsert.size());
    std::string table(rest.substr(0, rest.find_first_of(" (")));
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
  // Looked up by string_view without building a key string per call.
  struct SqlHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, std::unique_ptr<SqliteStatement>, SqlHash, std::equal_to<>> cache_;
};

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
    Error e = DbError(raw, rc, "open", location);
    if ((rc & 0xff) == SQLITE_CANTOPEN)
      e.message += "; check that the path exists and that this user may write to its folder";
    sqlite3_close_v2(raw);
    return tl::unexpected(e);
  }
  auto db = std::make_unique<SqliteDb>(raw, location, memory || options.read_only ? std::string() : path);
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

}  // namespace idsync
