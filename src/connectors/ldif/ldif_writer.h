// connectors/ldif/ldif_writer: formats export changes as LDIF change records.
//
// Lines are those libldap's ldif_sput_wrap() writes (a short line of plain
// characters is formatted here, in the same bytes): a value that is not a
// safe string (leading space, ':' or '<', trailing space, control or
// non-ASCII bytes) is written base64 ("name:: ..."), as is every userPassword
// value (a libldap rule), and lines are folded at 76 characters.
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>

#include "connectors/connector.h"

namespace idsync {

// Appends one "name: value" line (base64 and folded as needed).
void AppendLdifLine(std::string& out, std::string_view name, std::string_view value);

// Appends `change` as a change record followed by a blank line:
//   kAdd     changetype: add, every attribute; objectClass: `object_class`
//            first when the attributes have none and it is not empty
//   kModify  changetype: modify, one add/delete/replace block per change
//            (each ended by "-"); a kModify without changes writes nothing
//   kRename  changetype: modrdn, newrdn, deleteoldrdn: 1, and newsuperior
//            when the parent DN changes
//   kDelete  changetype: delete
// Fails with kInvalidArgument (and appends nothing) when the DN is empty, a
// kRename has no new_dn, or an attribute name could not be read back.
Status AppendLdifChange(std::string& out, const ExportChange& change, std::string_view object_class);

}  // namespace idsync
