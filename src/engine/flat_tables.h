// engine/flat_tables: hash tables for an entry per object (a million at the
// benchmark's size): the import's stored digests, the ids past the bound of
// its seen-id bits (engine/seen_ids.h). Both are open-addressing
// tables (tsl::robin_map, from Debian's robin-map-dev) that keep their
// entries in one array: no allocation per entry and, for a lookup, usually
// one cache miss. std::unordered_set and std::unordered_map allocated a node
// per entry, and building and freeing them was a fifth of the delta import.
// Thread-safety: none; a const table may be read by several threads.
#pragma once

#include <cstdint>
#include <cstring>

#include <tsl/robin_map.h>
#include <tsl/robin_set.h>

#include "connectors/connector.h"

namespace idsync {

// A set of object ids.
class IdSet {
 public:
  void Reserve(size_t n) { ids_.reserve(n); }
  // True when `id` was not in the set.
  bool Insert(int64_t id) { return ids_.insert(id).second; }
  bool Contains(int64_t id) const { return ids_.contains(id); }

 private:
  tsl::robin_set<int64_t> ids_;
};

// Record digests and the object each was stored with; 0 for a digest that
// two objects share.
class DigestTable {
 public:
  void Reserve(size_t n) { ids_.reserve(n); }
  void Add(const RecordDigest& digest, int64_t id) {
    auto [it, added] = ids_.try_emplace(digest, id);
    if (!added) it.value() = 0;  // two objects, one digest
  }
  // The object of `digest`, 0 when none or ambiguous.
  int64_t Find(const RecordDigest& digest) const {
    auto it = ids_.find(digest);
    return it == ids_.end() ? 0 : it->second;
  }

 private:
  struct Hash {
    // Digests are uniformly spread already: their first bytes will do.
    size_t operator()(const RecordDigest& d) const {
      size_t h;
      std::memcpy(&h, d.data(), sizeof h);
      return h;
    }
  };
  tsl::robin_map<RecordDigest, int64_t, Hash> ids_;
};

}  // namespace idsync
