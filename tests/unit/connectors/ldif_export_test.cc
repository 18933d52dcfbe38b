#include "connectors/ldif/ldif_export.h"

#include <gtest/gtest.h>
#include <unistd.h>

// clang-format off
// In this order: ldif.h uses FILE and lber.h's types without including them.
#include <stdio.h>
#include <lber.h>
#include <ldap.h>
#include <ldif.h>
// clang-format on

#include <random>

#include "connectors/ldif/ldif_writer.h"
#include "test_util.h"

namespace idsync {
namespace {

using testing::ReadFile;
using testing::RecordingSink;
using testing::TempDir;
using testing::WriteFile;
using Kind = ExportChange::Kind;
using Op = AttributeChange::Op;

ExportChange Change(Kind kind, std::string dn, AttributeMap attrs = {},
                    std::vector<AttributeChange> changes = {}, std::string new_dn = {}) {
  return ExportChange{kind,     "anchor",         std::move(dn),     std::move(new_dn),
                      "person", std::move(attrs), std::move(changes)};
}

std::vector<ExportChange> SampleBatch() {
  return {
      Change(Kind::kAdd, "cn=Ada,ou=People,dc=x", {{"cn", {"Ada"}}, {"mail", {"a@x", "ada@x"}}}),
      Change(Kind::kModify, "cn=Bob,ou=People,dc=x", {},
             {{Op::kAdd, "mail", {"b@x"}},
              {Op::kDelete, "phone", {}},
              {Op::kReplace, "title", {"Boss", "Chief"}}}),
      Change(Kind::kRename, "cn=Cy,ou=People,dc=x", {}, {}, "cn=Cy\\, Jr,ou=Former,dc=x"),
      Change(Kind::kRename, "cn=Dee,ou=People,dc=x", {}, {}, "cn=Dee2,ou=People,dc=x"),
      Change(Kind::kDelete, "cn=Eve,ou=People,dc=x"),
  };
}

Status RunBatch(Connector& connector, int64_t batch, const std::vector<ExportChange>& changes,
                bool commit = true) {
  IDSYNC_ASSIGN(auto session, connector.BeginExport(batch));
  for (const auto& c : changes) IDSYNC_TRY(session->Write(c));
  if (commit) return session->Commit();
  return {};
}

TEST(LdifExportTest, ExportedChangesAreReadBackByTheDeltaImport) {
  TempDir dir;
  std::string path = dir.File("changes.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  ASSERT_FALSE(connector->ExportsSnapshots());
  auto status = RunBatch(*connector, 1, SampleBatch());
  ASSERT_TRUE(status) << status.error().message;

  RecordingSink sink;
  ASSERT_TRUE(connector->DeltaImport(sink));
  EXPECT_TRUE(sink.errors.empty()) << sink.errors.front().second;
  ASSERT_EQ(sink.records.size(), 5u);
  const auto& add = sink.records[0];
  EXPECT_EQ(add.kind, ImportRecord::Kind::kFull);
  EXPECT_EQ(add.attrs,
            (AttributeMap{{"objectClass", {"person"}}, {"cn", {"Ada"}}, {"mail", {"a@x", "ada@x"}}}));
  const auto& modify = sink.records[1];
  EXPECT_EQ(modify.kind, ImportRecord::Kind::kModify);
  ASSERT_EQ(modify.changes.size(), 3u);
  EXPECT_EQ(modify.changes[0].op, Op::kAdd);
  EXPECT_EQ(modify.changes[1].op, Op::kDelete);
  EXPECT_EQ(modify.changes[1].name, "phone");
  EXPECT_TRUE(modify.changes[1].values.empty());
  EXPECT_EQ(modify.changes[2].op, Op::kReplace);
  EXPECT_EQ(modify.changes[2].values, (Values{"Boss", "Chief"}));
  EXPECT_EQ(sink.records[2].kind, ImportRecord::Kind::kRename);
  EXPECT_EQ(sink.records[2].new_dn, "cn=Cy\\, Jr,ou=Former,dc=x");
  EXPECT_EQ(sink.records[3].new_dn, "cn=Dee2,ou=People,dc=x");
  EXPECT_EQ(sink.records[4].kind, ImportRecord::Kind::kDelete);
  EXPECT_EQ(sink.records[4].dn, "cn=Eve,ou=People,dc=x");

  std::string text = ReadFile(path);
  EXPECT_TRUE(
      text.starts_with("version: 1\n\ndn: cn=Ada,ou=People,dc=x\nchangetype: add\nobjectClass: person\n"));
  EXPECT_NE(
      text.find("changetype: modrdn\nnewrdn: cn=Cy\\, Jr\ndeleteoldrdn: 1\nnewsuperior: ou=Former,dc=x\n"),
      std::string::npos);
  // Same parent: no newsuperior.
  EXPECT_NE(text.find("newrdn: cn=Dee2\ndeleteoldrdn: 1\n\n"), std::string::npos);
  EXPECT_NE(text.find("delete: phone\n-\nreplace: title\ntitle: Boss\ntitle: Chief\n-\n"), std::string::npos);
}

TEST(LdifExportTest, UnsafeValuesAreBase64AndLongLinesAreFolded) {
  std::string out;
  AttributeMap attrs = {{"description", {std::string(100, 'x')}},
                        {"cn", {" lead", "trail ", ":colon", "<angle", "J\xC3\xB6rg", "plain"}},
                        {"objectClass", {"person"}}};
  ASSERT_TRUE(AppendLdifChange(out, Change(Kind::kAdd, "cn=J\xC3\xB6rg,dc=x", attrs), "ignored"));
  EXPECT_EQ(out,
            "dn:: Y249SsO2cmcsZGM9eA==\n"
            "changetype: add\n"
            "cn:: IGxlYWQ=\n"
            "cn:: dHJhaWwg\n"
            "cn:: OmNvbG9u\n"
            "cn:: PGFuZ2xl\n"
            "cn:: SsO2cmc=\n"
            "cn: plain\n"
            "description: " +
                std::string(63, 'x') + "\n " + std::string(37, 'x') +
                "\n"
                "objectClass: person\n\n");
  size_t start = 0;
  while (start < out.size()) {
    size_t end = out.find('\n', start);
    EXPECT_LE(end - start, 76u) << out.substr(start, end - start);
    start = end + 1;
  }
}

TEST(LdifExportTest, Base64AndFoldedValuesRoundTripThroughTheImport) {
  TempDir dir;
  std::string path = dir.File("x.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  std::string binary("\x00\x01\xFF\n\r", 5);
  AttributeMap attrs = {{"cn", {" lead", "trail ", "J\xC3\xB6rg"}},
                        {"description", {std::string(300, 'y')}},
                        {"jpegPhoto", {binary}},
                        {"objectClass", {"person"}}};
  ASSERT_TRUE(RunBatch(*connector, 1, {Change(Kind::kAdd, "cn=J\xC3\xB6rg,dc=x", attrs)}));
  RecordingSink sink;
  ASSERT_TRUE(connector->FullImport(sink));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].dn, "cn=J\xC3\xB6rg,dc=x");
  EXPECT_EQ(sink.records[0].attrs, attrs);
}

TEST(LdifExportTest, BatchRetriedAfterPartialWriteProducesExactlyOneCopy) {
  TempDir dir;
  std::string path = dir.File("out.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  std::vector<ExportChange> first = {Change(Kind::kDelete, "cn=First,dc=x")};
  ASSERT_TRUE(RunBatch(*connector, 1, first));
  size_t after_first = ReadFile(path).size();
  ASSERT_TRUE(RunBatch(*connector, 2, SampleBatch()));
  std::string expected = ReadFile(path);

  // A crash halfway through writing batch 2: only part of it reached the file.
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(after_first + (expected.size() - after_first) / 2)),
            0);
  ASSERT_TRUE(RunBatch(*connector, 2, SampleBatch()));
  EXPECT_EQ(ReadFile(path), expected);

  // A crash after Commit() but before the engine recorded the batch as done.
  ASSERT_TRUE(RunBatch(*connector, 2, SampleBatch()));
  EXPECT_EQ(ReadFile(path), expected);

  RecordingSink sink;
  ASSERT_TRUE(connector->DeltaImport(sink));
  EXPECT_EQ(sink.records.size(), 6u);
}

TEST(LdifExportTest, NextBatchAppendsWithoutAnotherVersionLine) {
  TempDir dir;
  std::string path = dir.File("out.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  ASSERT_TRUE(RunBatch(*connector, 1, {Change(Kind::kDelete, "cn=a,dc=x")}));
  ASSERT_TRUE(RunBatch(*connector, 2, {Change(Kind::kDelete, "cn=b,dc=x")}));
  EXPECT_EQ(ReadFile(path),
            "version: 1\n\n"
            "dn: cn=a,dc=x\nchangetype: delete\n\n"
            "dn: cn=b,dc=x\nchangetype: delete\n\n");
  EXPECT_EQ(ReadFile(LdifBatchSidecarPath(path)),
            "2 " + std::to_string(std::string("version: 1\n\n").size() + 34) + "\n");
}

TEST(LdifExportTest, AbandonedSessionLeavesTheFileAsItWas) {
  TempDir dir;
  std::string path = dir.File("out.ldif");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  ASSERT_TRUE(RunBatch(*connector, 1, {Change(Kind::kDelete, "cn=a,dc=x")}));
  std::string before = ReadFile(path);
  ASSERT_TRUE(RunBatch(*connector, 2, SampleBatch(), /*commit=*/false));
  EXPECT_EQ(ReadFile(path), before);
}

TEST(LdifExportTest, SecondConcurrentSessionOnTheFileIsBusy) {
  TempDir dir;
  auto connector = testing::MakeConnector(testing::LdifConfig(dir.File("out.ldif")));
  auto first = connector->BeginExport(1);
  ASSERT_TRUE(first);
  auto second = connector->BeginExport(2);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, ErrorCode::kBusy);
}

TEST(LdifExportTest, DamagedSidecarIsReportedByName) {
  TempDir dir;
  std::string path = dir.File("out.ldif");
  WriteFile(LdifBatchSidecarPath(path), "garbage");
  auto connector = testing::MakeConnector(testing::LdifConfig(path));
  auto session = connector->BeginExport(1);
  ASSERT_FALSE(session);
  EXPECT_EQ(session.error().code, ErrorCode::kParse);
  EXPECT_NE(session.error().message.find(LdifBatchSidecarPath(path)), std::string::npos);
}

TEST(LdifExportTest, ExportGoesToExportPathWhenSet) {
  TempDir dir;
  auto config = testing::LdifConfig(dir.File("in.ldif"));
  config.settings["export_path"] = dir.File("out.ldif");
  auto connector = testing::MakeConnector(config);
  ASSERT_TRUE(RunBatch(*connector, 1, {Change(Kind::kDelete, "cn=a,dc=x")}));
  EXPECT_TRUE(testing::FileExists(dir.File("out.ldif")));
  EXPECT_FALSE(testing::FileExists(dir.File("in.ldif")));
}

TEST(LdifExportTest, UnwritableChangesAreRefused) {
  std::string out;
  auto bad_name = AppendLdifChange(out, Change(Kind::kAdd, "cn=a,dc=x", {{"bad:name", {"v"}}}), "");
  ASSERT_FALSE(bad_name);
  EXPECT_EQ(bad_name.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(AppendLdifChange(out, Change(Kind::kDelete, ""), ""));
  EXPECT_FALSE(AppendLdifChange(out, Change(Kind::kRename, "cn=a,dc=x"), ""));
  EXPECT_TRUE(out.empty());
  TempDir dir;
  auto connector = testing::MakeConnector(testing::LdifConfig(dir.File("x.ldif")));
  EXPECT_EQ(connector->ExportSnapshot([](SnapshotObject&) { return false; }).error().code,
            ErrorCode::kUnsupported);
}

// What libldap writes for one line, as the writer did before it formatted
// plain lines itself.
std::string LibldapLine(const std::string& name, const std::string& value) {
  std::string out(name.size() + 3 * value.size() + 64, '\0');
  char* end = out.data();
  ldif_sput_wrap(&end, LDIF_PUT_VALUE, name.c_str(), value.data(), value.size(), 76);
  out.resize(static_cast<size_t>(end - out.data()));
  return out;
}

TEST(LdifWriterTest, LinesAreTheBytesLibldapWrites) {
  std::vector<std::pair<std::string, std::string>> lines = {
      {"cn", "Ada Lovelace"}, {"dn", "uid=alovelace100000,ou=people,dc=example,dc=com"},
      {"mail", "ada.lovelace100000@example.com"}, {"cn", " leading"}, {"cn", "trailing "},
      {"cn", ":colon"}, {"cn", "<less"}, {"cn", "a:b<c"}, {"cn", ""}, {"cn", "caf\xc3\xa9"},
      {"cn", "tab\there"}, {"cn", "line\nbreak"}, {"userPassword", "secret"}, {"userpassword", "secret"},
      {"2.5.4.35", "secret"}, {"userPassword;binary", "secret"}, {"cn;lang-en", "Ada"},
      {"description", std::string(200, 'x')}, {"hireDate", "20060621000000Z"}, {"cn", "a+b=c,d@e-f_g.h"},
      {"cn", "#hash"}, {"cn", "-dash"}, {"cn", "x"}, {"cn", "0"}};
  // Lengths around the folding width, with every character the writer
  // formats itself.
  const std::string alphabet = "abcXYZ059 ,=.@-_+";
  std::mt19937 random(7);
  for (size_t length = 1; length <= 90; ++length) {
    for (int i = 0; i < 20; ++i) {
      std::string value;
      for (size_t j = 0; j < length; ++j) value += alphabet[random() % alphabet.size()];
      lines.emplace_back(i % 2 ? "departmentNumber" : "sn", value);
    }
  }
  for (const auto& [name, value] : lines) {
    std::string ours = "before\n";
    AppendLdifLine(ours, name, value);
    EXPECT_EQ(ours, "before\n" + LibldapLine(name, value)) << name << ": '" << value << "'";
  }
}

}  // namespace
}  // namespace idsync
