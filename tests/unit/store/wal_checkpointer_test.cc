// The SQLite backend copies its write-ahead log back into the database file
// on a thread of its own, and keeps the log bounded while a writer commits
// transaction after transaction.
#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <filesystem>

#include "store/sqlite/sqlite_db.h"
#include "tests/support/temp_dir.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

constexpr int kPage = 4096;
// A row of this size fills most of a page of its own.
constexpr int kRowBytes = 3000;

int LogHook(void* cp, sqlite3* db, const char*, int pages) {
  static_cast<WalCheckpointer*>(cp)->Committed(db, pages);
  return SQLITE_OK;
}

void Exec(sqlite3* db, const char* sql) { ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql; }

// Commits `transactions` transactions of `rows` rows each.
void InsertRows(sqlite3* db, int transactions, int rows) {
  for (int t = 0; t < transactions; ++t) {
    Exec(db, "BEGIN IMMEDIATE");
    for (int r = 0; r < rows; ++r) Exec(db, "INSERT INTO t (v) VALUES (randomblob(3000))");
    Exec(db, "COMMIT");
  }
}

TEST(WalCheckpointerTest, TheThreadCopiesTheLogIntoTheDatabaseFile) {
  TempDir dir;
  const std::string path = (dir.path() / "db").string();
  sqlite3* writer = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &writer), SQLITE_OK);
  Exec(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)");
  {
    // A checkpoint every 16 pages; a limit the writer never reaches.
    WalCheckpointer checkpointer(path, 16, 1 << 20);
    sqlite3_wal_hook(writer, &LogHook, &checkpointer);  // replaces SQLite's own checkpoints
    InsertRows(writer, 40, 4);
    checkpointer.Drain();
    EXPECT_GE(checkpointer.checkpoints(), 1);
    EXPECT_EQ(checkpointer.forced(), 0);
    // Nothing on the writer's side copied a page: the rows reached the
    // database file through the thread's checkpoints.
    EXPECT_GE(fs::file_size(path), static_cast<uintmax_t>(100 * kPage));
    sqlite3_wal_hook(writer, nullptr, nullptr);
  }
  sqlite3_close(writer);
}

TEST(WalCheckpointerTest, TheLogStaysWithinItsLimitAndEveryCommitIsKept) {
  TempDir dir;
  const std::string path = (dir.path() / "db").string();
  const std::string log = path + "-wal";
  constexpr int kStep = 8;  // the limit is 16 steps: 128 pages
  {
    auto db = OpenSqlite(path, DbOptions{.create_if_missing = true, .sqlite_checkpoint_pages = kStep});
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_TRUE((*db)->Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)"));
    uintmax_t largest = 0;
    for (int t = 0; t < 300; ++t) {
      ASSERT_TRUE((*db)->BeginWrite());
      for (int r = 0; r < 4; ++r) ASSERT_TRUE((*db)->Exec("INSERT INTO t (v) VALUES (randomblob(3000))"));
      ASSERT_TRUE((*db)->Commit());
      largest = std::max(largest, fs::file_size(log));
    }
    // The limit, one transaction (about six pages) and the log's header
    // and frame headers.
    EXPECT_LE(largest, static_cast<uintmax_t>((16 * kStep + 8) * (kPage + 24) + 32));
    EXPECT_GT(largest, 0u);
  }
  EXPECT_FALSE(fs::exists(log)) << "the last connection's close copies the log and removes it";
  auto db = OpenSqlite(path, DbOptions{});
  ASSERT_TRUE(db);
  auto count = (*db)->Prepare("SELECT count(*), min(length(v)) FROM t");
  ASSERT_TRUE(count);
  ASSERT_TRUE(*(*count)->Step());
  EXPECT_EQ((*count)->ColumnInt(0), 1200);
  EXPECT_EQ((*count)->ColumnInt(1), kRowBytes);
  (*count)->Reset();
}

}  // namespace
}  // namespace idsync
