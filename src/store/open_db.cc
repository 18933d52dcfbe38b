#include "store/db.h"

#include <fmt/format.h>

#include "store/sqlite/sqlite_db.h"

namespace idsync {

Result<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options) {
  std::string_view path = url;
  if (url.starts_with("sqlite:")) path.remove_prefix(7);
  else if (url.find("://") != std::string_view::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("unsupported database URL '{}': use sqlite:PATH", url));
  }
  if (path.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty database path; use --db sqlite:PATH");
  }
  return OpenSqlite(std::string(path), options);
}

}  // namespace idsync
