// ha/principals: who belongs to a role. A role group is either a domain
// group, kept with its members in the shared database (the same on every
// server), or a local group of this host, read from its group file
// (/etc/group, or another file in the same format for tests).
// Thread-safety: plain functions over a Store the caller owns.
#pragma once

#include <string>

#include "core/error.h"
#include "ha/install.h"
#include "store/store.h"

namespace idsync {

struct RoleMembership {
  bool member = false;
  std::string group;  // "domain:NAME" or "local:NAME"; empty when the role has no group
  std::string via;    // the group through which membership was found
};

// Whether `user` belongs to the role's group. For a domain group, the user
// is the principal DOMAIN\NAME (a name without a domain is looked up in the
// group's domain) and groups nest; for a local group the user's name
// (without domain) is looked up among the group's members in `group_file`.
Result<RoleMembership> CheckRoleMember(Store& store, std::string_view role, const AccountName& user,
                                       const std::string& group_file = "/etc/group");

}  // namespace idsync
