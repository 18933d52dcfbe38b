#include <gtest/gtest.h>

#include "connectors/ldif/dn.h"
#include "test_util.h"

namespace idsync {
namespace {

using testing::RecordingSink;
using testing::TempDir;
using testing::WriteFile;

RecordingSink Import(const std::string& path, bool delta, std::vector<ConnectorObjectType> types = {}) {
  RecordingSink sink;
  auto connector = testing::MakeConnector(testing::LdifConfig(path, std::move(types)));
  if (!connector) return sink;
  auto status = delta ? connector->DeltaImport(sink) : connector->FullImport(sink);
  EXPECT_TRUE(status) << status.error().message;
  return sink;
}

TEST(DnTest, SplitsAtTheFirstUnescapedComma) {
  EXPECT_EQ(SplitDn("cn=a\\,b,ou=x,dc=y").rdn, "cn=a\\,b");
  EXPECT_EQ(SplitDn("cn=a\\,b,ou=x,dc=y").parent, "ou=x,dc=y");
  EXPECT_EQ(SplitDn("cn=a\\2Cb,dc=y").rdn, "cn=a\\2Cb");
  EXPECT_EQ(SplitDn("cn=a\\\\,dc=y").rdn, "cn=a\\\\");  // escaped backslash, then a real comma
  EXPECT_EQ(SplitDn("CN=\"Smith, J\",O=x").parent, "O=x");
  EXPECT_EQ(SplitDn("uid=a, o=x").parent, "o=x");
  EXPECT_EQ(SplitDn("dc=com").parent, "");
  EXPECT_EQ(JoinDn("cn=b", ""), "cn=b");
}

TEST(DnTest, NamesTheAttributeOfAnEmptyRdnValue) {
  EXPECT_EQ(EmptyRdnValueAttribute("uid=,ou=people,dc=example"), "uid");
  EXPECT_EQ(EmptyRdnValueAttribute("cn=a+sn=,ou=x"), "sn");
  EXPECT_EQ(EmptyRdnValueAttribute("uid=a,ou=,dc=example"), "ou");
  EXPECT_EQ(EmptyRdnValueAttribute("uid=a,ou=people,dc=example"), "");
  EXPECT_EQ(EmptyRdnValueAttribute("cn=\20,dc=x"), "");  // an escaped space is a value
  EXPECT_EQ(EmptyRdnValueAttribute("E1001"), "");         // a file's plain key is no LDAP DN
  EXPECT_EQ(EmptyRdnValueAttribute(""), "");
  // The quick scan before libldap's parse must not pass these over.
  EXPECT_EQ(EmptyRdnValueAttribute("ou=x,uid="), "uid");
  EXPECT_EQ(EmptyRdnValueAttribute("uid= ,ou=x"), "uid");
  EXPECT_EQ(EmptyRdnValueAttribute("cn=a=b,dc=x"), "");     // '=' inside a value
  EXPECT_EQ(EmptyRdnValueAttribute("cn=\\20,dc=x"), "");  // an escaped backslash, then text
}

TEST(LdifImportTest, DeltaImportComputesTheNewDnOfRenames) {
  TempDir dir;
  std::string path = dir.File("renames.ldif");
  WriteFile(path,
            "dn: cn=Smith\\, John,ou=People,dc=example,dc=com\n"
            "changetype: modrdn\n"
            "newrdn: cn=Smith\\, Jon\n"
            "deleteoldrdn: 1\n"
            "\n"
            "dn: cn=a,ou=Old\\,Unit,dc=example,dc=com\n"
            "changetype: moddn\n"
            "newrdn: cn=b\n"
            "deleteoldrdn: 0\n"
            "newsuperior: ou=New,dc=example,dc=com\n"
            "\n"
            "dn: cn=top,dc=example,dc=com\n"
            "changetype: modrdn\n"
            "newrdn: cn=top2\n"
            "deleteoldrdn: 1\n"
            "newsuperior:\n");
  RecordingSink sink = Import(path, true);
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].kind, ImportRecord::Kind::kRename);
  EXPECT_EQ(sink.records[0].new_dn, "cn=Smith\\, Jon,ou=People,dc=example,dc=com");
  EXPECT_EQ(sink.records[0].object_type, "person");  // the only object type
  EXPECT_EQ(sink.records[1].dn, "cn=a,ou=Old\\,Unit,dc=example,dc=com");
  EXPECT_EQ(sink.records[1].new_dn, "cn=b,ou=New,dc=example,dc=com");
  EXPECT_EQ(sink.records[1].location, path + ":6");
  EXPECT_EQ(sink.records[2].new_dn, "cn=top2");  // empty newsuperior: the root
}

TEST(LdifImportTest, ObjectTypeIsChosenByObjectClassCaseInsensitively) {
  TempDir dir;
  std::string path = dir.File("typed.ldif");
  WriteFile(path,
            "dn: cn=g,dc=x\nobjectClass: top\nobjectClass: GROUPOFNAMES\ncn: g\n\n"
            "dn: uid=p,dc=x\nobjectclass: inetOrgPerson\nuid: p\n\n"
            "dn: ou=u,dc=x\nobjectClass: organizationalUnit\n\n"
            "dn: cn=nothing,dc=x\ncn: nothing\n\n"
            "dn: cn=g,dc=x\nchangetype: delete\n");
  std::vector<ConnectorObjectType> types = {{"user", "inetOrgPerson", {}}, {"group", "groupOfNames", {}}};
  RecordingSink sink = Import(path, true, types);
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].object_type, "group");
  EXPECT_EQ(sink.records[1].object_type, "user");
  EXPECT_EQ(sink.records[2].kind, ImportRecord::Kind::kDelete);
  EXPECT_EQ(sink.records[2].object_type, "");  // several types, no objectClass to tell
  ASSERT_EQ(sink.errors.size(), 2u);
  EXPECT_EQ(sink.errors[0].first, path + ":10");
  EXPECT_NE(sink.errors[0].second.find("organizationalUnit"), std::string::npos) << sink.errors[0].second;
  EXPECT_EQ(sink.errors[1].first, path + ":13");
}

TEST(LdifImportTest, UrlValuesAreRefusedWithoutReadingTheFile) {
  TempDir dir;
  std::string secret = dir.File("secret.txt");
  WriteFile(secret, "top secret");
  std::string path = dir.File("url.ldif");
  WriteFile(path,
            "dn: cn=a,dc=x\ncn: a\ndescription:< file://" + secret +
                "\n\n"
                "dn: cn=b,dc=x\ncn: b\ndescription:\n <file://" +
                secret +
                "\n\n"  // folded after the colon
                "dn: cn=c,dc=x\ncn: c\n");
  RecordingSink sink = Import(path, false);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].dn, "cn=c,dc=x");
  ASSERT_EQ(sink.errors.size(), 2u);
  EXPECT_EQ(sink.errors[0].first, path + ":1");
  EXPECT_NE(sink.errors[0].second.find("line 3"), std::string::npos) << sink.errors[0].second;
  EXPECT_NE(sink.errors[0].second.find("URL"), std::string::npos);
  EXPECT_EQ(sink.errors[1].first, path + ":5");
}

TEST(LdifImportTest, IncludeDirectiveFailsTheImport) {
  TempDir dir;
  std::string other = dir.File("other.ldif");
  WriteFile(other, "dn: cn=other,dc=x\ncn: other\n");
  std::string path = dir.File("inc.ldif");
  WriteFile(path, "dn: cn=a,dc=x\ncn: a\n\n# next\ninclude: file://" + other + "\n");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  RecordingSink sink;
  auto status = connector->FullImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kParse);
  EXPECT_NE(status.error().message.find(path + ":5"), std::string::npos) << status.error().message;
  EXPECT_TRUE(sink.records.empty());
}

TEST(LdifImportTest, MalformedRecordsAreReportedAndTheImportContinues) {
  TempDir dir;
  std::string path = dir.File("bad.ldif");
  WriteFile(path,
            "version: 1\n"
            "dn: cn=ok,dc=x\ncn: ok\n\n"                       // version then dn: fine
            "cn: first\ndn: cn=late,dc=x\n\n"                  // line 5: attribute before dn
            "dn: cn=nocolon,dc=x\nthis line has no colon\n\n"  // line 8
            "dn: cn=bogus,dc=x\nchangetype: bogus\n\n"         // line 11: libldap refuses
            "dn: cn=last,dc=x\ncn: last\n");
  RecordingSink sink = Import(path, true);
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].dn, "cn=ok,dc=x");
  EXPECT_EQ(sink.records[0].location, path + ":2");
  EXPECT_EQ(sink.records[1].dn, "cn=last,dc=x");
  EXPECT_EQ(sink.records[1].location, path + ":14");
  ASSERT_EQ(sink.errors.size(), 3u);
  EXPECT_EQ(sink.errors[0].first, path + ":5");
  EXPECT_NE(sink.errors[0].second.find("must start with 'dn:'"), std::string::npos);
  EXPECT_EQ(sink.errors[1].first, path + ":8");
  EXPECT_NE(sink.errors[1].second.find("line 9"), std::string::npos) << sink.errors[1].second;
  EXPECT_EQ(sink.errors[2].first, path + ":11");
}

TEST(LdifImportTest, BomAndCrlfAreAccepted) {
  TempDir dir;
  std::string path = dir.File("win.ldif");
  WriteFile(path,
            "\xEF\xBB\xBF"
            "dn: cn=a,dc=x\r\ncn: a\r\ndescription: long\r\n  folded\r\n\r\ndn: cn=b,dc=x\r\ncn: b\r\n");
  RecordingSink sink = Import(path, false);
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].dn, "cn=a,dc=x");
  EXPECT_EQ(sink.records[0].attrs.at("description"), Values{"long folded"});
  EXPECT_EQ(sink.records[1].location, path + ":6");
}

TEST(LdifImportTest, BinaryBase64ValuesAreDecodedExactly) {
  TempDir dir;
  std::string path = dir.File("bin.ldif");
  // base64 of bytes 00 FF 0A 0D 20 80
  WriteFile(path, "dn:: Y249YmluLGRjPXg=\njpegPhoto:: AP8KDSCA\n");
  RecordingSink sink = Import(path, false);
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].dn, "cn=bin,dc=x");
  EXPECT_EQ(sink.records[0].attrs.at("jpegPhoto"), Values{std::string("\x00\xFF\n\r \x80", 6)});
}

TEST(LdifImportTest, MissingFileFailsWithIoError) {
  TempDir dir;
  std::string path = dir.File("none.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  RecordingSink sink;
  auto status = connector->DeltaImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_EQ(status.error().message, "cannot open " + path +
                                        ": No such file or directory; check the path in the "
                                        "management agent's settings");
}

}  // namespace
}  // namespace idsync
