// engine/seen_ids: the set of object ids an import fills with an entry per
// object it sees (a million at the benchmark's size).
// Thread-safety: none; a const set may be read by several threads.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/flat_tables.h"

namespace idsync {

// A set of object ids. Object ids are dense (rowids, or a sequence), so
// those below a bound are kept as bits: a million inserts
// and lookups in a hash set of a million ids (32 MiB of buckets, a cache
// miss each) were a tenth of a delta import's staging. Ids past the bound
// (a sparse id space) go to a hash set.
class SeenIds {
 public:
  // Sizes the bound for about `objects` objects (at most 8 bytes of bits
  // per object, at least 128 KiB). Before the first Insert only.
  void Reserve(size_t objects) { bound_ = std::max<int64_t>(kMinBound, 64 * static_cast<int64_t>(objects)); }
  // True when `id` was not in the set.
  bool Insert(int64_t id) {
    if (id < 0 || id >= bound_) return sparse_.Insert(id);
    size_t word = static_cast<size_t>(id) >> 6;
    if (word >= bits_.size()) bits_.resize(std::max(word + 1, bits_.size() * 2));
    uint64_t mask = uint64_t{1} << (id & 63);
    bool added = (bits_[word] & mask) == 0;
    bits_[word] |= mask;
    return added;
  }
  bool Contains(int64_t id) const {
    if (id < 0 || id >= bound_) return sparse_.Contains(id);
    size_t word = static_cast<size_t>(id) >> 6;
    return word < bits_.size() && (bits_[word] & (uint64_t{1} << (id & 63))) != 0;
  }

 private:
  static constexpr int64_t kMinBound = int64_t{1} << 20;
  int64_t bound_ = kMinBound;
  std::vector<uint64_t> bits_;
  IdSet sparse_;
};

}  // namespace idsync
