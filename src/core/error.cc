#include "core/error.h"

#include <fmt/format.h>

namespace idsync {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int exit_code;
  uint32_t hex;
  int http_status;  // what the service's API answers
};

// The single table mapping error codes to names, exit codes and hex codes.
// Exit codes: 1 is reserved for "run finished with a non-success status".
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kInvalidArgument, "invalid-argument", 2, 0x80230001, 400},
    {ErrorCode::kParse, "parse-error", 3, 0x80230002, 400},
    {ErrorCode::kConfig, "config-error", 4, 0x80230003, 422},
    {ErrorCode::kNotFound, "not-found", 5, 0x80230004, 404},
    {ErrorCode::kAlreadyExists, "already-exists", 6, 0x80230005, 409},
    {ErrorCode::kIo, "io-error", 7, 0x80230006, 503},
    {ErrorCode::kBusy, "busy", 8, 0x80230007, 503},
    {ErrorCode::kSchemaMismatch, "schema-mismatch", 9, 0x80230443, 503},
    {ErrorCode::kFenced, "not-active", 10, 0x80230008, 409},
    {ErrorCode::kPermission, "permission-denied", 11, 0x80230009, 403},
    {ErrorCode::kAuth, "authentication-failed", 12, 0x8023000A, 401},
    {ErrorCode::kLimit, "limit-reached", 13, 0x8023000B, 500},
    {ErrorCode::kUnsupported, "unsupported", 14, 0x8023000C, 500},
    {ErrorCode::kDatabase, "database-error", 15, 0x8023000D, 503},
    {ErrorCode::kKeyFileDamaged, "key-file-damaged", 16, 0x8023000E, 500},
    {ErrorCode::kKeyFileLocked, "key-file-credentials", 17, 0x8023000F, 500},
    {ErrorCode::kKeySetMismatch, "key-set-mismatch", 18, 0x80230010, 500},
    {ErrorCode::kLocalGroup, "local-group", 19, 0x80230011, 500},
    {ErrorCode::kInternal, "internal-error", 70, 0x8023FFFF, 500},
};

const CodeInfo& Info(ErrorCode code) {
  for (const auto& c : kCodes)
    if (c.code == code) return c;
  return kCodes[std::size(kCodes) - 1];
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) { return Info(code).name; }
int ExitCodeFor(ErrorCode code) { return Info(code).exit_code; }
uint32_t HexCodeFor(ErrorCode code) { return Info(code).hex; }
int HttpStatusFor(ErrorCode code) { return Info(code).http_status; }

std::string FormatError(const Error& e) {
  return fmt::format("0x{:08X}: {}", HexCodeFor(e.code), e.message);
}

}  // namespace idsync
