// core/attributes: the identity model shared by every module.
//
// An object's attributes are a map from attribute name to its values. Names
// compare case-insensitively (as in LDAP) but keep the spelling first given.
// A single-valued attribute is a list of one; an absent attribute has no key
// (an empty list is normalised away by Normalize()). Values are UTF-8 strings;
// a reference value holds the referenced object's anchor or DN in a connector
// space and an MV object id ("mv:<n>") in the metaverse.
// Thread-safety: plain values.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace idsync {

// ASCII letters folded to lower case; every other byte as it is.
inline unsigned char FoldAscii(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// Defined here so that it is inlined into every attribute-map lookup.
struct CaseInsensitiveLess {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n; ++i) {
      unsigned char x = a[i], y = b[i];
      if (x == y) continue;  // the usual case, without folding
      x = FoldAscii(x);
      y = FoldAscii(y);
      if (x != y) return x < y;
    }
    return a.size() < b.size();
  }
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);

using Values = std::vector<std::string>;
using AttributeMap = std::map<std::string, Values, CaseInsensitiveLess>;

// Removes attributes with no values.
void Normalize(AttributeMap& attrs);

// First value of an attribute, or empty when absent.
std::string_view FirstValue(const AttributeMap& attrs, std::string_view name);

// Compact binary encoding used by the store. Decode fails with kDatabase on
// truncated or corrupted input rather than reading past the end.
std::string EncodeAttributes(const AttributeMap& attrs);
Result<AttributeMap> DecodeAttributes(std::string_view blob);

// Same encoding for a plain list of strings.
std::string EncodeStrings(const std::vector<std::string>& items);
// EncodeStrings of the list key, value, key, value, ... of `pairs`, without
// building that list.
std::string EncodeStringPairs(const std::map<std::string, std::string, CaseInsensitiveLess>& pairs);
Result<std::vector<std::string>> DecodeStrings(std::string_view blob);

}  // namespace idsync
