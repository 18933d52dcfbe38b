#include "store/db.h"

#include <fmt/format.h>

#include "store/sqlite/sqlite_db.h"

namespace idsync {

std::string SqliteFileOf(std::string_view url) {
  if (url.starts_with("sqlite:")) return std::string(url.substr(7));
  if (url.find("://") == std::string_view::npos) return std::string(url);
  return "";
}

Result<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options) {
  if (!url.starts_with("sqlite:") && url.find("://") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("unsupported database URL '{}': use sqlite:PATH", url));
  }
  std::string path = SqliteFileOf(url);
  if (path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty database path; use --db sqlite:PATH");
  }
  return OpenSqlite(path, options);
}

}  // namespace idsync
