// store/statement_util: small readers and writers shared by the Store's
// files (internal to store/). Each leaves the statement reset.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "store/db.h"

namespace idsync {

// The first column of every row, as ids.
inline Result<std::vector<int64_t>> ReadIds(Statement& st) {
  std::vector<int64_t> ids;
  while (true) {
    IDSYNC_ASSIGN(bool row, st.Step());
    if (!row) break;
    ids.push_back(st.ColumnInt(0));
  }
  st.Reset();
  return ids;
}

// The first column of the first row, or 0 without rows (for count(*)).
inline Result<int64_t> ReadCount(Statement& st) {
  IDSYNC_ASSIGN(bool row, st.Step());
  int64_t n = row ? st.ColumnInt(0) : 0;
  st.Reset();
  return n;
}

// Whether the query returns a row.
inline Result<bool> ReadExists(Statement& st) {
  IDSYNC_ASSIGN(bool row, st.Step());
  st.Reset();
  return row;
}

// Runs a two-parameter write once per id, as (id, other), without reading
// its results (Statement::Send).
inline Status SendEach(Statement& st, const std::vector<int64_t>& ids, int64_t other) {
  for (int64_t id : ids) {
    st.Reset();
    st.BindInt(1, id);
    st.BindInt(2, other);
    IDSYNC_TRY(st.Send());
  }
  st.Reset();
  return {};
}

// Keys per statement of the batch reads that take an `IN (...)` list; the
// last statement of a read repeats its last key to fill the list, so each
// read has one statement text.
inline constexpr size_t kInListKeys = 64;

// "?, ?, ..." with `n` (at least one) placeholders.
inline std::string Placeholders(size_t n) {
  std::string list = "?";
  for (size_t i = 1; i < n; ++i) list += ", ?";
  return list;
}

// "?, ?, ..." with kInListKeys placeholders.
inline std::string InListPlaceholders() { return Placeholders(kInListKeys); }

// Binds the chunk of kInListKeys `keys` that starts at `begin` through
// `bind(st, parameter, key)` from parameter `first` on; a short last chunk
// repeats its last key (one statement text for every chunk).
template <typename Key, typename Bind>
void BindInListChunk(Statement& st, const std::vector<Key>& keys, size_t begin, int first, const Bind& bind) {
  for (size_t i = 0; i < kInListKeys; ++i)
    bind(st, first + static_cast<int>(i), keys[std::min(begin + i, keys.size() - 1)]);
}

// Runs `st` once per chunk of kInListKeys `keys`: `bind_other(st)` binds the
// parameters outside the list, `bind(st, parameter, key)` binds the chunk
// from parameter `first` on, and `row(st)` reads each row.
template <typename Key, typename BindOther, typename Bind, typename Row>
Status ForEachInListRow(Statement& st, const std::vector<Key>& keys, const BindOther& bind_other, int first,
                        const Bind& bind, const Row& row) {
  for (size_t begin = 0; begin < keys.size(); begin += kInListKeys) {
    bind_other(st);
    BindInListChunk(st, keys, begin, first, bind);
    while (true) {
      IDSYNC_ASSIGN(bool more, st.Step());
      if (!more) break;
      row(st);
    }
    st.Reset();
  }
  return {};
}

}  // namespace idsync
