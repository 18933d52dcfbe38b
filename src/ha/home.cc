#include "ha/home.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/private_file.h"

namespace idsync {
namespace fs = std::filesystem;

std::string DefaultHomeDir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("IDSYNC_HOME"); env && *env) return env;
  return "/var/lib/idsync";
}

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0 || !buf[0]) return "localhost";
  return buf;
}

Status ValidateServiceSettings(const ServerHome& home) {
  if (home.heartbeat_interval_ms < 100 || home.heartbeat_interval_ms > 600000)
    return Fail(ErrorCode::kConfig, "service.heartbeat_interval_ms must be between 100 and 600000 (milliseconds)");
  auto colon = home.api_listen.rfind(':');
  bool loopback = home.api_listen.rfind("127.", 0) == 0 || home.api_listen.rfind("[::1]", 0) == 0;
  bool port = colon != std::string::npos && colon + 1 < home.api_listen.size() &&
              home.api_listen.find_first_not_of("0123456789", colon + 1) == std::string::npos &&
              home.api_listen.size() - colon - 1 <= 5 && std::stoi(home.api_listen.substr(colon + 1)) <= 65535;
  if (!loopback || !port)
    return Fail(ErrorCode::kConfig, fmt::format("service.api '{}' must be a loopback address and port, such as "
                                                "127.0.0.1:8095 (port 0 picks a free one)",
                                                home.api_listen));
  return {};
}

Result<ServerHome> ReadHome(const std::string& dir) {
  fs::path file = fs::path(dir) / "server.toml";
  std::error_code ec;
  if (!fs::exists(file, ec)) {
    return Fail(ErrorCode::kNotFound,
                fmt::format("{} holds no idsync server (no server.toml); install one with `idsync-setup "
                            "install --home {}`, or pass the right --home or --db",
                            dir, dir));
  }
  try {
    toml::table t = toml::parse_file(file.string());
    ServerHome home;
    home.dir = dir;
    home.server = t["server"].value_or(std::string());
    home.database = t["database"].value_or(std::string());
    if (home.server.empty() || home.database.empty())
      return Fail(ErrorCode::kConfig, fmt::format("{}: needs both server and database", file.string()));
    if (auto* service = t["service"].as_table()) {
      for (const auto& [key, value] : *service) {
        if (key == "api") {
          home.api_listen = value.value_or(std::string());
        } else if (key == "heartbeat_interval_ms") {
          home.heartbeat_interval_ms = value.value_or(int64_t{0});
        } else {
          return Fail(ErrorCode::kConfig,
                      fmt::format("{}:{}: unknown key service.{} (known: api, heartbeat_interval_ms)",
                                  file.string(), value.source().begin.line, key.str()));
        }
      }
    }
    if (auto st = ValidateServiceSettings(home); !st) return Wrap(st.error(), file.string());
    return home;
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kConfig, fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description()));
  }
}

Status WriteHome(const ServerHome& home, bool overwrite) {
  IDSYNC_TRY(ValidateServiceSettings(home));
  std::error_code ec;
  fs::create_directories(home.dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("cannot create home folder {}: {}", home.dir, ec.message()));
  ::chmod(home.dir.c_str(), 0700);
  fs::path file = fs::path(home.dir) / "server.toml";
  if (!overwrite && fs::exists(file, ec))
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("{} already holds an idsync server ({}); use another --home or remove it first",
                            home.dir, file.string()));
  toml::table t{{"server", home.server},
                {"database", home.database},
                {"service", toml::table{{"api", home.api_listen},
                                        {"heartbeat_interval_ms", home.heartbeat_interval_ms}}}};
  std::ostringstream text_stream;
  text_stream << "# This server's identity; everything else is in the shared database.\n"
              << toml::toml_formatter(t) << "\n";
  return WritePrivateFile(file, text_stream.str());
}

std::string KeySetPath(const ServerHome& home) { return (fs::path(home.dir) / "keys" / "keyset.json").string(); }

}  // namespace idsync
