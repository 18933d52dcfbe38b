#include "core/error.h"

#include <gtest/gtest.h>

#include <set>

namespace idsync {
namespace {

TEST(ErrorTest, SchemaMismatchUsesTheProductHexCode) {
  EXPECT_EQ(HexCodeFor(ErrorCode::kSchemaMismatch), 0x80230443u);
  EXPECT_EQ(FormatError({ErrorCode::kSchemaMismatch, "newer schema"}), "0x80230443: newer schema");
}

TEST(ErrorTest, EveryCodeHasANonZeroDistinctExitCode) {
  std::set<int> seen;
  for (int c = 0; c <= static_cast<int>(ErrorCode::kInternal); ++c) {
    int exit_code = ExitCodeFor(static_cast<ErrorCode>(c));
    EXPECT_NE(exit_code, 0);
    EXPECT_NE(exit_code, 1) << "1 is reserved for runs that end without success";
    EXPECT_TRUE(seen.insert(exit_code).second) << "duplicate exit code " << exit_code;
  }
}

}  // namespace
}  // namespace idsync
