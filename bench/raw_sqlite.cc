// idsync-bench-sqlite: the raw SQLite rates idsync is compared with.
//
//   idsync-bench-sqlite N PATH
// inserts N rows shaped like connector space objects (integer key, a unique
// text anchor, a ~150-byte blob) in one transaction with a prepared
// statement, then looks every anchor up once, and prints both rates as JSON.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Check(int rc, sqlite3* db) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: idsync-bench-sqlite N PATH\n");
    return 2;
  }
  long n = std::atol(argv[1]);
  sqlite3* db;
  Check(sqlite3_open(argv[2], &db), db);
  Check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-131072;"
                     "CREATE TABLE t (id INTEGER PRIMARY KEY, ma_id INTEGER, anchor TEXT, attrs BLOB,"
                     " UNIQUE (ma_id, anchor));",
                     nullptr, nullptr, nullptr),
        db);
  std::string blob(150, 'x');
  sqlite3_stmt* ins;
  Check(sqlite3_prepare_v2(db, "INSERT INTO t (ma_id, anchor, attrs) VALUES (1, ?, ?)", -1, &ins, nullptr), db);
  auto start = std::chrono::steady_clock::now();
  Check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db);
  for (long i = 0; i < n; ++i) {
    std::string anchor = std::to_string(100000 + i);
    sqlite3_bind_text(ins, 1, anchor.data(), static_cast<int>(anchor.size()), SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 2, blob.data(), static_cast<int>(blob.size()), SQLITE_STATIC);
    Check(sqlite3_step(ins), db);
    sqlite3_reset(ins);
  }
  Check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db);
  double insert_s = Seconds(start);
  sqlite3_stmt* sel;
  Check(sqlite3_prepare_v2(db, "SELECT id, attrs FROM t WHERE ma_id = 1 AND anchor = ?", -1, &sel, nullptr), db);
  start = std::chrono::steady_clock::now();
  for (long i = 0; i < n; ++i) {
    std::string anchor = std::to_string(100000 + (i * 7919) % n);
    sqlite3_bind_text(sel, 1, anchor.data(), static_cast<int>(anchor.size()), SQLITE_TRANSIENT);
    Check(sqlite3_step(sel), db);
    sqlite3_reset(sel);
  }
  double lookup_s = Seconds(start);
  std::printf("{\"rows\": %ld, \"insert_rows_per_s\": %.0f, \"lookups_per_s\": %.0f}\n", n, n / insert_s,
              n / lookup_s);
  sqlite3_finalize(ins);
  sqlite3_finalize(sel);
  sqlite3_close(db);
  return 0;
}
