// connectors/file_util: small POSIX file helpers shared by the file connectors.
//
// Paths, errno messages, UTF-8 checks and an atomic "write a new version and
// rename it over the old one" writer. Every failure comes back as kIo with
// the path and strerror in the message.
// Thread-safety: free functions are thread-safe; an AtomicFileWriter is used
// by one thread at a time.
#pragma once

#include <string>
#include <string_view>

#include "core/error.h"

namespace idsync {

// `path` unchanged when it is absolute or `base_dir` is empty, otherwise
// base_dir/path.
std::string ResolvePath(std::string_view base_dir, std::string_view path);

// "cannot open PATH: <strerror>; check the path in the management agent's
// settings" as a kIo error.
Error OpenError(const std::string& path, int err);

// kIo error "WHAT PATH: <strerror>", e.g. IoError("cannot write", p, errno).
Error IoError(std::string_view what, const std::string& path, int err);

// Writes all of `data` at the file offset of `fd`, retrying short writes and
// EINTR.
Status WriteAll(int fd, std::string_view data, const std::string& path);

// fsync()s the directory that holds `path`, so a rename or create in it is
// durable.
Status SyncParentDirectory(const std::string& path);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  void Reset();

 private:
  int fd_ = -1;
};

// Writes a complete new version of `path` to `path.tmp-<pid>` in the same
// directory; Commit() fsyncs it, renames it over `path` and fsyncs the
// directory. Until Commit() succeeds the old file is untouched; a writer
// destroyed without a successful Commit() removes its temporary file.
class AtomicFileWriter {
 public:
  // Creates the temporary file (with the mode of an existing `path`, else
  // 0644). Fails with kIo.
  static Result<AtomicFileWriter> Create(std::string path);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&&) = delete;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  // Buffers `data`, writing it out in large blocks.
  Status Append(std::string_view data);
  Status Commit();

  const std::string& temp_path() const { return temp_path_; }

 private:
  AtomicFileWriter(std::string path, std::string temp_path, UniqueFd fd);
  Status Flush();

  std::string path_;
  std::string temp_path_;
  UniqueFd fd_;
  std::string buffer_;
  bool committed_ = false;
};

}  // namespace idsync
