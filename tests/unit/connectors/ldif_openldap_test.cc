// The LDIF files from OpenLDAP's test suite (tests/data/conformance/openldap-ldif)
// read through the LDIF connector.
//
// Note: test-modify.ldif has add/delete/replace, increment, changetype add and
// delete records but no modrdn record; renames are covered with our own data
// in ldif_import_test.cc and by the export round trip.
#include <gtest/gtest.h>

#include <algorithm>

#include "test_util.h"

namespace idsync {
namespace {

using testing::RecordingSink;

std::string LdifFile(const std::string& name) { return testing::TestDataDir() + "/openldap-ldif/" + name; }

// One object type without an object class: every content record gets it.
RecordingSink Import(const std::string& name, bool delta = false) {
  RecordingSink sink;
  auto connector = testing::MakeConnector(testing::LdifConfig(LdifFile(name), {{"entry", "", {}}}));
  if (!connector) return sink;
  auto status = delta ? connector->DeltaImport(sink) : connector->FullImport(sink);
  EXPECT_TRUE(status) << status.error().message;
  return sink;
}

const Values& Attr(const ImportRecord* record, const std::string& name) {
  static const Values kNone;
  if (record == nullptr) return kNone;
  auto it = record->attrs.find(name);
  return it == record->attrs.end() ? kNone : it->second;
}

// Equal up to letter case (test-ordered.ldif writes "objectclass:
// groupofnames" where test.ldif has "objectClass: groupOfNames"; both are
// case-insensitive in LDAP, AttributeMap's operator== is not) and the order of
// values (not significant in LDAP).
bool SameAttributes(const AttributeMap& a, const AttributeMap& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [name, values] : a) {
    auto it = b.find(name);
    if (it == b.end()) return false;
    Values x, y;
    for (const auto& v : values) x.push_back(ToLower(v));
    for (const auto& v : it->second) y.push_back(ToLower(v));
    std::sort(x.begin(), x.end());
    std::sort(y.begin(), y.end());
    if (x != y) return false;
  }
  return true;
}

constexpr const char* kBarbara =
    "cn=Barbara Jensen,ou=Information Technology Division,ou=People,dc=example,dc=com";

TEST(LdifOpenLdapTest, TestLdifImportsEveryEntryWithFoldedAndBase64Values) {
  RecordingSink sink = Import("test.ldif");
  EXPECT_TRUE(sink.errors.empty()) << sink.errors.front().first << ": " << sink.errors.front().second;
  ASSERT_EQ(sink.records.size(), 19u);
  for (const auto& r : sink.records) {
    EXPECT_EQ(r.kind, ImportRecord::Kind::kFull);
    EXPECT_EQ(r.object_type, "entry");
  }
  // The first line is a comment; the record's location is its dn: line.
  EXPECT_EQ(sink.records[0].location, LdifFile("test.ldif") + ":2");
  EXPECT_EQ(sink.records[0].dn, "cn=All Staff,ou=Groups,dc=example,dc=com");
  // 11 members, two of them folded across lines.
  const Values& members = Attr(&sink.records[0], "member");
  ASSERT_EQ(members.size(), 11u);
  EXPECT_EQ(members[1], "cn=Barbara Jensen,ou=Information Technology Division,ou=People,dc=example,dc=com");

  // The DN itself is folded in the file.
  const ImportRecord* barbara = sink.Find(kBarbara);
  ASSERT_NE(barbara, nullptr);
  EXPECT_EQ(barbara->location, LdifFile("test.ldif") + ":41");
  EXPECT_EQ(Attr(barbara, "cn"), (Values{"Barbara Jensen", "Babs Jensen"}));
  EXPECT_EQ(Attr(barbara, "sn"), Values{" Jensen "});  // "sn:: IEplbnNlbiA="
  EXPECT_EQ(Attr(barbara, "userPassword"), Values{"bjensen"});
  EXPECT_EQ(Attr(barbara, "postalAddress"),
            Values{"ITD Prod Dev & Deployment $ 535 W. William St. Room 4212 $ Anytown, MI 48103-4943"});

  // Two long base64 descriptions, decoded to raw bytes (not valid text).
  const Values& descriptions =
      Attr(sink.Find("ou=Information Technology Division,ou=People,dc=example,dc=com"), "description");
  ASSERT_EQ(descriptions.size(), 2u);
  EXPECT_EQ(descriptions[0].size(), 4976u);
  EXPECT_TRUE(descriptions[0].starts_with("h\xC3\x83\xC2\x83\xC3\x82\xC2"));
  EXPECT_TRUE(descriptions[0].ends_with("a1Ak1A"));
  EXPECT_EQ(descriptions[1].size(), 2983u);
  EXPECT_TRUE(descriptions[1].starts_with("P^\xC3\x83"));
}

TEST(LdifOpenLdapTest, OrderedFileHoldsTheSameEntriesAsTestLdif) {
  RecordingSink a = Import("test.ldif");
  RecordingSink b = Import("test-ordered.ldif");
  EXPECT_TRUE(b.errors.empty());
  ASSERT_EQ(a.records.size(), b.records.size());
  // test-ordered lists parents before children and spells most attribute
  // names and object classes in lower case; the content is the same.
  EXPECT_EQ(b.records[0].dn, "dc=example,dc=com");
  for (const auto& r : a.records) {
    const ImportRecord* other = b.Find(r.dn);
    ASSERT_NE(other, nullptr) << r.dn;
    EXPECT_TRUE(SameAttributes(other->attrs, r.attrs)) << r.dn;
  }
  EXPECT_EQ(b.Find(kBarbara)->attrs.find("userPassword")->first, "userpassword");
}

TEST(LdifOpenLdapTest, LanguageTaggedAttributeNamesKeepTheirSpelling) {
  RecordingSink sink = Import("test-lang.ldif");
  ASSERT_EQ(sink.records.size(), 1u);
  const ImportRecord& r = sink.records[0];
  EXPECT_EQ(r.dn, "dc=example,dc=com");
  std::vector<std::string> names;
  for (const auto& [name, values] : r.attrs) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"CN;lang-en-US", "dc", "name", "name;lang-en-US", "o",
                                             "o;lang-zz;lang-y;lang-yy;lang-xx;lang-x;lang-z", "objectClass",
                                             "SN", "SN;lang-en-US;lang-en-GB"}));
  EXPECT_EQ(Attr(&r, "name;lang-en-US"), (Values{"Billy Ray", "Billy Bob"}));
  EXPECT_EQ(Attr(&r, "o;lang-zz;lang-y;lang-yy;lang-xx;lang-x;lang-z"), Values{"Example, Inc."});
  EXPECT_EQ(Attr(&r, "objectClass"), (Values{"organization", "extensibleObject"}));
}

TEST(LdifOpenLdapTest, DnTestFileKeepsEscapedDnValuesVerbatim) {
  RecordingSink sink = Import("test-dn.ldif");
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_EQ(sink.records.size(), 35u);
  const ImportRecord* must = sink.Find("cn=Must Succeed,ou=LDAPv3,dc=example,dc=com");
  ASSERT_NE(must, nullptr);
  EXPECT_EQ(must->location, LdifFile("test-dn.ldif") + ":13");
  const Values& members = Attr(must, "member");
  ASSERT_EQ(members.size(), 10u);
  EXPECT_EQ(members[1], "");  // "member: " is an empty value
  EXPECT_EQ(members[4], "CN=John Smith\\, III,DC=example,DC=net");
  EXPECT_EQ(members[8], "CN=Lu\\C4\\8Di\\C4\\87");
  EXPECT_EQ(Attr(must, "seeAlso")[2], "CN=\\#John Smith\\ ,DC=example,DC=net");
  EXPECT_EQ(Attr(must, "description").size(), 17u);
}

TEST(LdifOpenLdapTest, PasswdFileDecodesFoldedBase64Passwords) {
  RecordingSink sink = Import("passwd.ldif");
  ASSERT_EQ(sink.records.size(), 6u);
  EXPECT_EQ(Attr(sink.Find("dc=example,dc=com"), "objectclass"), (Values{"dcobject", "organization"}));
  EXPECT_EQ(Attr(sink.Find("cn=md5,dc=example,dc=com"), "userPassword"),
            Values{"{MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ=="});
  EXPECT_EQ(Attr(sink.Find("cn=smd5,dc=example,dc=com"), "userpassword"), Values{"secret"});
  const ImportRecord* argon = sink.Find("cn=argon2,dc=example,dc=com");
  ASSERT_NE(argon, nullptr);
  EXPECT_EQ(Attr(argon, "userPassword"), Values{"{ARGON2}$argon2i$v=19$m=4096,t=3,p=1$vSsZ+Vvc1Hhg74XSkuVK8Q$"
                                                "wPvQG4nQLKlZJDFSKgki4/cXz3KOiNazp/eCZAV8Ymg"});
  // The attribute keeps the spelling of the file: "userPassword" here,
  // "userpassword" in the other entries.
  EXPECT_EQ(argon->attrs.find("userpassword")->first, "userPassword");
  EXPECT_EQ(argon->location, LdifFile("passwd.ldif") + ":31");
}

TEST(LdifOpenLdapTest, UnorderedFileKeepsFileOrder) {
  RecordingSink sink = Import("test-unordered.ldif");
  ASSERT_EQ(sink.records.size(), 11u);
  EXPECT_EQ(sink.records[3].dn, "uid=michael,ou=Users,ou=test,dc=example,dc=com");
  EXPECT_EQ(sink.records[4].dn, "ou=Users,ou=test,dc=example,dc=com");  // parent after child
  EXPECT_EQ(Attr(&sink.records[2], "ou"), (Values{"slapo-ppolicy", "Password Policies"}));
  EXPECT_EQ(Attr(&sink.records[10], "member").size(), 2u);
  EXPECT_EQ(sink.records[10].location, LdifFile("test-unordered.ldif") + ":50");
}

TEST(LdifOpenLdapTest, ModifyFileAsDeltaGivesChangesDeletesAndAdds) {
  RecordingSink sink = Import("test-modify.ldif", /*delta=*/true);
  using Op = AttributeChange::Op;
  ASSERT_EQ(sink.records.size(), 7u);

  const ImportRecord& jones = sink.records[0];
  EXPECT_EQ(jones.kind, ImportRecord::Kind::kModify);
  EXPECT_EQ(jones.dn, "cn=James A Jones 1,ou=Alumni Association,ou=People,dc=example,dc=com");
  EXPECT_EQ(jones.location, LdifFile("test-modify.ldif") + ":5");
  ASSERT_EQ(jones.changes.size(), 5u);
  EXPECT_EQ(jones.changes[0].op, Op::kAdd);
  EXPECT_EQ(jones.changes[0].values, Values{"Pils"});
  EXPECT_EQ(jones.changes[2].op, Op::kDelete);
  EXPECT_EQ(jones.changes[3].name, "sn");

  const ImportRecord& bjorn = sink.records[1];
  ASSERT_EQ(bjorn.changes.size(), 2u);
  EXPECT_EQ(bjorn.changes[0].op, Op::kReplace);
  EXPECT_EQ(bjorn.changes[0].values, Values{"The replaced multiLineDescription $ Blah Woof."});
  EXPECT_EQ(bjorn.changes[1].values, (Values{"Iced Tea", "Mad Dog 20/20"}));

  const ImportRecord& itd = sink.records[2];
  ASSERT_EQ(itd.changes.size(), 4u);
  EXPECT_EQ(itd.changes[0].values[0],
            "cn=James A Jones 2,ou=Information Technology Division,ou=People,dc=example,dc=com");
  EXPECT_EQ(itd.changes[2].values.size(), 3u);

  const ImportRecord& staff = sink.records[3];
  ASSERT_EQ(staff.changes.size(), 5u);
  EXPECT_EQ(staff.changes[0].op, Op::kDelete);
  EXPECT_EQ(staff.changes[0].name, "member");
  EXPECT_TRUE(staff.changes[0].values.empty());  // the whole attribute

  const ImportRecord& gern = sink.records[4];
  EXPECT_EQ(gern.kind, ImportRecord::Kind::kFull);  // changetype: add
  EXPECT_EQ(gern.attrs.size(), 15u);
  EXPECT_EQ(Attr(&gern, "testTime"), Values{"20050304001801.234Z"});

  EXPECT_EQ(sink.records[5].kind, ImportRecord::Kind::kDelete);
  EXPECT_EQ(sink.records[5].dn,
            "cn=James A Jones 2,ou=Information Technology Division,ou=People,dc=example,dc=com");
  EXPECT_EQ(sink.records[6].kind, ImportRecord::Kind::kModify);  // empty sequence of changes
  EXPECT_TRUE(sink.records[6].changes.empty());

  // "increment:" has no AttributeChange equivalent.
  ASSERT_EQ(sink.errors.size(), 1u);
  EXPECT_EQ(sink.errors[0].first, LdifFile("test-modify.ldif") + ":99");
  EXPECT_NE(sink.errors[0].second.find("increment"), std::string::npos);
}

TEST(LdifOpenLdapTest, ModifyFileAsFullImportKeepsOnlyTheAdd) {
  RecordingSink sink = Import("test-modify.ldif");
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].dn,
            "cn=Gern Jensen,ou=Information Technology Division,ou=People,dc=example,dc=com");
  ASSERT_EQ(sink.errors.size(), 7u);
  EXPECT_EQ(sink.errors[0].first, LdifFile("test-modify.ldif") + ":5");
  EXPECT_NE(sink.errors[0].second.find("use a delta import"), std::string::npos);
}

}  // namespace
}  // namespace idsync
