#include "core/attributes.h"

#include <gtest/gtest.h>

namespace idsync {
namespace {

TEST(AttributesTest, NamesCompareCaseInsensitivelyAndKeepFirstSpelling) {
  AttributeMap attrs;
  attrs["givenName"] = {"Ada"};
  attrs["GIVENNAME"].push_back("Augusta");
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_EQ(attrs.begin()->first, "givenName");
  EXPECT_EQ(attrs.begin()->second, (Values{"Ada", "Augusta"}));
}

TEST(AttributesTest, EncodeDecodeRoundTripsMultiValuedAndBinaryValues) {
  AttributeMap attrs;
  attrs["member"] = {"cn=a,dc=x", "cn=b,dc=x"};
  attrs["photo"] = {std::string("\0\xff\x01", 3)};
  attrs["cn"] = {""};
  auto decoded = DecodeAttributes(EncodeAttributes(attrs));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, attrs);
}

TEST(AttributesTest, TruncatedBlobIsReportedNotReadPastTheEnd) {
  AttributeMap attrs;
  attrs["cn"] = {"a long enough value"};
  std::string blob = EncodeAttributes(attrs);
  for (size_t n = 1; n < blob.size(); ++n) {
    auto decoded = DecodeAttributes(std::string_view(blob).substr(0, n));
    EXPECT_FALSE(decoded) << "prefix length " << n;
  }
}

TEST(AttributesTest, NormalizeDropsEmptyAttributes) {
  AttributeMap attrs;
  attrs["a"] = {};
  attrs["b"] = {"x"};
  Normalize(attrs);
  EXPECT_EQ(attrs.count("a"), 0u);
  EXPECT_EQ(FirstValue(attrs, "B"), "x");
}

TEST(AttributesTest, StringPairsRoundTripThroughTheStringListEncoding) {
  NameMap<std::string> pairs;
  pairs["title"] = "hr";
  pairs["Department"] = "hr";
  pairs["mail"] = "";
  std::string blob = EncodeStringPairs(pairs);
  auto items = DecodeStrings(blob);
  ASSERT_TRUE(items) << items.error().message;
  EXPECT_EQ(*items, (std::vector<std::string>{"Department", "hr", "mail", "", "title", "hr"}));
  auto decoded = DecodeStringPairs(blob);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, pairs);
  for (size_t n = 1; n < blob.size(); ++n)
    EXPECT_FALSE(DecodeStringPairs(std::string_view(blob).substr(0, n))) << "prefix length " << n;
}

TEST(AttributesTest, StringPairsKeepTheFirstSpellingAndLastValueAndIgnoreAnOddItem) {
  auto decoded = DecodeStringPairs(EncodeStrings({"sn", "hr", "SN", "directory", "cn", "hr", "odd"}));
  ASSERT_TRUE(decoded) << decoded.error().message;
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(Pairs(decoded->begin(), decoded->end()), (Pairs{{"cn", "hr"}, {"sn", "directory"}}));
  auto empty = DecodeStringPairs("");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

}  // namespace
}  // namespace idsync
