// tests/support/pg_server: a real PostgreSQL server for tests, started from
// Debian's package by scripts/pg-test-server.sh in a temporary folder, on
// 127.0.0.1 and a free port, as an unprivileged user when the tests run as
// root; stopped and removed when the object goes (a watchdog stops it too if
// the test process dies first).
// Thread-safety: CreateDatabase may be called from any thread; the rest is
// read-only after construction.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "tests/support/temp_dir.h"

namespace idsync {

class Db;

class PgTestServer {
 public:
  // Starts the server and waits (polling a connection, with a deadline)
  // until it accepts connections. On failure ok() is false and error() says
  // why; when PostgreSQL is not installed it says to run
  // scripts/install-deps.sh.
  // `listen`: more addresses to serve (test hosts in network namespaces).
  explicit PgTestServer(const std::vector<std::string>& listen = {});
  ~PgTestServer();
  PgTestServer(const PgTestServer&) = delete;
  PgTestServer& operator=(const PgTestServer&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  // The test role's database `idsync`: postgresql://idsync@127.0.0.1:PORT/
  // idsync?passfile=... (the password is only in that file).
  const std::string& url() const { return url_; }
  // The test role's URL for database `name`.
  std::string UrlOf(const std::string& name, const std::string& host = "127.0.0.1") const;
  // The same with the password in the URL, for tests of what messages show.
  std::string UrlWithPassword(const std::string& name, const std::string& password) const;
  // The test role's password.
  const std::string& password() const { return password_; }
  // Creates an empty database owned by the test role; returns its URL.
  Result<std::string> CreateDatabase(const std::string& name);
  // Restarts the server (fast shutdown, then start on the same port), as a
  // production database restart would; true when it accepts connections
  // again.
  bool Restart();
  // Opens a superuser connection (over the server's unix socket).
  Result<std::unique_ptr<Db>> OpenAdmin();

 private:
  TempDir dir_;  // destroyed after the server is stopped
  std::string error_;
  std::string url_;
  std::string password_;
  int port_ = 0;
  bool started_ = false;
  std::mutex mu_;
};

// The server every test of this process shares, started on first use and
// stopped at exit.
PgTestServer& SharedPgServer();

}  // namespace idsync
