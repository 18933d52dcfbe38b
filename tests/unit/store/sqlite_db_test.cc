// The SQLite backend's statements behave as the Db contract says, including
// inserts that return their id (run without RETURNING where SQLite allows).
#include "store/sqlite/sqlite_db.h"

#include <gtest/gtest.h>
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

}  // namespace
}  // namespace idsync
