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
#include "core/name_map.h"

namespace idsync {

bool EqualsIgnoreCase(std::string_view a, std::string_view b);
std::string ToLower(std::string_view s);

using Values = std::vector<std::string>;
// Sorted by name, ignoring case; see core/name_map.h.
using AttributeMap = NameMap<Values>;

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
std::string EncodeStringPairs(const NameMap<std::string>& pairs);
Result<std::vector<std::string>> DecodeStrings(std::string_view blob);
// The map that list gives: of a key given twice (ignoring case), the first
// spelling and the last value; an odd last item is ignored. Fails as
// DecodeAttributes.
Result<NameMap<std::string>> DecodeStringPairs(std::string_view blob);

}  // namespace idsync
