// core/error: the one error type that crosses module boundaries.
//
// Every fallible function returns Result<T> (tl::expected<T, Error>) or Status.
// The mapping of ErrorCode to process exit codes, to the product's hex codes
// (0x80230443 for a schema mismatch) and to HTTP statuses lives in error.cc
// and nowhere else.
// Thread-safety: plain values, safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace idsync {

enum class ErrorCode {
  kInvalidArgument,  // a user-supplied value is malformed (flag, name, expression)
  kParse,            // a file could not be parsed (CSV, LDIF, TOML)
  kConfig,           // configuration is well-formed but invalid
  kNotFound,         // a named thing does not exist
  kAlreadyExists,    // a thing that must be unique already exists
  kIo,               // reading or writing a file failed
  kBusy,             // another process holds what we need (database, run lock)
  kSchemaMismatch,   // the database schema is not the one this program knows
  kFenced,           // this server is no longer the active one
  kPermission,       // the caller lacks the rights for the operation
  kAuth,             // credentials were refused
  kLimit,            // a configured limit stopped the work
  kUnsupported,      // the connector or backend cannot do this
  kDatabase,         // the database reported an unexpected error
  kKeyFileDamaged,   // a key file is truncated, corrupted or not a key file
  kKeyFileLocked,    // a key file does not open with the credentials given
  kKeySetMismatch,   // a key file or key set belongs to another installation
  kLocalGroup,       // a role group is host-local where a domain group is needed
  kInternal,         // a bug: an invariant did not hold
};

struct Error {
  ErrorCode code;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;
using Status = Result<void>;

// Shorthand for returning an error: `return Fail(ErrorCode::kIo, "...")`.
inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// Adds context in front of an error's message, keeping its code.
inline tl::unexpected<Error> Wrap(const Error& e, std::string_view context) {
  return tl::unexpected<Error>(Error{e.code, std::string(context) + ": " + e.message});
}

// Short stable name of a code, e.g. "schema-mismatch"; used in --json output.
std::string_view ErrorCodeName(ErrorCode code);

// The process exit status for a command that failed with this code (never 0).
int ExitCodeFor(ErrorCode code);

// The product's hex code for this error, e.g. 0x80230443 for kSchemaMismatch.
uint32_t HexCodeFor(ErrorCode code);

// The HTTP status the service's API answers with for this error.
int HttpStatusFor(ErrorCode code);

// "0x80230443: <message>" — how errors are shown to administrators.
std::string FormatError(const Error& e);

}  // namespace idsync

// Propagates an error from an expression returning Result/Status.
#define IDSYNC_TRY(expr)                                  \
  do {                                                    \
    auto idsync_try_result_ = (expr);                     \
    if (!idsync_try_result_)                              \
      return tl::unexpected(idsync_try_result_.error());  \
  } while (0)

#define IDSYNC_CONCAT_INNER_(a, b) a##b
#define IDSYNC_CONCAT_(a, b) IDSYNC_CONCAT_INNER_(a, b)
// IDSYNC_ASSIGN(auto x, ExprReturningResult());
#define IDSYNC_ASSIGN(lhs, expr) IDSYNC_ASSIGN_IMPL_(IDSYNC_CONCAT_(idsync_r_, __LINE__), lhs, expr)
#define IDSYNC_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                        \
  if (!tmp) return tl::unexpected(tmp.error()); \
  lhs = std::move(*tmp)
