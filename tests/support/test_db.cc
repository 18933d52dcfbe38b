#include "tests/support/test_db.h"

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string_view>

#include "store/db.h"
#include "store/sqlite/sqlite_db.h"
#include "tests/support/pg_server.h"

namespace idsync {
namespace {

std::string NewPgDatabase() {
  static int counter = 0;
  PgTestServer& server = SharedPgServer();
  if (!server.ok()) throw std::runtime_error(server.error());
  auto url = server.CreateDatabase("t" + std::to_string(getpid()) + "_" + std::to_string(++counter));
  if (!url) throw std::runtime_error(url.error().message);
  return *url;
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

}  // namespace idsync
