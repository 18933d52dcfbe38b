// The SQLite backend's statements behave as the Db contract says, including
// inserts that return their id (run without RETURNING where SQLite allows).
#include "store/sqlite/sqlite_db.h"
#include "store/sqlite/write_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <sqlite3.h>

namespace idsync {
namespace {

std::unique_ptr<Db> MemoryDb(std::string_view schema) {
  auto db = OpenSqlite(":memory:", DbOptions{});
  EXPECT_TRUE(db);
  EXPECT_TRUE((*db)->Exec(schema));
  return std::move(*db);
}

// Runs an insert and returns the id it reports, or -1 for no row.
int64_t InsertedId(Db& db, std::string_view sql, std::string_view value) {
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st);
  (*st)->BindText(1, value);
  auto row = (*st)->Step();
  EXPECT_TRUE(row);
  int64_t id = *row ? (*st)->ColumnInt(0) : -1;
  if (*row) {
    auto more = (*st)->Step();
    EXPECT_TRUE(more && !*more) << "one row per insert";
  }
  (*st)->Reset();
  return id;
}

// Statements then allocate without taking SQLite's process-wide lock.
TEST(SqliteDbTest, OpeningADatabaseTurnsSqlitesMemoryStatisticsOff) {
  auto db = MemoryDb("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
  EXPECT_EQ(InsertedId(*db, "INSERT INTO t (v) VALUES (?) RETURNING id", "a"), 1);
  EXPECT_EQ(sqlite3_memory_used(), 0) << "SQLite still counts its allocations";
}

TEST(SqliteDbTest, InsertReturningIdGivesTheRowidOfEachNewRow) {
  auto db = MemoryDb("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
  constexpr const char* kSql = "INSERT INTO t (v) VALUES (?) RETURNING id";
  EXPECT_EQ(InsertedId(*db, kSql, "a"), 1);
  EXPECT_EQ(InsertedId(*db, kSql, "b"), 2);
  auto failed = db->Prepare(kSql);
  ASSERT_TRUE(failed);
  (*failed)->BindText(1, "a");
  EXPECT_FALSE((*failed)->Step()) << "a unique violation is an error, not a row";
}

TEST(SqliteDbTest, InsertSkippedByOnConflictReturnsNoRow) {
  auto db = MemoryDb("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)");
  constexpr const char* kSql = "INSERT INTO t (v) VALUES (?) ON CONFLICT (v) DO NOTHING RETURNING id";
  EXPECT_EQ(InsertedId(*db, kSql, "a"), 1);
  EXPECT_EQ(InsertedId(*db, kSql, "a"), -1);
  EXPECT_EQ(InsertedId(*db, kSql, "b"), 2);
}

TEST(SqliteDbTest, ReturningAnIdThatIsNotTheRowidReturnsTheColumn) {
  auto db = MemoryDb("CREATE TABLE t (id INTEGER NOT NULL, v TEXT NOT NULL, PRIMARY KEY (id, v))");
  auto st = db->Prepare("INSERT INTO t (id, v) VALUES (42, ?) RETURNING id");
  ASSERT_TRUE(st);
  (*st)->BindText(1, "x");
  auto row = (*st)->Step();
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*st)->ColumnInt(0), 42);
  (*st)->Reset();
}

// The writer thread (store/sqlite/write_queue.h). Each test pauses it, so
// that what is queued stays queued until a call on the Db waits for it.

constexpr const char* kTable = "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)";

void SendInsert(Statement& st, std::string_view value) {
  st.Reset();
  st.BindText(1, value);
  EXPECT_TRUE(st.Send()) << "sending " << value;
  st.Reset();
}

Result<int64_t> CountRows(Db& db) {
  IDSYNC_ASSIGN(Statement * st, db.Prepare("SELECT count(*) FROM t"));
  IDSYNC_ASSIGN(bool row, st->Step());
  int64_t n = row ? st->ColumnInt(0) : -1;
  st->Reset();
  return n;
}

// A write transaction on `db` with its writer thread held, the row count
// query prepared (so that preparing it does not wait for the queue), and
// the insert into t to send.
Result<Statement*> BeginHeldInserts(Db& db) {
  IDSYNC_TRY(CountRows(db).map([](int64_t) {}));
  IDSYNC_TRY(db.BeginWrite());
  PauseSqliteWritesForTesting(db);
  return db.Prepare("INSERT INTO t (v) VALUES (?)");
}

TEST(SqliteDbTest, WritesSentInAWriteTransactionAreQueuedAndAReadSeesThem) {
  auto db = MemoryDb(kTable);
  ASSERT_TRUE(CountRows(*db));  // prepared before the writes are queued
  ASSERT_TRUE(db->BeginWrite());
  PauseSqliteWritesForTesting(*db);
  auto ins = db->Prepare("INSERT INTO t (v) VALUES (?)");
  ASSERT_TRUE(ins);
  for (int i = 0; i < 100; ++i) SendInsert(**ins, "v" + std::to_string(i));
  EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 100u) << "sent writes ran at once";
  auto n = CountRows(*db);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 100) << "the read did not wait for the queued writes";
  EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 0u);
  ASSERT_TRUE(db->Commit());
  EXPECT_EQ(*CountRows(*db), 100);
}

// Sends 100 inserts in a write transaction of `db` with its writer thread
// held, and returns how many of them wait on the queue.
size_t QueuedOfHundredSent(Db& db) {
  EXPECT_TRUE(db.Exec(kTable));
  EXPECT_TRUE(db.BeginWrite());
  PauseSqliteWritesForTesting(db);
  auto ins = db.Prepare("INSERT INTO t (v) VALUES (?)");
  EXPECT_TRUE(ins);
  for (int i = 0; i < 100; ++i) SendInsert(**ins, "v" + std::to_string(i));
  size_t queued = QueuedSqliteWritesForTesting(db);
  EXPECT_TRUE(db.Commit());
  EXPECT_EQ(*CountRows(db), 100);
  return queued;
}

TEST(SqliteDbTest, WithoutTheWriterThreadSentWritesRunAtOnce) {
  auto db = OpenSqlite(":memory:", DbOptions{.sqlite_writer_thread = false});
  ASSERT_TRUE(db);
  EXPECT_EQ(QueuedOfHundredSent(**db), 0u);
}

// The administrator's switch: IDSYNC_SQLITE_WRITER_THREAD=off (for a
// machine whose second core is busy), anything but on/off refused.
TEST(SqliteDbTest, TheWriterThreadIsSwitchedOffByTheEnvironment) {
  ASSERT_EQ(setenv("IDSYNC_SQLITE_WRITER_THREAD", "off", 1), 0);
  auto off = OpenDb("sqlite::memory:", DbOptions{});
  ASSERT_EQ(setenv("IDSYNC_SQLITE_WRITER_THREAD", "on", 1), 0);
  auto on = OpenDb("sqlite::memory:", DbOptions{});
  ASSERT_EQ(setenv("IDSYNC_SQLITE_WRITER_THREAD", "no", 1), 0);
  auto bad = OpenDb("sqlite::memory:", DbOptions{});
  unsetenv("IDSYNC_SQLITE_WRITER_THREAD");
  ASSERT_TRUE(off && on);
  EXPECT_EQ(QueuedOfHundredSent(**off), 0u);
  EXPECT_EQ(QueuedOfHundredSent(**on), 100u);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("IDSYNC_SQLITE_WRITER_THREAD is 'no'"), std::string::npos) << bad.error().message;
}

// A transaction that sends more writes than the thread keeps up with (the
// thread is held here) does not queue them all: past the bound, sending
// waits for the thread to take the queue. Every write still runs.
TEST(SqliteDbTest, TheQueueOfSentWritesIsBounded) {
  auto db = MemoryDb(kTable);
  auto ins = BeginHeldInserts(*db);
  ASSERT_TRUE(ins);
  const size_t bound = SqliteWriteQueue::kMaxQueued;
  size_t most = 0;
  for (size_t i = 0; i < bound + 100; ++i) {
    SendInsert(**ins, "v" + std::to_string(i));
    most = std::max(most, QueuedSqliteWritesForTesting(*db));
  }
  EXPECT_LE(most, bound) << "the queue grew past its bound";
  auto n = CountRows(*db);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, static_cast<int64_t>(bound + 100));
  ASSERT_TRUE(db->Commit());
}

// The same bound in bytes: a run of large values (a big group's member
// list) waits for the thread long before the count's bound.
TEST(SqliteDbTest, TheQueueOfSentWritesIsBoundedInBytes) {
  auto db = MemoryDb(kTable);
  auto ins = BeginHeldInserts(*db);
  ASSERT_TRUE(ins);
  const size_t value_size = size_t{256} << 10;
  const size_t bound = SqliteWriteQueue::kMaxQueuedBytes / value_size + 1;
  const size_t sent = 2 * bound;
  size_t most = 0;
  for (size_t i = 0; i < sent; ++i) {
    std::string value = std::to_string(i);
    value.resize(value_size, 'x');
    SendInsert(**ins, value);
    most = std::max(most, QueuedSqliteWritesForTesting(*db));
  }
  EXPECT_LE(most, bound) << "the queue held more than its bound in bytes";
  auto n = CountRows(*db);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, static_cast<int64_t>(sent));
  ASSERT_TRUE(db->Commit());
}

TEST(SqliteDbTest, AQueuedWritesErrorComesBackFromTheNextCallAndTheTransactionFails) {
  auto db = MemoryDb(kTable);
  auto ins = db->Prepare("INSERT INTO t (v) VALUES (?)");
  ASSERT_TRUE(ins);
  SendInsert(**ins, "a");  // outside a transaction: runs at once
  ASSERT_TRUE(CountRows(*db));
  {
    Transaction tx(*db);
    ASSERT_TRUE(db->BeginWrite());
    PauseSqliteWritesForTesting(*db);
    SendInsert(**ins, "b");
    SendInsert(**ins, "a");  // violates UNIQUE (v) when it runs
    SendInsert(**ins, "c");
    EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 3u);
    auto n = CountRows(*db);
    ASSERT_FALSE(n) << "the queued write's error was not returned";
    EXPECT_EQ(n.error().code, ErrorCode::kDatabase);
    EXPECT_NE(n.error().message.find("UNIQUE"), std::string::npos) << n.error().message;
    auto commit = tx.Commit();
    EXPECT_FALSE(commit) << "a transaction with a failed write committed";
  }
  EXPECT_FALSE(db->InTransaction());
  EXPECT_EQ(*CountRows(*db), 1) << "only the row committed before the transaction";
}

// The engine's per-object pattern: a failed write under a savepoint is
// undone with it, and the transaction goes on.
TEST(SqliteDbTest, AQueuedWriteThatFailedUnderASavepointIsUndoneWithItAndTheTransactionCommits) {
  auto db = MemoryDb(kTable);
  auto ins = db->Prepare("INSERT INTO t (v) VALUES (?)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(CountRows(*db));
  ASSERT_TRUE(db->BeginWrite());
  SendInsert(**ins, "a");
  ASSERT_TRUE(db->Exec("SAVEPOINT one"));
  PauseSqliteWritesForTesting(*db);
  SendInsert(**ins, "b");
  SendInsert(**ins, "a");  // fails when it runs
  SendInsert(**ins, "c");  // dropped
  EXPECT_FALSE(CountRows(*db)) << "the queued write's error was not returned";
  ASSERT_TRUE(db->Exec("ROLLBACK TO one"));
  SendInsert(**ins, "d");
  auto commit = db->Commit();
  ASSERT_TRUE(commit) << commit.error().message;
  EXPECT_EQ(*CountRows(*db), 2) << "a and d";
}

TEST(SqliteDbTest, RollbackDropsTheQueuedWrites) {
  auto db = MemoryDb(kTable);
  auto ins = BeginHeldInserts(*db);
  ASSERT_TRUE(ins);
  for (std::string_view v : {"x", "y", "z"}) SendInsert(**ins, v);
  EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 3u);
  db->Rollback();
  EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 0u) << "the queued writes outlived the rollback";
  EXPECT_EQ(*CountRows(*db), 0);
  // The next transaction queues and commits as usual.
  ASSERT_TRUE(db->BeginWrite());
  SendInsert(**ins, "x");
  ASSERT_TRUE(db->Commit());
  EXPECT_EQ(*CountRows(*db), 1);
}

// Runs `st` (an insert with one text parameter) by `step` and returns the
// id it answers, or -1 for no row.
template <typename StepFn>
int64_t AnsweredId(Statement& st, std::string_view value, StepFn step) {
  st.Reset();
  st.BindText(1, value);
  auto row = step(st);
  EXPECT_TRUE(row) << row.error().message;
  int64_t id = row && *row ? st.ColumnInt(0) : -1;
  st.Reset();
  return id;
}

TEST(SqliteDbTest, InsertsReturningTheirIdAreAnsweredAheadAndChecked) {
  auto db = MemoryDb(kTable);
  auto plain = db->Prepare("INSERT INTO t (v) VALUES (?) RETURNING id");
  ASSERT_TRUE(plain);
  auto step = [](Statement& s) { return s.Step(); };
  auto assume = [](Statement& s) { return s.StepAssumingInsert(); };
  for (std::string_view v : {"a", "b", "c"}) AnsweredId(**plain, v, step);
  ASSERT_TRUE(CountRows(*db));

  ASSERT_TRUE(db->BeginWrite());
  PauseSqliteWritesForTesting(*db);
  auto if_new = db->Prepare("INSERT INTO t (v) VALUES (?) ON CONFLICT (v) DO NOTHING RETURNING id");
  ASSERT_TRUE(if_new);
  EXPECT_EQ(AnsweredId(**plain, "d", step), 4);
  EXPECT_EQ(AnsweredId(**if_new, "e", assume), 5);
  EXPECT_EQ(AnsweredId(**plain, "f", step), 6);
  EXPECT_EQ(QueuedSqliteWritesForTesting(*db), 3u) << "the inserts waited for their ids";
  auto held = db->AssumedInsertsHeld();
  ASSERT_TRUE(held);
  EXPECT_TRUE(*held);
  EXPECT_EQ(*CountRows(*db), 6);

  // "a" is there: the insert assumed new inserts nothing, and the next one
  // takes the id answered for it.
  PauseSqliteWritesForTesting(*db);
  EXPECT_EQ(AnsweredId(**if_new, "a", assume), 7);
  EXPECT_EQ(AnsweredId(**if_new, "g", assume), 8);
  held = db->AssumedInsertsHeld();
  ASSERT_TRUE(held);
  EXPECT_FALSE(*held) << "an insert assumed new that inserted nothing went unnoticed";
  db->Rollback();
  EXPECT_EQ(*CountRows(*db), 3);

  // Outside a transaction the answer is exact.
  EXPECT_EQ(AnsweredId(**if_new, "a", assume), -1);
}

}  // namespace
}  // namespace idsync
