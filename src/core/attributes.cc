#include "core/attributes.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace idsync {
namespace {

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

bool GetVarint(std::string_view& in, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    auto b = static_cast<unsigned char>(in.front());
    in.remove_prefix(1);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// What PutVarint and PutString append.
size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
size_t StringSize(std::string_view s) { return VarintSize(s.size()) + s.size(); }

// What PutVarint and PutString append, written at `p` (room for it is
// there); return the end of what they wrote.
char* WriteVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
char* WriteString(char* p, std::string_view s) {
  p = WriteVarint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

void PutString(std::string& out, std::string_view s) {
  PutVarint(out, s.size());
  out.append(s);
}

bool GetString(std::string_view& in, std::string& s) {
  uint64_t n;
  if (!GetVarint(in, n) || n > in.size()) return false;
  s.assign(in.substr(0, n));
  in.remove_prefix(n);
  return true;
}

tl::unexpected<Error> Corrupt() {
  return Fail(ErrorCode::kDatabase, "stored attribute data is corrupted");
}

}  // namespace

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (FoldAscii(a[i]) != FoldAscii(b[i])) return false;
  return true;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(FoldAscii(c));
  return out;
}

void Normalize(AttributeMap& attrs) {
  erase_if(attrs, [](const auto& kv) { return kv.second.empty(); });
}

std::string_view FirstValue(const AttributeMap& attrs, std::string_view name) {
  auto it = attrs.find(name);
  if (it == attrs.end() || it->second.empty()) return {};
  return it->second.front();
}

std::string EncodeAttributes(const AttributeMap& attrs) {
  size_t size = VarintSize(attrs.size());
  for (const auto& [name, values] : attrs) {
    size += StringSize(name) + VarintSize(values.size());
    for (const auto& v : values) size += StringSize(v);
  }
  // Written in place: the size is known, so no append checks its capacity.
  std::string out(size, '\0');
  char* p = out.data();
  p = WriteVarint(p, attrs.size());
  for (const auto& [name, values] : attrs) {
    p = WriteString(p, name);
    p = WriteVarint(p, values.size());
    for (const auto& v : values) p = WriteString(p, v);
  }
  return out;
}

Result<AttributeMap> DecodeAttributes(std::string_view in) {
  AttributeMap attrs;
  if (in.empty()) return attrs;
  uint64_t count;
  // Each attribute takes two bytes at least (its name's length and its
  // number of values), which bounds what is reserved for a corrupted count.
  if (!GetVarint(in, count) || count > in.size() / 2) return Corrupt();
  attrs.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    std::string name;
    uint64_t nvalues;
    if (!GetString(in, name) || !GetVarint(in, nvalues) || nvalues > in.size()) return Corrupt();
    Values values(nvalues);
    for (auto& v : values)
      if (!GetString(in, v)) return Corrupt();
    // Encoded in the map's order, so each name is appended; a blob out of
    // order still decodes as the map would have taken it (sorted, the
    // first of names equal but for case kept).
    attrs.emplace_hint(attrs.end(), std::move(name), std::move(values));
  }
  if (!in.empty()) return Corrupt();
  return attrs;
}

std::string EncodeStrings(const std::vector<std::string>& items) {
  std::string out;
  PutVarint(out, items.size());
  for (const auto& s : items) PutString(out, s);
  return out;
}

std::string EncodeStringPairs(const NameMap<std::string>& pairs) {
  size_t size = VarintSize(pairs.size() * 2);
  for (const auto& [key, value] : pairs) size += StringSize(key) + StringSize(value);
  std::string out(size, '\0');
  char* p = WriteVarint(out.data(), pairs.size() * 2);
  for (const auto& [key, value] : pairs) {
    p = WriteString(p, key);
    p = WriteString(p, value);
  }
  return out;
}

Result<std::vector<std::string>> DecodeStrings(std::string_view in) {
  std::vector<std::string> items;
  if (in.empty()) return items;
  uint64_t count;
  if (!GetVarint(in, count) || count > in.size()) return Corrupt();
  items.resize(count);
  for (auto& s : items)
    if (!GetString(in, s)) return Corrupt();
  if (!in.empty()) return Corrupt();
  return items;
}

Result<NameMap<std::string>> DecodeStringPairs(std::string_view in) {
  NameMap<std::string> pairs;
  if (in.empty()) return pairs;
  uint64_t count;
  if (!GetVarint(in, count) || count > in.size()) return Corrupt();
  pairs.reserve(count / 2);
  std::string key, value;
  for (uint64_t i = 0; i < count / 2; ++i) {
    if (!GetString(in, key) || !GetString(in, value)) return Corrupt();
    // Written in the map's order: each key is appended.
    pairs.insert_or_assign(pairs.end(), std::move(key), std::move(value));
  }
  if (count % 2 == 1 && !GetString(in, key)) return Corrupt();
  if (!in.empty()) return Corrupt();
  return pairs;
}

}  // namespace idsync
