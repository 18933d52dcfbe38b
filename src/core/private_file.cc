#include "core/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace idsync {

Status WritePrivateFile(const std::filesystem::path& path, std::string_view data) {
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  std::string temp = (dir / (path.filename().string() + ".tmp-XXXXXX")).string();
  auto io_error = [&](std::string_view what) {
    return Fail(ErrorCode::kIo, fmt::format("cannot write {}: {}: {}", path.string(), what, std::strerror(errno)));
  };
  int fd = mkstemp(temp.data());
  if (fd < 0) return io_error("cannot create a temporary file in " + dir.string());
  size_t done = 0;
  bool ok = fchmod(fd, 0600) == 0;
  while (ok && done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  if (!ok) {
    auto error = io_error("writing " + temp);
    ::close(fd);
    ::unlink(temp.c_str());
    return error;
  }
  if (::close(fd) != 0 || std::rename(temp.c_str(), path.c_str()) != 0) {
    auto error = io_error("replacing the file");
    ::unlink(temp.c_str());
    return error;
  }
  // The rename is durable only once the folder itself is synced.
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("opening folder " + dir.string());
  const bool synced = ::fsync(dir_fd) == 0;
  auto error = synced ? Status{} : Status(io_error("syncing folder " + dir.string()));
  ::close(dir_fd);
  return error;
}

}  // namespace idsync
