#include "server/api.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <httplib.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace idsync {
namespace {

std::string HexCode(ErrorCode code) { return fmt::format("0x{:08X}", HexCodeFor(code)); }

void Reply(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

void ReplyError(httplib::Response& res, const Error& e) {
  Reply(res, HttpStatusFor(e.code), {{"error", e.message}, {"code", HexCode(e.code)}});
}

// Splits "127.0.0.1:8095" or "[::1]:8095".
Result<std::pair<std::string, int>> SplitHostPort(const std::string& listen, const std::string& setting) {
  size_t colon = listen.rfind(':');
  std::string host = colon == std::string::npos ? "" : listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = -1;
  if (colon != std::string::npos) {
    std::string p = listen.substr(colon + 1);
    if (!p.empty() && p.size() <= 5 && p.find_first_not_of("0123456789") == std::string::npos) port = std::stoi(p);
  }
  if (host.empty() || port < 0 || port > 65535)
    return Fail(ErrorCode::kConfig,
                fmt::format("API address '{}' is not HOST:PORT (such as 127.0.0.1:8095); change {}", listen, setting));
  return std::make_pair(host, port);
}

// Why binding failed: httplib does not say, so the same bind is tried once
// more on a plain socket for its errno.
std::string BindFailure(const std::string& host, int port) {
  bool v6 = host.find(':') != std::string::npos;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int rc;
  if (v6) {
    sockaddr_in6 a{};
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, host.c_str(), &a.sin6_addr) != 1) {
      ::close(fd);
      return "not a numeric IPv6 address";
    }
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  } else {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) {
      ::close(fd);
      return "not a numeric IPv4 address";
    }
    rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  }
  std::string why = rc == 0 ? "unknown reason" : std::strerror(errno);
  ::close(fd);
  return why;
}

}  // namespace

ApiServer::ApiServer(ApiBackend& backend) : backend_(backend), http_(std::make_unique<httplib::Server>()) {
  // httplib's default adds SO_REUSEPORT, which would let a second service
  // share a port that is already taken; only SO_REUSEADDR is wanted.
  http_->set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // The API is small: two threads answer it (the library's TaskQueue API
  // takes ownership of a raw pointer).
  http_->new_task_queue = [] { return new httplib::ThreadPool(2); };
  http_->set_payload_max_length(64 * 1024);
  http_->Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
    auto status = backend_.InstallationStatus();
    if (!status) return ReplyError(res, status.error());
    Reply(res, 200, *status);
  });
  http_->Get("/api/v1/service",
             [this](const httplib::Request&, httplib::Response& res) { Reply(res, 200, backend_.ServiceView()); });
  http_->Post("/api/v1/runs", [this](const httplib::Request& req, httplib::Response& res) {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    auto text = [&](const char* key) {
      return body.is_object() && body.contains(key) && body[key].is_string() ? body[key].get<std::string>() : "";
    };
    std::string ma = text("ma"), profile = text("profile");
    if (ma.empty() || profile.empty())
      return ReplyError(
          res, {ErrorCode::kInvalidArgument, "the body must be JSON {\"ma\": \"NAME\", \"profile\": \"PROFILE\"}"});
    auto queued = backend_.QueueRun(ma, profile);
    if (!queued) return ReplyError(res, queued.error());
    Reply(res, 202, {{"queued", true}, {"ma", ma}, {"profile", profile}});
  });
  // Unknown paths and methods: JSON like every other answer. Handlers that
  // already wrote a body keep it.
  http_->set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        Reply(res, res.status,
              {{"error", fmt::format("no such endpoint: {} {}; the API offers GET /api/v1/status, GET /api/v1/service "
                                     "and POST /api/v1/runs",
                                     req.method, req.path)},
               {"code", HexCode(ErrorCode::kNotFound)}});
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    ReplyError(res, {ErrorCode::kInternal, "the request failed inside the service; see its log"});
  });
}

ApiServer::~ApiServer() { Stop(); }

Result<std::string> ApiServer::Bind(const std::string& listen, const std::string& setting) {
  IDSYNC_ASSIGN(auto host_port, SplitHostPort(listen, setting));
  auto [host, port] = host_port;
  int bound = port;
  if (port == 0) {
    bound = http_->bind_to_any_port(host);
  } else if (!http_->bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) {
    std::string why = BindFailure(host, port);
    bool taken = why == std::strerror(EADDRINUSE);
    return Fail(taken ? ErrorCode::kBusy : ErrorCode::kIo,
                fmt::format("cannot serve the API on {}: {}{}; change {} to a free loopback address and port (port "
                            "0 picks one)",
                            listen, why, taken ? " (another process listens there)" : "", setting));
  }
  bool v6 = host.find(':') != std::string::npos;
  return v6 ? fmt::format("[{}]:{}", host, bound) : fmt::format("{}:{}", host, bound);
}

Status ApiServer::Start() {
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // stop() is lost if it comes before the listening loop runs, so wait for it.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!http_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline)
      return Fail(ErrorCode::kInternal, "the API server did not start within 5 seconds");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return {};
}

void ApiServer::Stop() {
  if (!thread_.joinable()) return;
  http_->stop();
  thread_.join();
}

}  // namespace idsync
