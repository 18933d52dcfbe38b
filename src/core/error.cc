#include "core/error.h"

#include <fmt/format.h>

namespace idsync {
namespace {

struct CodeInfo {
  ErrorCode code;
  std::string_view name;
  int exit_code;
  uint32_t hex;
};

// The single table mapping error codes to names, exit codes and hex codes.
// Exit codes: 1 is reserved for "run finished with a non-success status".
constexpr CodeInfo kCodes[] = {
    {ErrorCode::kInvalidArgument, "invalid-argument", 2, 0x80230001},
    {ErrorCode::kParse, "parse-error", 3, 0x80230002},
    {ErrorCode::kConfig, "config-error", 4, 0x80230003},
    {ErrorCode::kNotFound, "not-found", 5, 0x80230004},
    {ErrorCode::kAlreadyExists, "already-exists", 6, 0x80230005},
    {ErrorCode::kIo, "io-error", 7, 0x80230006},
    {ErrorCode::kBusy, "busy", 8, 0x80230007},
    {ErrorCode::kSchemaMismatch, "schema-mismatch", 9, 0x80230443},
    {ErrorCode::kFenced, "not-active", 10, 0x80230008},
    {ErrorCode::kPermission, "permission-denied", 11, 0x80230009},
    {ErrorCode::kAuth, "authentication-failed", 12, 0x8023000A},
    {ErrorCode::kLimit, "limit-reached", 13, 0x8023000B},
    {ErrorCode::kUnsupported, "unsupported", 14, 0x8023000C},
    {ErrorCode::kDatabase, "database-error", 15, 0x8023000D},
    {ErrorCode::kKeyFileDamaged, "key-file-damaged", 16, 0x8023000E},
    {ErrorCode::kKeyFileLocked, "key-file-credentials", 17, 0x8023000F},
    {ErrorCode::kKeySetMismatch, "key-set-mismatch", 18, 0x80230010},
    {ErrorCode::kLocalGroup, "local-group", 19, 0x80230011},
    {ErrorCode::kInternal, "internal-error", 70, 0x8023FFFF},
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

std::string FormatError(const Error& e) {
  return fmt::format("0x{:08X}: {}", HexCodeFor(e.code), e.message);
}

}  // namespace idsync
