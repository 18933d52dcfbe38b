#include "store/postgres/pg_connection.h"

#include <fmt/format.h>

namespace idsync {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  // libpq indents continuation lines with a tab: keep them on one line.
  for (size_t pos; (pos = s.find("\n\t")) != std::string::npos;) s.replace(pos, 2, "; ");
  for (char& c : s)
    if (c == '\n') c = ' ';
  return s;
}

// Removes the URL and its password from a libpq message (libpq quotes a URI
// it cannot parse, and a URI may carry a password).
std::string Scrubbed(std::string message, const std::string& url, const std::string& password) {
  for (const std::string& secret : {url, password}) {
    if (secret.empty()) continue;
    for (size_t pos; (pos = message.find(secret)) != std::string::npos;) message.replace(pos, secret.size(), "***");
  }
  return message;
}

std::string OptionOf(PQconninfoOption* options, std::string_view key) {
  for (PQconninfoOption* o = options; o && o->keyword; ++o)
    if (key == o->keyword && o->val) return o->val;
  return "";
}

// postgresql://USER@HOST:PORT/DBNAME for messages (a socket folder as host
// goes to the query, as libpq writes it).
std::string LocationOf(PGconn* conn) {
  std::string host = PQhost(conn) ? PQhost(conn) : "";
  std::string port = PQport(conn) ? PQport(conn) : "";
  std::string user = PQuser(conn) ? PQuser(conn) : "";
  std::string db = PQdb(conn) ? PQdb(conn) : "";
  std::string userinfo = user.empty() ? "" : user + "@";
  if (!host.empty() && host[0] == '/')
    return fmt::format("postgresql://{}/{}?host={}&port={}", userinfo, db, host, port);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return fmt::format("postgresql://{}{}:{}/{}", userinfo, host, port, db);
}

}  // namespace

Result<PgConnPtr> ConnectPg(const std::string& url, const DbOptions& options, std::string* location) {
  // Check the URL first: its password (if any) is then known and kept out
  // of every message.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  if (!parsed) {
    std::string why = parse_error ? Trimmed(parse_error) : "out of memory";
    PQfreemem(parse_error);
    *location = "postgresql (invalid URL)";
    return Fail(ErrorCode::kInvalidArgument,
                fmt::format("invalid PostgreSQL URL: {}; use postgresql://USER@HOST:PORT/DBNAME?sslmode=...",
                            Scrubbed(why, url, "")));
  }
  std::string password = OptionOf(parsed, "password");
  PQconninfoFree(parsed);

  // Keywords before `dbname` are defaults the URL may override.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "client_encoding", "dbname", nullptr};
  const char* values[] = {"10", "idsync", "UTF8", url.c_str(), nullptr};
  PgConnPtr conn(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn) return Fail(ErrorCode::kDatabase, "cannot connect to PostgreSQL: out of memory");
  *location = LocationOf(conn.get());
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    std::string why = Scrubbed(Trimmed(PQerrorMessage(conn.get())), url, password);
    auto text = [](const char* s) { return std::string(s ? s : ""); };
    std::string host = text(PQhost(conn.get())), port = text(PQport(conn.get()));
    std::string user = text(PQuser(conn.get())), db = text(PQdb(conn.get()));
    if (why.find("database \"" + db + "\" does not exist") != std::string::npos) {
      return Fail(ErrorCode::kNotFound,
                  fmt::format("database {} does not exist on the PostgreSQL server at {}:{}; create it "
                              "(createdb -O {} {}) or check the --db URL",
                              db, host, port, user, db));
    }
    return Fail(ErrorCode::kDatabase,
                fmt::format("cannot connect to database {} on the PostgreSQL server at {}:{} as user {}: {}; "
                            "check that the server runs and accepts this user, and the password file "
                            "(passfile=, PGPASSFILE or ~/.pgpass)",
                            db, host, port, user, why));
  }
  // Notices ("... does not exist, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  IDSYNC_TRY(ApplySessionSettings(conn.get(), options, *location));
  return conn;
}

Status ApplySessionSettings(PGconn* conn, const DbOptions& options, const std::string& location) {
  // A writer waits for a row or advisory lock as long as SQLite waits for
  // its write lock, then fails with kBusy.
  std::string sql = fmt::format("SET lock_timeout = {}", options.busy_timeout_ms);
  if (options.read_only) sql += "; SET default_transaction_read_only = on";
  PgResultPtr r(PQexec(conn, sql.c_str()));
  if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return tl::unexpected(PgError(conn, r.get(), "connect", location));
  return {};
}

Error PgError(PGconn* conn, const PGresult* result, std::string_view what, const std::string& location) {
  std::string message;
  if (result && PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY))
    message = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  else
    message = Trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn));
  if (message.empty()) message = Trimmed(PQerrorMessage(conn));
  std::string_view state = result && PQresultErrorField(result, PG_DIAG_SQLSTATE)
                               ? PQresultErrorField(result, PG_DIAG_SQLSTATE)
                               : "";
  if (PQstatus(conn) == CONNECTION_BAD || state.starts_with("08") || state.starts_with("57P")) {
    return {ErrorCode::kDatabase,
            fmt::format("connection to {} lost during {}: {}; the next command reconnects", location, what,
                        message)};
  }
  if (state == "55P03") {
    return {ErrorCode::kBusy, fmt::format("database {} is locked by another process ({}: {}); wait for it to "
                                          "finish or stop it, then try again",
                                          location, what, message)};
  }
  if (state == "40001" || state == "40P01") {
    return {ErrorCode::kBusy,
            fmt::format("database {}: {} conflicted with a concurrent transaction ({}); try again", location,
                        what, message)};
  }
  if (state == "53100") return {ErrorCode::kIo, fmt::format("database {}: {} failed: {}", location, what, message)};
  return {ErrorCode::kDatabase, fmt::format("database {}: {} failed: {}", location, what, message)};
}

}  // namespace idsync
