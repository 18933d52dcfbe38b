// ha/install: creating an installation (the first server on a new database).
//
// Install() creates the schema, records the service account (name and an
// Argon2id hash of its password) and the role groups, registers this server
// and makes it active at epoch 1, then writes the server's home. It either
// completes or leaves nothing behind: a database file it created is removed
// again on failure.
// Thread-safety: one call at a time per home.
#pragma once

#include <string>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

// "[DOMAIN\]USER" or "[\]USER".
struct AccountName {
  std::string domain;  // empty for "USER" and "\USER"
  std::string user;
  std::string ToString() const;  // "DOMAIN\USER" or "USER"
};
// kInvalidArgument naming the accepted forms when `text` is malformed.
Result<AccountName> ParseAccountName(std::string_view text);

// "domain:NAME" or "local:NAME".
struct GroupRef {
  std::string scope;  // "domain" | "local"
  std::string name;
};
Result<GroupRef> ParseGroupRef(std::string_view text, std::string_view flag);

struct InstallOptions {
  std::string home_dir;
  std::string database;  // URL
  std::string server;    // default: host name
  std::string service_account;
  SecureString service_password;
  std::string admins_group;
};

struct InstallResult {
  std::string server;
  std::string database;
  std::string installation_id;
  int64_t epoch = 0;
};

Result<InstallResult> Install(InstallOptions options);

}  // namespace idsync
