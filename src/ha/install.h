// ha/install: adding a server to an installation, in the order the
// warm-standby procedure uses.
//
// On an empty database Install() creates the schema and a new key set (kept
// under the home, never in the database, which keeps only its check
// values), records the service account (an Argon2id hash of its password)
// and the role groups, registers this server and makes it active at epoch 1.
// On a database that already holds an installation it needs the
// installation's key file and the service account's credentials; with
// `standby` it registers this server as a standby, otherwise it takes the
// active role (epoch + 1) only when no active server's service is
// heartbeating. Either way it completes or leaves nothing behind: not in
// the database, not under the home.
// Thread-safety: one call at a time per home.
#pragma once

#include <map>
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
  std::string ToString() const { return scope + ":" + name; }
};
Result<GroupRef> ParseGroupRef(std::string_view text, std::string_view flag);

// The roles setup records a group for, with their flags.
inline constexpr const char* kRoles[] = {"admins", "operators", "joiners", "browse", "passwordset"};

struct InstallOptions {
  std::string home_dir;
  std::string database;  // URL
  std::string server;    // default: host name
  std::string service_account;
  SecureString service_password;
  std::map<std::string, std::string> groups;  // role -> "domain:NAME" as given
  std::string keys_file;  // required on an existing installation
  bool standby = false;
  std::string api_listen;  // the service's API address; empty: the default
  std::string os_user;     // who ran setup, for the record
};

struct InstallResult {
  std::string server;
  std::string database;
  std::string installation_id;
  std::string role;  // "active" | "standby"
  int64_t epoch = 0;
  bool new_installation = false;
};

Result<InstallResult> Install(InstallOptions options);

// Re-points role groups (e.g. from local: to domain:) for every server.
struct RepairOptions {
  std::string home_dir;
  std::map<std::string, std::string> groups;  // role -> "domain:NAME"
};
struct RepairResult {
  std::map<std::string, std::pair<std::string, std::string>> changed;  // role -> (before, after)
};
Result<RepairResult> Repair(const RepairOptions& options);

// Applies the migrations this release knows to the home's database.
struct UpgradeResult {
  int64_t from_version = 0, to_version = 0;
};
Result<UpgradeResult> Upgrade(const std::string& home_dir);

}  // namespace idsync
