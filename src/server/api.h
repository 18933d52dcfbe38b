// server/api: idsyncd's HTTP API on a loopback address (cpp-httplib, on
// threads of its own).
//
//   GET  /api/v1/status   the installation's state, read from the database
//                         (the same JSON as `idsync status --json`)
//   GET  /api/v1/service  this process: the role it runs as, its queue,
//                         the running run and the last outcomes
//   POST /api/v1/runs     {"ma": "...", "profile": "..."}: 202 {"queued": true}
//                         on the active server; 409 with the standby guidance
//
// Errors are JSON {"error": MESSAGE, "code": "0x8023...."}; HTTP statuses
// come from the error code (core/error.h HttpStatusFor). The API only translates HTTP:
// everything it answers comes from an ApiBackend.
// Thread-safety: the backend is called from several threads at once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/error.h"

namespace httplib {
class Server;
}

namespace idsync {

class ApiBackend {
 public:
  virtual ~ApiBackend() = default;
  virtual Result<nlohmann::json> InstallationStatus() = 0;
  virtual nlohmann::json ServiceView() = 0;
  // kFenced with the standby guidance when this server is not active.
  virtual Status QueueRun(const std::string& ma, const std::string& profile) = 0;
};

class ApiServer {
 public:
  explicit ApiServer(ApiBackend& backend);
  ~ApiServer();  // Stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds `listen` ("127.0.0.1:8095", "[::1]:0"; port 0 picks a free one)
  // and returns the address actually bound. kBusy naming the address when
  // it is taken, kIo for other failures; `setting` names where to change it.
  Result<std::string> Bind(const std::string& listen, const std::string& setting);
  // Serves on a thread of its own; returns once requests are accepted.
  Status Start();
  void Stop();

 private:
  ApiBackend& backend_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace idsync
