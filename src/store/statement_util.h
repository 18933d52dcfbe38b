// store/statement_util: small readers and writers shared by the Store's
// files (internal to store/). Each leaves the statement reset.
#pragma once

#include <cstdint>
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

}  // namespace idsync
