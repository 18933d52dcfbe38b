#include "connectors/ldif/ldif_export.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <optional>

#include "connectors/file_util.h"
#include "connectors/ldif/ldif_writer.h"

namespace idsync {
namespace {

constexpr size_t kFlushThreshold = 4 << 20;

struct BatchMark {
  int64_t batch_id = 0;
  uint64_t offset = 0;
};

Result<std::optional<BatchMark>> ReadSidecar(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT) return std::optional<BatchMark>();
    return tl::unexpected(IoError("cannot open", path, errno));
  }
  char text[64];
  ssize_t n;
  do {
    n = ::read(fd.get(), text, sizeof text);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return tl::unexpected(IoError("cannot read", path, errno));
  const char* p = text;
  const char* end = text + n;
  BatchMark mark;
  auto r1 = std::from_chars(p, end, mark.batch_id);
  bool ok = r1.ec == std::errc() && r1.ptr < end && *r1.ptr == ' ';
  if (ok) {
    auto r2 = std::from_chars(r1.ptr + 1, end, mark.offset);
    ok = r2.ec == std::errc() && r2.ptr + 1 == end && *r2.ptr == '\n';
  }
  if (!ok) {
    return Fail(ErrorCode::kParse, path +
                                       " is damaged (expected '<batch> <offset>'); if no export is "
                                       "being retried, delete it");
  }
  return std::optional<BatchMark>(mark);
}

Status WriteSidecar(const std::string& path, BatchMark mark) {
  IDSYNC_ASSIGN(AtomicFileWriter writer, AtomicFileWriter::Create(path));
  IDSYNC_TRY(writer.Append(std::to_string(mark.batch_id) + " " + std::to_string(mark.offset) + "\n"));
  return writer.Commit();
}

const ConnectorObjectType* FindType(const std::vector<ConnectorObjectType>& types, std::string_view name) {
  for (const auto& t : types) {
    if (EqualsIgnoreCase(t.name, name)) return &t;
  }
  return types.size() == 1 ? &types.front() : nullptr;
}

class LdifExportSession final : public ExportSession {
 public:
  LdifExportSession(std::string path, UniqueFd fd, uint64_t start, bool created,
                    std::vector<ConnectorObjectType> types)
      : path_(std::move(path)),
        fd_(std::move(fd)),
        start_(start),
        created_(created),
        types_(std::move(types)) {
    if (start_ == 0) buffer_ = "version: 1\n\n";
  }

  ~LdifExportSession() override {
    // Abandoned: take back what reached the file (best effort; a retry of the
    // batch truncates anyway).
    if (!committed_ && wrote_to_file_) {
      if (::ftruncate(fd_.get(), static_cast<off_t>(start_)) == 0) ::fsync(fd_.get());
    }
  }

  Status Write(const ExportChange& change) override {
    IDSYNC_TRY(Usable());
    const ConnectorObjectType* type = FindType(types_, change.object_type);
    IDSYNC_TRY(AppendLdifChange(buffer_, change, type ? std::string_view(type->object_class) : ""));
    if (buffer_.size() >= kFlushThreshold) return Flush();
    return {};
  }

  Status Commit() override {
    IDSYNC_TRY(Usable());
    IDSYNC_TRY(Flush());
    if (::fsync(fd_.get()) != 0) return Broken(IoError("cannot fsync", path_, errno));
    if (created_) IDSYNC_TRY(SyncParentDirectory(path_));
    committed_ = true;
    return {};
  }

 private:
  Status Usable() const {
    if (committed_) return Fail(ErrorCode::kInternal, "export batch for " + path_ + " was already committed");
    if (failure_) return tl::unexpected(*failure_);
    return {};
  }

  Status Broken(Error e) {
    failure_ = e;
    return tl::unexpected(std::move(e));
  }

  Status Flush() {
    if (buffer_.empty()) return {};
    wrote_to_file_ = true;
    auto written = WriteAll(fd_.get(), buffer_, path_);
    if (!written) return Broken(written.error());
    buffer_.clear();
    return {};
  }

  std::string path_;
  UniqueFd fd_;
  uint64_t start_;
  bool created_;
  std::vector<ConnectorObjectType> types_;
  std::string buffer_;
  bool wrote_to_file_ = false;
  bool committed_ = false;
  std::optional<Error> failure_;
};

}  // namespace

std::string LdifBatchSidecarPath(const std::string& export_path) { return export_path + ".idsync-batch"; }

Result<std::unique_ptr<ExportSession>> BeginLdifExport(const std::string& export_path,
                                                       std::vector<ConnectorObjectType> types,
                                                       int64_t batch_id) {
  struct stat st;
  bool created = ::stat(export_path.c_str(), &st) != 0 && errno == ENOENT;
  UniqueFd fd(::open(export_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return tl::unexpected(OpenError(export_path, errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return Fail(ErrorCode::kBusy, "another export is writing " + export_path);
    }
    return tl::unexpected(IoError("cannot lock", export_path, errno));
  }
  if (::fstat(fd.get(), &st) != 0) return tl::unexpected(IoError("cannot stat", export_path, errno));
  auto size = static_cast<uint64_t>(st.st_size);

  std::string sidecar = LdifBatchSidecarPath(export_path);
  IDSYNC_ASSIGN(std::optional<BatchMark> mark, ReadSidecar(sidecar));
  uint64_t start = size;
  if (mark && mark->batch_id == batch_id && mark->offset <= size) {
    // A retry: drop whatever the earlier attempt wrote.
    start = mark->offset;
    if (size > start) {
      if (::ftruncate(fd.get(), static_cast<off_t>(start)) != 0 || ::fsync(fd.get()) != 0) {
        return tl::unexpected(IoError("cannot truncate", export_path, errno));
      }
    }
  } else {
    // Durable before the first byte of the batch reaches the file.
    IDSYNC_TRY(WriteSidecar(sidecar, BatchMark{batch_id, size}));
  }
  if (::lseek(fd.get(), static_cast<off_t>(start), SEEK_SET) < 0) {
    return tl::unexpected(IoError("cannot seek in", export_path, errno));
  }
  return std::unique_ptr<ExportSession>(
      std::make_unique<LdifExportSession>(export_path, std::move(fd), start, created, std::move(types)));
}

}  // namespace idsync
