// engine/flat_tables: the two tables an import fills with an entry per
// object (a million at the benchmark's size), kept in one array each with
// open addressing: no allocation per entry and, for a lookup, usually one
// cache miss. std::unordered_set and std::unordered_map allocated a node per
// entry, and building and freeing them was a fifth of the delta import.
// Thread-safety: none; a const table may be read by several threads.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "connectors/connector.h"

namespace idsync {

// Linear probing over a power-of-two array, at most half full. `Slot` has
// `key` and a static `Empty(slot)`; `hash(key)` spreads keys over 64 bits.
template <typename Slot, typename Key, typename Hash>
class FlatTable {
 public:
  void Reserve(size_t entries) {
    if (entries * 2 > slots_.size()) Rehash(entries * 2);
  }
  // The slot of `key`, or the empty slot where it would go.
  Slot& Find(const Key& key) { return slots_[Position(key)]; }
  const Slot* Lookup(const Key& key) const {
    if (slots_.empty()) return nullptr;
    const Slot& s = slots_[Position(key)];
    return Slot::Empty(s) ? nullptr : &s;
  }
  // Call after filling an empty slot Find returned.
  void Added() {
    if (++size_ * 2 > slots_.size()) Rehash(slots_.size() * 2);
  }
  bool NeedsRoom() const { return slots_.empty(); }

 private:
  size_t Position(const Key& key) const {
    size_t mask = slots_.size() - 1;
    size_t i = Hash()(key) & mask;
    while (!Slot::Empty(slots_[i]) && !(slots_[i].key == key)) i = (i + 1) & mask;
    return i;
  }
  void Rehash(size_t at_least) {
    size_t n = 16;
    while (n < at_least) n *= 2;
    std::vector<Slot> old(n);
    old.swap(slots_);
    for (const Slot& s : old)
      if (!Slot::Empty(s)) slots_[Position(s.key)] = s;
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

// A set of object ids (ids are positive).
class IdSet {
 public:
  void Reserve(size_t n) { table_.Reserve(n); }
  // True when `id` was not in the set.
  bool Insert(int64_t id) {
    if (table_.NeedsRoom()) table_.Reserve(8);
    Slot& s = table_.Find(id);
    if (!Slot::Empty(s)) return false;
    s.key = id;
    table_.Added();
    return true;
  }
  bool Contains(int64_t id) const { return table_.Lookup(id) != nullptr; }

 private:
  struct Slot {
    int64_t key = 0;
    static bool Empty(const Slot& s) { return s.key == 0; }
  };
  struct Hash {
    size_t operator()(int64_t id) const { return static_cast<size_t>(id) * 0x9E3779B97F4A7C15ull >> 7; }
  };
  FlatTable<Slot, int64_t, Hash> table_;
};

// Record digests and the object each was stored with; 0 for a digest that
// two objects share.
class DigestTable {
 public:
  void Reserve(size_t n) { table_.Reserve(n); }
  void Add(const RecordDigest& digest, int64_t id) {
    if (table_.NeedsRoom()) table_.Reserve(8);
    Slot& s = table_.Find(digest);
    if (!Slot::Empty(s)) {
      s.id = 0;  // two objects, one digest
      return;
    }
    s.key = digest;
    s.id = id;
    table_.Added();
  }
  // The object of `digest`, 0 when none or ambiguous.
  int64_t Find(const RecordDigest& digest) const {
    const Slot* s = table_.Lookup(digest);
    return s ? s->id : 0;
  }

 private:
  struct Slot {
    RecordDigest key{};
    int64_t id = -1;  // -1: empty
    static bool Empty(const Slot& s) { return s.id == -1; }
  };
  struct Hash {
    // Digests are uniformly spread already: their first bytes will do.
    size_t operator()(const RecordDigest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  FlatTable<Slot, RecordDigest, Hash> table_;
};

}  // namespace idsync
