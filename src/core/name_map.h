// core/name_map: a map keyed by attribute name, kept as one sorted array.
//
// Names compare ignoring ASCII case (CaseInsensitiveLess); a name given in
// another spelling of one already present reaches that entry, which keeps
// the spelling it was first given. Entries are sorted by that comparison, so
// they iterate in the order std::map<std::string, V, CaseInsensitiveLess>
// gave (the store's encoding is written in that order). An object has tens
// of attributes at most: one array searched by bisection costs one
// allocation to build or copy, where a tree costs one per entry.
//
// The interface is the part of std::map's that idsync uses, with these
// differences: adding or erasing an entry invalidates every iterator,
// pointer and reference into the map (as for std::vector), and the key
// reached through an iterator is not const (so the array can move entries)
// but must not be changed.
// Thread-safety: a plain value.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

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

template <class V>
class NameMap {
 public:
  using key_type = std::string;
  using mapped_type = V;
  using value_type = std::pair<std::string, V>;
  using size_type = size_t;
  using key_compare = CaseInsensitiveLess;
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  NameMap() = default;
  // As std::map: of entries whose names differ only in case, the first.
  NameMap(std::initializer_list<value_type> entries) {
    items_.reserve(entries.size());
    for (const auto& e : entries) try_emplace(e.first, e.second);
  }

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  const_iterator cbegin() const { return items_.begin(); }
  const_iterator cend() const { return items_.end(); }
  bool empty() const { return items_.empty(); }
  size_type size() const { return items_.size(); }
  void clear() { items_.clear(); }
  void reserve(size_type n) { items_.reserve(n); }

  // The first entry whose name is not less than `name`.
  iterator lower_bound(std::string_view name) { return begin() + LowerIndex(name); }
  const_iterator lower_bound(std::string_view name) const { return begin() + LowerIndex(name); }

  iterator find(std::string_view name) { return begin() + FindIndex(name); }
  const_iterator find(std::string_view name) const { return begin() + FindIndex(name); }
  bool contains(std::string_view name) const { return FindIndex(name) != items_.size(); }
  size_type count(std::string_view name) const { return contains(name) ? 1 : 0; }

  // The values of `name`, added empty when absent.
  template <class K>
  V& operator[](K&& name) {
    return try_emplace(std::forward<K>(name)).first->second;
  }

  // The values of `name`; throws std::out_of_range when absent, as std::map.
  V& at(std::string_view name) { return items_[IndexOrThrow(name)].second; }
  const V& at(std::string_view name) const { return items_[IndexOrThrow(name)].second; }

  // Adds `name` with a value made of `args` unless present; returns the
  // entry and whether it was added.
  template <class K, class... Args>
  std::pair<iterator, bool> try_emplace(K&& name, Args&&... args) {
    const size_t at = LowerIndex(name);
    if (at != items_.size() && !Less(name, items_[at].first)) return {begin() + at, false};
    return {Add(begin() + at, std::forward<K>(name), std::forward<Args>(args)...), true};
  }
  template <class K, class M>
  std::pair<iterator, bool> emplace(K&& name, M&& value) {
    return try_emplace(std::forward<K>(name), std::forward<M>(value));
  }
  std::pair<iterator, bool> insert(value_type&& entry) {
    return try_emplace(std::move(entry.first), std::move(entry.second));
  }
  std::pair<iterator, bool> insert(const value_type& entry) { return try_emplace(entry.first, entry.second); }

  // As try_emplace, looking first just before `hint`: appending names in
  // order with hint end() costs one comparison each.
  template <class K, class... Args>
  iterator emplace_hint(const_iterator hint, K&& name, Args&&... args) {
    if (FitsBefore(hint, name)) return Add(hint, std::forward<K>(name), std::forward<Args>(args)...);
    return try_emplace(std::forward<K>(name), std::forward<Args>(args)...).first;
  }

  // Sets `name` to `value`, keeping the spelling of an entry already there.
  template <class K, class M>
  std::pair<iterator, bool> insert_or_assign(K&& name, M&& value) {
    auto [it, added] = try_emplace(std::forward<K>(name));
    it->second = std::forward<M>(value);
    return {it, added};
  }
  template <class K, class M>
  iterator insert_or_assign(const_iterator hint, K&& name, M&& value) {
    if (FitsBefore(hint, name)) return Add(hint, std::forward<K>(name), std::forward<M>(value));
    return insert_or_assign(std::forward<K>(name), std::forward<M>(value)).first;
  }

  // Each returns the entry after those erased.
  iterator erase(const_iterator pos) { return items_.erase(pos); }
  iterator erase(iterator pos) { return items_.erase(pos); }
  iterator erase(const_iterator first, const_iterator last) { return items_.erase(first, last); }
  // Returns the number erased (0 or 1).
  size_type erase(std::string_view name) {
    const size_t at = FindIndex(name);
    if (at == items_.size()) return 0;
    items_.erase(items_.begin() + at);
    return 1;
  }

  // Erases the entries for which pred(entry) holds; returns how many.
  template <class Pred>
  friend size_type erase_if(NameMap& map, Pred pred) {
    return std::erase_if(map.items_, pred);
  }

  // Names compare exactly here, spelling included, as std::map's == did.
  friend bool operator==(const NameMap&, const NameMap&) = default;

 private:
  static bool Less(std::string_view a, std::string_view b) { return CaseInsensitiveLess()(a, b); }

  size_t LowerIndex(std::string_view name) const {
    auto it = std::lower_bound(items_.begin(), items_.end(), name,
                               [](const value_type& e, std::string_view n) { return Less(e.first, n); });
    return static_cast<size_t>(it - items_.begin());
  }
  // The index of `name`, or size() when absent. A small map is scanned:
  // a name of another length cannot match, and most names differ in
  // length, where a bisection compares the bytes of several names.
  size_t FindIndex(std::string_view name) const {
    if (items_.size() <= kScanUpTo) {
      for (size_t i = 0; i < items_.size(); ++i)
        if (items_[i].first.size() == name.size() && SameFolded(items_[i].first.data(), name.data(), name.size()))
          return i;
      return items_.size();
    }
    const size_t at = LowerIndex(name);
    return at != items_.size() && !Less(name, items_[at].first) ? at : items_.size();
  }
  size_t IndexOrThrow(std::string_view name) const {
    const size_t at = FindIndex(name);
    if (at == items_.size()) throw std::out_of_range("NameMap::at: no entry named " + std::string(name));
    return at;
  }
  static constexpr size_t kScanUpTo = 32;
  // Whether a[0, n) and b[0, n) are equal once ASCII letters are folded.
  // Eight bytes at a time while they are equal (a name is mostly looked up
  // in the spelling it is stored in), then byte by byte.
  static bool SameFolded(const char* a, const char* b, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
      uint64_t x, y;
      std::memcpy(&x, a + i, 8);
      std::memcpy(&y, b + i, 8);
      if (x != y) break;
    }
    for (; i < n; ++i) {
      unsigned char x = a[i], y = b[i];
      if (x != y && FoldAscii(x) != FoldAscii(y)) return false;
    }
    return true;
  }
  // Whether `name` is absent and belongs just before `pos`.
  bool FitsBefore(const_iterator pos, std::string_view name) const {
    return (pos == items_.cend() || Less(name, pos->first)) &&
           (pos == items_.cbegin() || Less(std::prev(pos)->first, name));
  }
  template <class K, class... Args>
  iterator Add(const_iterator pos, K&& name, Args&&... args) {
    return items_.emplace(pos, std::piecewise_construct, std::forward_as_tuple(std::forward<K>(name)),
                          std::forward_as_tuple(std::forward<Args>(args)...));
  }

  std::vector<value_type> items_;
};

}  // namespace idsync
