#include "tests/support/pg_server.h"

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "store/db.h"
#include "tests/support/process.h"

namespace idsync {
namespace {

std::string Script() { return std::string(IDSYNC_SOURCE_DIR) + "/scripts/pg-test-server.sh"; }

}  // namespace

PgTestServer::PgTestServer(const std::vector<std::string>& listen) {
  std::vector<std::string> args{Script(), "start", dir_.path().string(), "--owner-pid", std::to_string(getpid())};
  if (!listen.empty()) {
    std::string joined;
    for (const auto& a : listen) joined += (joined.empty() ? "" : ",") + a;
    args.insert(args.end(), {"--listen", joined});
  }
  auto r = RunProgram("/bin/bash", args);
  while (!r.err.empty() && r.err.back() == '\n') r.err.pop_back();
  if (r.exit_code == 3) {
    error_ = "PostgreSQL is not installed, so the PostgreSQL tests cannot run: run scripts/install-deps.sh (" +
             r.err + ")";
    return;
  }
  if (r.exit_code != 0) {
    error_ = fmt::format("scripts/pg-test-server.sh start failed with exit code {}: {}", r.exit_code, r.err);
    return;
  }
  started_ = true;
  url_ = r.out.substr(0, r.out.find('\n'));
  auto colon = url_.find(':', url_.find('@'));
  port_ = std::stoi(url_.substr(colon + 1));
  std::ifstream pgpass(dir_.path() / "pgpass");
  std::string line;
  std::getline(pgpass, line);
  password_ = line.substr(line.rfind(':') + 1);

  // pg_ctl waited for the server already; still, a test starts only once a
  // connection works, or fails with why it does not.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    auto db = OpenDb(url_, DbOptions{});
    if (db) break;
    if (std::chrono::steady_clock::now() > deadline) {
      error_ = "the PostgreSQL test server does not accept connections: " + db.error().message;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

PgTestServer::~PgTestServer() {
  if (started_) RunProgram("/bin/bash", {Script(), "stop", dir_.path().string(), "--discard"});
}

bool PgTestServer::Restart() {
  std::lock_guard lock(mu_);
  return RunProgram("/bin/bash", {Script(), "restart", dir_.path().string()}).exit_code == 0;
}

std::string PgTestServer::UrlOf(const std::string& name, const std::string& host) const {
  return fmt::format("postgresql://idsync@{}:{}/{}?passfile={}", host, port_, name,
                     (dir_.path() / "pgpass").string());
}

std::string PgTestServer::UrlWithPassword(const std::string& name, const std::string& password) const {
  return fmt::format("postgresql://idsync:{}@127.0.0.1:{}/{}", password, port_, name);
}

Result<std::unique_ptr<Db>> PgTestServer::OpenAdmin() {
  if (!ok()) return Fail(ErrorCode::kDatabase, error_);
  return OpenDb(fmt::format("postgresql://postgres@/postgres?host={}&port={}", dir_.path().string(), port_),
                DbOptions{});
}

Result<std::string> PgTestServer::CreateDatabase(const std::string& name) {
  std::lock_guard lock(mu_);
  IDSYNC_ASSIGN(auto admin, OpenAdmin());
  IDSYNC_TRY(admin->Exec(fmt::format("CREATE DATABASE \"{}\" OWNER idsync", name)));
  return UrlOf(name);
}

PgTestServer& SharedPgServer() {
  static PgTestServer server;
  return server;
}

}  // namespace idsync
