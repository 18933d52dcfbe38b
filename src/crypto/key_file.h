// crypto/key_file: the key file, a password-sealed backup of the key set.
//
// The key file is how a key set leaves a server: it is exported from the active
// server and used to activate a standby. It opens only with the service
// account's name and password. A trailing checksum lets damaged copies be told
// apart from wrong credentials before any password is tried. The byte layout is
// documented in docs/key-file.md.
// Thread-safety: safe from any thread. Sealing and opening take the Argon2id
// time and memory of the file's parameters (about a quarter of a second and 128 MiB
// with the defaults).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

struct KeySet;

// Argon2id cost of deriving the file key from the password.
struct KeyFileParams {
  unsigned long long opslimit;  // passes over memory, 1..10
  size_t memlimit;              // bytes, 8 KiB..1 GiB
};

// opslimit 3, memlimit 128 MiB: about 0.25 s to open on an idle 2-core server.
KeyFileParams DefaultKeyFileParams();

// Seals `set` for `account` (normalised by the caller, e.g. "CORP\\svc-idsync";
// compared byte for byte when opening) and `password`, and returns the file's
// bytes. kInvalidArgument for an empty account or password, an account with
// control characters or over 512 bytes, params outside the ranges above, or a
// malformed set; kInternal when the Argon2id memory cannot be allocated.
Result<std::string> SealKeyFile(const KeySet& set, std::string_view account, const SecureString& password,
                                KeyFileParams params = DefaultKeyFileParams());

// Opens a key file's bytes.
//  - kKeyFileDamaged: not a key file, truncated, altered in storage or transfer,
//    or a header value out of range; nothing is derived from the password then.
//  - kUnsupported: an intact file of a newer format version (named in the message).
//  - kKeyFileLocked: an intact file that does not open with `account` and
//    `password` (a deliberately edited and re-checksummed header also ends here).
// Messages do not name a file; callers add the path with Wrap().
Result<KeySet> OpenKeyFile(std::string_view bytes, std::string_view account, const SecureString& password);

// What a key file's header tells without the password.
struct KeyFileInfo {
  int format_version = 0;
  std::string set_id;      // the key set's id (32 hex chars)
  std::string account;     // the account it was sealed for
  std::string created_at;  // when it was sealed, ISO 8601 UTC
};

// Reads the header, checking the checksum first. kKeyFileDamaged and
// kUnsupported as for OpenKeyFile. The values are not authenticated until the
// file is opened with the password.
Result<KeyFileInfo> ReadKeyFileInfo(std::string_view bytes);

}  // namespace idsync
