#include "ha/home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

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
    return home;
  } catch (const toml::parse_error& e) {
    return Fail(ErrorCode::kConfig, fmt::format("{}:{}: {}", file.string(), e.source().begin.line, e.description()));
  }
}

Status WriteHome(const ServerHome& home, bool overwrite) {
  std::error_code ec;
  fs::create_directories(home.dir, ec);
  if (ec) return Fail(ErrorCode::kIo, fmt::format("cannot create home folder {}: {}", home.dir, ec.message()));
  ::chmod(home.dir.c_str(), 0700);
  fs::path file = fs::path(home.dir) / "server.toml";
  if (!overwrite && fs::exists(file, ec))
    return Fail(ErrorCode::kAlreadyExists,
                fmt::format("{} already holds an idsync server ({}); use another --home or remove it first",
                            home.dir, file.string()));
  toml::table t{{"server", home.server}, {"database", home.database}};
  std::ostringstream text_stream;
  text_stream << "# This server's identity; everything else is in the shared database.\n"
              << toml::toml_formatter(t) << "\n";
  std::string text = text_stream.str();
  fs::path tmp = file;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIo, fmt::format("cannot write {}: {}", tmp.string(), std::strerror(errno)));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    ::unlink(tmp.c_str());
    return Fail(ErrorCode::kIo, fmt::format("cannot write {}: {}", file.string(), std::strerror(errno)));
  }
  return {};
}

}  // namespace idsync
