// Ranked precedence: which MA's value an attribute takes.
#include <gtest/gtest.h>

#include "config/config.h"

namespace idsync {
namespace {

Config WithMas(std::initializer_list<const char*> names) {
  Config config;
  for (const char* name : names) {
    ManagementAgent ma;
    ma.name = name;
    config.mas.push_back(ma);
  }
  return config;
}

TEST(PrecedenceTest, ListedMasRankInTheirOrderAndTheOthersAfterThemByName) {
  Config config = WithMas({"zeta", "hr", "alpha", "directory"});
  config.precedence_default = {"hr"};
  config.precedence["title"].order = {"directory", "zeta"};
  config.precedence["mail"].equal = true;

  EXPECT_EQ(config.Rank("cn", "hr"), 0);
  EXPECT_EQ(config.Rank("cn", "alpha"), 1);
  EXPECT_EQ(config.Rank("cn", "directory"), 2);
  EXPECT_EQ(config.Rank("cn", "zeta"), 3);
  EXPECT_EQ(config.Rank("cn", "gone"), 4) << "an MA that is not configured ranks after all of them";

  EXPECT_EQ(config.Rank("Title", "directory"), 0);
  EXPECT_EQ(config.Rank("title", "zeta"), 1);
  EXPECT_EQ(config.Rank("title", "alpha"), 2);
  EXPECT_EQ(config.Rank("title", "hr"), 3);

  EXPECT_EQ(config.Rank("mail", "hr"), std::nullopt);
}

}  // namespace
}  // namespace idsync
