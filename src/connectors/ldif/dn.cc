#include "connectors/ldif/dn.h"

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

}  // namespace idsync
