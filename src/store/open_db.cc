#include "store/db.h"

#include <cstdlib>

#include <fmt/format.h>

#include "store/postgres/pg_db.h"
#include "store/sqlite/sqlite_db.h"

namespace idsync {

std::string SqliteFileOf(std::string_view url) {
  if (url.starts_with("sqlite:")) return std::string(url.substr(7));
  if (url.find("://") == std::string_view::npos) return std::string(url);
  return "";
}

Result<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options) {
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    return OpenPostgres(std::string(url), options);
  }
  if (!url.starts_with("sqlite:") && url.find("://") != std::string_view::npos) {
    // Only the scheme: the rest may hold a password.
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("unsupported database URL scheme '{}://': use sqlite:PATH or "
                            "postgresql://USER@HOST:PORT/DBNAME",
                            url.substr(0, url.find("://"))));
  }
  std::string path = SqliteFileOf(url);
  if (path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty database path; use --db sqlite:PATH");
  }
  DbOptions sqlite_options = options;
  if (const char* env = std::getenv("IDSYNC_SQLITE_WRITER_THREAD"); env && *env) {
    std::string_view v(env);
    if (v == "off") {
      sqlite_options.sqlite_writer_thread = false;
    } else if (v != "on") {
      return Fail(ErrorCode::kConfig,
                  fmt::format("IDSYNC_SQLITE_WRITER_THREAD is '{}': set it to on or off, or unset it (on)", v));
    }
  }
  return OpenSqlite(path, sqlite_options);
}

}  // namespace idsync
