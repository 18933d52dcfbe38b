#include "tests/support/test_db.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "store/db.h"
#include "store/sqlite/sqlite_db.h"
#include "store/store.h"
#include "tests/support/pg_server.h"

namespace idsync {
namespace {
namespace fs = std::filesystem;

PgTestServer& Server() {
  PgTestServer& server = SharedPgServer();
  if (!server.ok()) throw std::runtime_error(server.error());
  return server;
}

std::string UniqueName(std::string_view prefix) {
  static int counter = 0;
  return fmt::format("{}{}_{}", prefix, getpid(), ++counter);
}

std::string NewPgDatabase() {
  auto url = Server().CreateDatabase(UniqueName("t"));
  if (!url) throw std::runtime_error(url.error().message);
  return *url;
}

// The database name in a test server URL (.../NAME?passfile=...).
std::string PgNameOf(const std::string& url) {
  auto query = url.find('?');
  auto slash = url.rfind('/', query);
  return url.substr(slash + 1, query == std::string::npos ? std::string::npos : query - slash - 1);
}

std::string HiddenName(const std::string& name) { return name + "_hidden"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs an admin statement that needs the database to have no sessions; a
// test's connection that just closed may take a moment to end its session.
void AdminExecWhenIdle(const std::string& sql) {
  auto admin = Server().OpenAdmin();
  if (!admin) throw std::runtime_error(admin.error().message);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    auto st = (*admin)->Exec(sql);
    if (st) return;
    if (st.error().message.find("being accessed by other users") == std::string::npos ||
        std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error(st.error().message);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::vector<std::string> PgTables(Db& db) {
  std::vector<std::string> tables;
  auto st = db.Prepare(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name");
  if (!st) throw std::runtime_error(st.error().message);
  while (true) {
    auto row = (*st)->Step();
    if (!row) throw std::runtime_error(row.error().message);
    if (!*row) break;
    tables.emplace_back((*st)->ColumnText(0));
  }
  (*st)->Reset();
  return tables;
}

}  // namespace

bool TestingPostgres() {
  const char* backend = std::getenv("IDSYNC_TEST_DB");
  return backend && std::string_view(backend) == "postgresql";
}

std::string FreshTestDbUrl(const std::filesystem::path& dir) {
  return TestingPostgres() ? NewPgDatabase() : "sqlite:" + (dir / "db").string();
}

std::unique_ptr<Db> OpenFreshTestDb() {
  auto db = TestingPostgres() ? OpenDb(NewPgDatabase(), DbOptions{}) : OpenSqlite(":memory:", DbOptions{});
  if (!db) throw std::runtime_error(db.error().message);
  return std::move(*db);
}

std::string MissingTestDbUrl(const std::filesystem::path& dir, const std::string& name) {
  return TestingPostgres() ? Server().UrlOf(UniqueName("missing")) : "sqlite:" + (dir / name).string();
}

bool TestDbHoldsTables(const std::string& url) {
  std::string file = SqliteFileOf(url);
  if (!file.empty()) return fs::exists(file);
  auto db = OpenDb(url, DbOptions{});
  if (!db) {
    if (db.error().code == ErrorCode::kNotFound) return false;
    throw std::runtime_error(db.error().message);
  }
  return !PgTables(**db).empty();
}

std::string TestDbSnapshot(const std::string& url) {
  std::string file = SqliteFileOf(url);
  if (!file.empty()) return ReadFile(file);
  auto db = OpenDb(url, DbOptions{});
  if (!db) throw std::runtime_error(db.error().message);
  std::string out;
  for (const auto& table : PgTables(**db)) {
    out += "== " + table + "\n";
    auto st = (*db)->Prepare(fmt::format("SELECT CAST(t AS text) FROM \"{}\" t ORDER BY 1", table));
    if (!st) throw std::runtime_error(st.error().message);
    while (true) {
      auto row = (*st)->Step();
      if (!row) throw std::runtime_error(row.error().message);
      if (!*row) break;
      out += std::string((*st)->ColumnText(0)) + "\n";
    }
    (*st)->Reset();
  }
  return out;
}

void HideTestDb(const std::string& url) {
  std::string file = SqliteFileOf(url);
  if (!file.empty()) {
    fs::rename(file, file + ".hidden");
    return;
  }
  std::string name = PgNameOf(url);
  AdminExecWhenIdle(fmt::format("ALTER DATABASE \"{}\" RENAME TO \"{}\"", name, HiddenName(name)));
}

void RestoreTestDb(const std::string& url) {
  std::string file = SqliteFileOf(url);
  if (!file.empty()) {
    fs::rename(file + ".hidden", file);
    return;
  }
  std::string name = PgNameOf(url);
  AdminExecWhenIdle(fmt::format("ALTER DATABASE \"{}\" RENAME TO \"{}\"", HiddenName(name), name));
}

Result<int64_t> ActivateInOwnTransaction(Store& store, const std::string& server, int64_t from_epoch) {
  Store::ActivationRecord r;
  r.kind = "activate";
  r.server = server;
  r.from_epoch = from_epoch;
  r.account = "CORP\\svc";
  r.os_user = "test";
  int64_t epoch = 0;
  IDSYNC_TRY(store.WithWrite([&]() -> Status {
    IDSYNC_ASSIGN(epoch, store.ActivateServer(r));
    return {};
  }));
  return epoch;
}

}  // namespace idsync
