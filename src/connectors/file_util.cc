#include "connectors/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace idsync {
namespace {

constexpr size_t kFlushThreshold = 1 << 20;

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string ResolvePath(std::string_view base_dir, std::string_view path) {
  if (path.empty() || path.front() == '/' || base_dir.empty()) return std::string(path);
  std::string out(base_dir);
  if (out.back() != '/') out.push_back('/');
  out.append(path);
  return out;
}

Error OpenError(const std::string& path, int err) {
  return Error{ErrorCode::kIo, "cannot open " + path + ": " + std::strerror(err) +
                                   "; check the path in the management agent's settings"};
}

Error IoError(std::string_view what, const std::string& path, int err) {
  return Error{ErrorCode::kIo, std::string(what) + " " + path + ": " + std::strerror(err)};
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::unexpected(IoError("cannot write", path, errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status SyncParentDirectory(const std::string& path) {
  std::string dir = DirectoryOf(path);
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return tl::unexpected(IoError("cannot open directory", dir, errno));
  if (::fsync(fd.get()) != 0) return tl::unexpected(IoError("cannot fsync directory", dir, errno));
  return {};
}

bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const unsigned char* end = p + s.size();
  while (p < end) {
    // Fast path: eight ASCII bytes at a time.
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      if ((word & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (end - p <= extra) return false;
    for (int i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    p += extra + 1;
  }
  return true;
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Reset();
    fd_ = other.Release();
  }
  return *this;
}

int UniqueFd::Release() { return std::exchange(fd_, -1); }

void UniqueFd::Reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Result<AtomicFileWriter> AtomicFileWriter::Create(std::string path) {
  std::string temp = path + ".tmp-" + std::to_string(::getpid());
  mode_t mode = 0644;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return tl::unexpected(IoError("cannot create", temp, errno));
  // open() applies the umask; keep the old file's mode exactly.
  if (::fchmod(fd.get(), mode) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return tl::unexpected(IoError("cannot set the mode of", temp, err));
  }
  return AtomicFileWriter(std::move(path), std::move(temp), std::move(fd));
}

AtomicFileWriter::AtomicFileWriter(std::string path, std::string temp_path, UniqueFd fd)
    : path_(std::move(path)), temp_path_(std::move(temp_path)), fd_(std::move(fd)) {}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      fd_(std::move(other.fd_)),
      buffer_(std::move(other.buffer_)),
      committed_(std::exchange(other.committed_, true)) {}

AtomicFileWriter::~AtomicFileWriter() {
  if (committed_) return;
  fd_.Reset();
  ::unlink(temp_path_.c_str());
}

Status AtomicFileWriter::Append(std::string_view data) {
  buffer_.append(data);
  if (buffer_.size() >= kFlushThreshold) return Flush();
  return {};
}

Status AtomicFileWriter::Flush() {
  IDSYNC_TRY(WriteAll(fd_.get(), buffer_, temp_path_));
  buffer_.clear();
  return {};
}

Status AtomicFileWriter::Commit() {
  if (committed_) return Fail(ErrorCode::kInternal, "file " + path_ + " was already committed");
  IDSYNC_TRY(Flush());
  if (::fsync(fd_.get()) != 0) return tl::unexpected(IoError("cannot fsync", temp_path_, errno));
  if (::close(fd_.Release()) != 0) return tl::unexpected(IoError("cannot close", temp_path_, errno));
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    return tl::unexpected(IoError("cannot rename " + temp_path_ + " to", path_, errno));
  }
  committed_ = true;
  return SyncParentDirectory(path_);
}

}  // namespace idsync
