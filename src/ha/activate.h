// ha/activate: making a standby the active server (idsync-activate).
//
// Activate() runs the checks in a fixed order, each failing with its own
// code, and changes nothing unless all pass: the schema version
// (0x80230443), the key file (readable, intact, opens with the credentials),
// the key set (this installation's), the credentials (the service
// account's), the admins group (a domain group). Then, in one database
// transaction, this server becomes active at epoch + 1 and the activation
// is recorded; the key set is installed under the home (the previous one is
// put back if the transaction fails). The local service notices within a
// second; the deposed server's next write fails.
// Thread-safety: one call at a time per home.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "crypto/password.h"

namespace idsync {

struct ActivationRequest {
  std::string home_dir;
  std::string key_file;
  std::string user;  // [DOMAIN\]USER or [\]USER
  SecureString password;
  std::string os_user;
  bool check_only = false;
  // Asked after the checks pass and before anything changes, with the
  // warnings; returning false cancels (no confirmation in quiet mode).
  std::function<bool(const std::vector<std::string>& warnings)> confirm;
};

struct ActivationCheck {
  std::string name;     // "schema", "key-file", "key-set", "credentials", "admins-group"
  std::string outcome;  // "ok" or the message
};

struct ActivationResult {
  std::string server;
  std::string previous_server;
  int64_t from_epoch = 0, to_epoch = 0;
  bool already_active = false;
  bool cancelled = false;
  std::vector<ActivationCheck> checks;  // those that passed, in order
  std::vector<std::string> warnings;
  double seconds = 0;  // from the first check to the commit, prompts excluded
};

Result<ActivationResult> Activate(ActivationRequest request);

// Whether the OS user may activate: root, or the owner of the home folder
// (the service's own user). kPermission saying who may otherwise.
Status CheckActivationRights(const std::string& home_dir);

}  // namespace idsync
