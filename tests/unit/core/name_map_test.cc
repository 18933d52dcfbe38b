#include "core/name_map.h"

#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/attributes.h"

namespace idsync {
namespace {

using Entries = std::vector<std::pair<std::string, Values>>;

Entries EntriesOf(const AttributeMap& attrs) { return Entries(attrs.begin(), attrs.end()); }

TEST(NameMapTest, IteratesInCaseInsensitiveOrderWhateverTheInsertionOrder) {
  AttributeMap attrs;
  attrs["sn"] = {"1"};
  attrs["B"] = {"2"};
  attrs["a_"] = {"3"};
  attrs["aB"] = {"4"};
  attrs["a"] = {"5"};
  attrs["\xc3\x84"] = {"6"};  // not an ASCII letter: sorts by its bytes, after every letter
  // A byte comparison would put "B" before "a" and "aB" before "a_".
  EXPECT_EQ(EntriesOf(attrs), (Entries{{"a", {"5"}},
                                       {"a_", {"3"}},
                                       {"aB", {"4"}},
                                       {"B", {"2"}},
                                       {"sn", {"1"}},
                                       {"\xc3\x84", {"6"}}}));
}

TEST(NameMapTest, EverySpellingReachesTheEntryWhichKeepsItsFirstSpelling) {
  AttributeMap attrs;
  attrs["givenName"] = {"Ada"};
  attrs["GIVENNAME"].push_back("Augusta");
  EXPECT_FALSE(attrs.try_emplace("givenname", Values{"x"}).second);
  EXPECT_FALSE(attrs.emplace("GivenName", Values{"x"}).second);
  EXPECT_FALSE(attrs.insert({"GIVENname", Values{"x"}}).second);
  auto [it, added] = attrs.insert_or_assign("GIVENNAME", Values{"Ada", "King"});
  EXPECT_FALSE(added);
  EXPECT_EQ(attrs.emplace_hint(attrs.end(), "givenNAME", Values{"x"}), it);
  EXPECT_EQ(attrs.emplace_hint(attrs.begin(), "Givenname", Values{"x"}), it);
  ASSERT_EQ(attrs.size(), 1u);
  EXPECT_EQ(attrs.begin()->first, "givenName");
  EXPECT_EQ(attrs.begin()->second, (Values{"Ada", "King"}));
  EXPECT_TRUE(attrs.contains("GIVENNAME"));
  EXPECT_EQ(attrs.count("gIVENnAME"), 1u);
  EXPECT_EQ(attrs.find("givenname"), attrs.begin());
  // Only ASCII letters fold: a longer name, and a name differing in a
  // non-letter byte, are other names.
  EXPECT_FALSE(attrs.contains("givenNam"));
  EXPECT_FALSE(attrs.contains("givenNames"));
  EXPECT_FALSE(attrs.contains("givenN@me"));
  EXPECT_EQ(FirstValue(attrs, "GIVENNAME"), "Ada");
}

TEST(NameMapTest, AtReachesAnySpellingAndThrowsWhenAbsent) {
  AttributeMap attrs{{"employeeNumber", {"7"}}};
  EXPECT_EQ(attrs.at("EMPLOYEENUMBER"), (Values{"7"}));
  attrs.at("employeenumber").push_back("8");
  const AttributeMap& read = attrs;
  EXPECT_EQ(read.at("employeeNUMBER"), (Values{"7", "8"}));
  EXPECT_THROW(read.at("employeeNumbers"), std::out_of_range);
  EXPECT_THROW(attrs.at("employeeNumbe_"), std::out_of_range);
}

TEST(NameMapTest, AMisplacedHintStillInsertsInOrder) {
  AttributeMap attrs;
  attrs.emplace_hint(attrs.end(), "m", Values{"1"});
  attrs.emplace_hint(attrs.end(), "c", Values{"2"});    // belongs first
  attrs.emplace_hint(attrs.begin(), "z", Values{"3"});  // belongs last
  attrs.emplace_hint(attrs.begin(), "A", Values{"4"});  // a right hint
  attrs.insert_or_assign(attrs.begin(), "M", Values{"5"});
  attrs.insert_or_assign(attrs.end(), "e", Values{"6"});
  EXPECT_EQ(EntriesOf(attrs), (Entries{{"A", {"4"}}, {"c", {"2"}}, {"e", {"6"}}, {"m", {"5"}}, {"z", {"3"}}}));
}

TEST(NameMapTest, InitializerListKeepsTheFirstOfNamesEqualButForCase) {
  AttributeMap attrs{{"cn", {"1"}}, {"CN", {"2"}}, {"a", {"3"}}};
  EXPECT_EQ(EntriesOf(attrs), (Entries{{"a", {"3"}}, {"cn", {"1"}}}));
}

TEST(NameMapTest, EraseByAnySpellingByIteratorAndWhileIterating) {
  AttributeMap attrs{{"a", {"1"}}, {"b", {"2"}}, {"c", {"3"}}, {"d", {"4"}}, {"e", {"5"}}};
  EXPECT_EQ(attrs.erase("B"), 1u);
  EXPECT_EQ(attrs.erase("b"), 0u);
  auto next = attrs.erase(attrs.find("C"));
  ASSERT_NE(next, attrs.end());
  EXPECT_EQ(next->first, "d");
  attrs["f"] = {"6"};
  // The loop of Synchronizer::Disconnect: erase what matches, keep walking.
  std::vector<std::string> seen;
  for (auto it = attrs.begin(); it != attrs.end();) {
    seen.push_back(it->first);
    if (it->first == "a" || it->first == "e") it = attrs.erase(it);
    else ++it;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "d", "e", "f"}));
  EXPECT_EQ(EntriesOf(attrs), (Entries{{"d", {"4"}}, {"f", {"6"}}}));
  attrs.clear();
  EXPECT_TRUE(attrs.empty());
  EXPECT_EQ(attrs.find("d"), attrs.end());
}

TEST(NameMapTest, NormalizeErasesOnlyEmptyAttributes) {
  AttributeMap attrs{{"a", {}}, {"b", {"x"}}, {"c", {}}, {"d", {""}}};
  Normalize(attrs);
  EXPECT_EQ(EntriesOf(attrs), (Entries{{"b", {"x"}}, {"d", {""}}}));
}

TEST(NameMapTest, EqualityComparesSpellingsAndValuesNotInsertionOrder) {
  AttributeMap one{{"cn", {"x"}}, {"sn", {"y"}}};
  AttributeMap other;
  other["SN"] = {"y"};
  other["cn"] = {"x"};
  EXPECT_NE(one, other);  // the spelling kept differs, as with std::map
  other.erase("sn");
  other["sn"] = {"y"};
  EXPECT_EQ(one, other);
  other["sn"].push_back("z");
  EXPECT_NE(one, other);
  other["sn"] = {"y"};
  other["mail"] = {"m"};
  EXPECT_NE(one, other);
}

// Random operations on `names`, applied to a NameMap and to the std::map it
// replaced: the two must always hold the same entries in the same order.
void CompareWithStdMap(const std::vector<std::string>& names, int rounds, int steps) {
  using Reference = std::map<std::string, Values, CaseInsensitiveLess>;
  std::mt19937 random(20261123);
  for (int round = 0; round < rounds; ++round) {
    AttributeMap map;
    Reference ref;
    for (int step = 0; step < steps; ++step) {
      const std::string& name = names[random() % names.size()];
      const Values value = {std::to_string(step)};
      switch (random() % 7) {
        case 0:
          map[name] = value;
          ref[name] = value;
          break;
        case 1:
          EXPECT_EQ(map.try_emplace(name, value).second, ref.try_emplace(name, value).second);
          break;
        case 2:
          map.insert_or_assign(name, value);
          ref.insert_or_assign(name, value);
          break;
        case 3:
          EXPECT_EQ(map.erase(name), ref.erase(name));
          break;
        case 4: {
          // A hint at a random place, right or wrong.
          size_t at = map.empty() ? 0 : random() % (map.size() + 1);
          map.emplace_hint(map.begin() + at, name, value);
          ref.emplace(name, value);
          break;
        }
        case 5: {
          auto it = map.find(name);
          auto rit = ref.find(name);
          ASSERT_EQ(it == map.end(), rit == ref.end());
          if (it != map.end()) {
            EXPECT_EQ(it->first, rit->first);
            map.erase(it);
            ref.erase(rit);
          }
          break;
        }
        case 6:
          EXPECT_EQ(map.count(name), ref.count(name));
          break;
      }
      ASSERT_EQ(EntriesOf(map), Entries(ref.begin(), ref.end())) << "round " << round << " step " << step;
    }
  }
}

// Names that differ in case, in a non-letter byte, or by a prefix.
TEST(NameMapTest, BehavesAsTheStdMapItReplaces) {
  CompareWithStdMap({"cn", "CN", "Cn", "sn", "SN", "mail", "MAIL", "a", "A", "a_", "aB", "ab", "member", "Member", "",
                     "z", "Z9", "z9", "employeeNumber", "EMPLOYEEnumber", "employeeNUMBER", "employeeNumbers",
                     "employeeNumbeR", "employee_Number", "employeeNumbe_"},
                    50, 200);
}

// Enough names that a map outgrows what is scanned and is bisected.
TEST(NameMapTest, BehavesAsTheStdMapItReplacesWhenLarge) {
  std::vector<std::string> names;
  for (int i = 0; i < 60; ++i) {
    std::string name = "attr" + std::to_string(i * 7 % 60);
    names.push_back(name);
    for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    names.push_back(name);
  }
  names.push_back("attr_");
  names.push_back("attrA");
  CompareWithStdMap(names, 10, 1000);
}

// Blobs written by hand: what EncodeAttributes never writes (names out of
// order, names equal but for case) still decodes as the std::map did.
TEST(NameMapTest, DecodeSortsABlobOutOfOrderAndKeepsTheFirstOfEqualNames) {
  // count 3; "b" = {"x"}; "A" = {"y"}; "B" = {"z"}
  const std::string blob("\x03\x01"
                         "b\x01\x01x"
                         "\x01"
                         "A\x01\x01y"
                         "\x01"
                         "B\x01\x01z",
                         16);
  auto decoded = DecodeAttributes(blob);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(EntriesOf(*decoded), (Entries{{"A", {"y"}}, {"b", {"x"}}}));
  // Written back in order.
  EXPECT_EQ(EncodeAttributes(*decoded), std::string("\x02\x01"
                                                    "A\x01\x01y"
                                                    "\x01"
                                                    "b\x01\x01x",
                                                    11));
}

TEST(NameMapTest, DecodeRefusesACountLargerThanTheBlobCouldHold) {
  // count 2^35 followed by one attribute's bytes.
  const std::string blob("\x80\x80\x80\x80\x80\x01\x01"
                         "a\x01\x01x",
                         11);
  EXPECT_FALSE(DecodeAttributes(blob));
}

}  // namespace
}  // namespace idsync
