// connectors/ldif/dn: the little DN handling renames need, on DN strings as
// written (no normalisation, so the spelling round-trips).
//
// RDNs are separated by unescaped ',' (RFC 4514); a backslash escapes the next
// character (so "\," and "\2C" never split) and a double-quoted value (RFC 1779)
// is skipped whole. Spaces after a separator are dropped.
// Thread-safety: stateless functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace idsync {

struct DnParts {
  std::string_view rdn;     // "cn=a\,b" of "cn=a\,b,dc=x"
  std::string_view parent;  // "dc=x"; empty for a one-RDN DN
};

// Splits `dn` at its first unescaped ','. Views point into `dn`.
DnParts SplitDn(std::string_view dn);

// "rdn,parent", or just `rdn` when `parent` is empty.
std::string JoinDn(std::string_view rdn, std::string_view parent);

// The attribute values an RDN names ("cn=a+sn=b" -> {cn,a},{sn,b}), unescaped,
// parsed by libldap. Empty when the RDN is malformed.
std::vector<std::pair<std::string, std::string>> RdnValues(std::string_view rdn);

// The attribute of the first RDN component of `dn` whose value is empty
// ("cn" of "cn=,ou=people"), as libldap parses the DN; empty when every value
// has text or when `dn` is not an LDAP DN at all (a file's plain key).
std::string EmptyRdnValueAttribute(std::string_view dn);

}  // namespace idsync
