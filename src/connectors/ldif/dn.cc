#include "connectors/ldif/dn.h"

#include <ldap.h>

namespace idsync {

DnParts SplitDn(std::string_view dn) {
  bool quoted = false;
  for (size_t i = 0; i < dn.size(); ++i) {
    char c = dn[i];
    if (c == '\\') {
      ++i;  // the escaped character (or the first of a hex pair) never splits
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      std::string_view parent = dn.substr(i + 1);
      while (!parent.empty() && parent.front() == ' ') parent.remove_prefix(1);
      return {dn.substr(0, i), parent};
    }
  }
  return {dn, {}};
}

std::string JoinDn(std::string_view rdn, std::string_view parent) {
  std::string out(rdn);
  if (!parent.empty()) {
    out.push_back(',');
    out.append(parent);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> RdnValues(std::string_view rdn) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string text(rdn);
  LDAPRDN parsed = nullptr;
  char* next = nullptr;
  if (ldap_str2rdn(text.c_str(), &parsed, &next, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !parsed) return out;
  for (int i = 0; parsed[i]; ++i) {
    const LDAPAVA* ava = parsed[i];
    out.emplace_back(std::string(ava->la_attr.bv_val, ava->la_attr.bv_len),
                     std::string(ava->la_value.bv_val, ava->la_value.bv_len));
  }
  ldap_rdnfree(parsed);
  return out;
}

namespace {

// Whether some '=' of `dn` is followed, after spaces, by the end or by a
// character that ends or quotes a value: only then can a value be empty.
// Most DNs have none, and this scan costs far less than libldap's parse,
// which runs for every object provisioned.
bool MayHaveEmptyValue(std::string_view dn) {
  for (size_t i = dn.find('='); i != std::string_view::npos; i = dn.find('=', i + 1)) {
    size_t j = i + 1;
    while (j < dn.size() && dn[j] == ' ') ++j;
    if (j == dn.size() || dn[j] == ',' || dn[j] == '+' || dn[j] == ';' || dn[j] == '"' || dn[j] == '#') return true;
  }
  return false;
}

}  // namespace

std::string EmptyRdnValueAttribute(std::string_view dn) {
  if (!MayHaveEmptyValue(dn)) return {};
  std::string text(dn);
  LDAPDN parsed = nullptr;
  if (ldap_str2dn(text.c_str(), &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !parsed) return {};
  std::string found;
  for (int i = 0; parsed[i] && found.empty(); ++i)
    for (int j = 0; parsed[i][j]; ++j) {
      const LDAPAVA* ava = parsed[i][j];
      if (ava->la_value.bv_len == 0) {
        found.assign(ava->la_attr.bv_val, ava->la_attr.bv_len);
        break;
      }
    }
  ldap_dnfree(parsed);
  return found;
}

}  // namespace idsync
