// The import's set of seen object ids: bits for dense ids, a hash set for
// ids past its bound, one answer for both.
#include "engine/seen_ids.h"

#include <gtest/gtest.h>

namespace idsync {
namespace {

TEST(SeenIdsTest, AnIdIsNewOnceAndFoundAfterwards) {
  SeenIds seen;
  seen.Reserve(1000);
  for (int64_t id : {0, 1, 63, 64, 65, 4095, 70000}) {
    EXPECT_FALSE(seen.Contains(id)) << id;
    EXPECT_TRUE(seen.Insert(id)) << id;
    EXPECT_FALSE(seen.Insert(id)) << id;
    EXPECT_TRUE(seen.Contains(id)) << id;
  }
  for (int64_t id : {2, 62, 66, 4094, 4096, 69999, 70001, 1000000}) EXPECT_FALSE(seen.Contains(id)) << id;
}

TEST(SeenIdsTest, IdsPastTheBoundAndNegativeIdsAreKeptInTheSparseSet) {
  SeenIds seen;
  seen.Reserve(10);  // the bound is then 2^20
  const int64_t bound = int64_t{1} << 20;
  for (int64_t id : {bound - 1, bound, bound + 1, int64_t{5000000000}, int64_t{-3}}) {
    EXPECT_TRUE(seen.Insert(id)) << id;
    EXPECT_FALSE(seen.Insert(id)) << id;
    EXPECT_TRUE(seen.Contains(id)) << id;
  }
  for (int64_t id : {bound - 2, bound + 2, int64_t{5000000001}, int64_t{-2}, int64_t{3}})
    EXPECT_FALSE(seen.Contains(id)) << id;
}

TEST(SeenIdsTest, AMillionDenseIdsAreEachSeenOnce) {
  SeenIds seen;
  seen.Reserve(1000000);
  for (int64_t id = 1; id <= 1000000; id += 3) ASSERT_TRUE(seen.Insert(id));
  int64_t found = 0;
  for (int64_t id = 0; id <= 1000001; ++id) found += seen.Contains(id);
  EXPECT_EQ(found, 333334);
}

}  // namespace
}  // namespace idsync
