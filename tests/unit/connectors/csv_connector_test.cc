#include "connectors/csv/csv_connector.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "test_util.h"

namespace idsync {
namespace {

using testing::RecordingSink;
using testing::TempDir;
using testing::WriteFile;

using Settings = std::map<std::string, std::string, CaseInsensitiveLess>;

RecordingSink Import(const std::string& path, Settings settings = {}) {
  RecordingSink sink;
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {}, std::move(settings)));
  if (!connector) return sink;
  auto status = connector->FullImport(sink);
  EXPECT_TRUE(status) << status.error().message;
  return sink;
}

TEST(CsvConnectorTest, LeadingByteOrderMarkIsStripped) {
  TempDir dir;
  WriteFile(dir.File("bom.csv"), "\xEF\xBB\xBFuid,cn\nada,Ada Lovelace\n");
  RecordingSink sink = Import(dir.File("bom.csv"));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].attrs, (AttributeMap{{"uid", {"ada"}}, {"cn", {"Ada Lovelace"}}}));
  EXPECT_EQ(sink.records[0].attrs.begin()->first, "cn");  // not "\xEF\xBB\xBFuid"
}

TEST(CsvConnectorTest, CrlfLineEndsAreNotPartOfValuesAndLinesAreCounted) {
  TempDir dir;
  WriteFile(dir.File("crlf.csv"), "uid,cn\r\nada,Ada\r\n\r\nbob,\"Bob\r\nSmith\"\r\ncy,Cy\r\n");
  RecordingSink sink = Import(dir.File("crlf.csv"));
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].attrs.at("cn"), Values{"Ada"});
  EXPECT_EQ(sink.records[1].attrs.at("cn"), Values{"Bob\r\nSmith"});
  EXPECT_EQ(sink.records[0].location, dir.File("crlf.csv") + ":2");
  EXPECT_EQ(sink.records[1].location, dir.File("crlf.csv") + ":4");  // line 3 is blank
  EXPECT_EQ(sink.records[2].location, dir.File("crlf.csv") + ":6");
}

TEST(CsvConnectorTest, SemicolonDelimiterSplitsOnSemicolonsOnly) {
  TempDir dir;
  WriteFile(dir.File("semi.csv"), "uid;title\nada;Countess, mathematician\nbob;\"a;b\"\n");
  RecordingSink sink = Import(dir.File("semi.csv"), {{"delimiter", ";"}});
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].attrs.at("title"), Values{"Countess, mathematician"});
  EXPECT_EQ(sink.records[1].attrs.at("title"), Values{"a;b"});
}

TEST(CsvConnectorTest, TabDelimiterIsAcceptedAsBackslashTAndAsTab) {
  TempDir dir;
  WriteFile(dir.File("tab.csv"), "uid\tcn\nada\tAda L\n");
  for (const char* spelling : {"\\t", "tab", "\t"}) {
    RecordingSink sink = Import(dir.File("tab.csv"), {{"delimiter", spelling}});
    ASSERT_EQ(sink.records.size(), 1u) << spelling;
    EXPECT_EQ(sink.records[0].attrs.at("cn"), Values{"Ada L"});
  }
}

TEST(CsvConnectorTest, EmptyFieldsAndMissingTrailingFieldsAreAbsent) {
  TempDir dir;
  WriteFile(dir.File("p.csv"), "uid,cn,mail\nada,,\"\"\nbob\n");
  RecordingSink sink = Import(dir.File("p.csv"));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_TRUE(sink.errors.empty());
  EXPECT_EQ(sink.records[0].attrs, (AttributeMap{{"uid", {"ada"}}}));
  EXPECT_EQ(sink.records[1].attrs, (AttributeMap{{"uid", {"bob"}}}));
  EXPECT_EQ(sink.records[1].object_type, "person");
  EXPECT_TRUE(sink.records[1].dn.empty());
}

TEST(CsvConnectorTest, MalformedRowsAreReportedWithFileAndLineAndImportContinues) {
  TempDir dir;
  std::string path = dir.File("bad.csv");
  WriteFile(path,
            "uid,cn\n"
            "ada,Ada\n"
            "bob,Bob,extra\n"  // line 3: too many fields
            "cy,\"C\xff\"\n"   // line 4: invalid UTF-8
            "dee,Dee\n"
            "fay,\"F\"ay,x\n"          // line 6: text after a closing quote
            "gus,\"G\"\"us\"\n"        // line 7: fine ("" is an escaped quote)
            "eve,\"never\nclosed\n");  // line 8: unterminated quote at EOF
  RecordingSink sink = Import(path);
  ASSERT_EQ(sink.records.size(), 3u);
  EXPECT_EQ(sink.records[0].attrs.at("uid"), Values{"ada"});
  EXPECT_EQ(sink.records[1].attrs.at("uid"), Values{"dee"});
  EXPECT_EQ(sink.records[1].location, path + ":5");
  EXPECT_EQ(sink.records[2].attrs.at("cn"), Values{"G\"us"});
  EXPECT_EQ(sink.records[2].location, path + ":7");
  ASSERT_EQ(sink.errors.size(), 4u);
  EXPECT_EQ(sink.errors[0].first, path + ":3");
  EXPECT_NE(sink.errors[0].second.find("3 fields but the header has 2"), std::string::npos);
  EXPECT_EQ(sink.errors[1].first, path + ":4");
  EXPECT_NE(sink.errors[1].second.find("UTF-8"), std::string::npos);
  EXPECT_EQ(sink.errors[2].first, path + ":6");
  EXPECT_NE(sink.errors[2].second.find("after the closing quote"), std::string::npos);
  EXPECT_EQ(sink.errors[3].first, path + ":8");
  EXPECT_NE(sink.errors[3].second.find("unterminated"), std::string::npos);
}

TEST(CsvConnectorTest, DuplicateHeaderNameFailsTheImportNamingFileAndColumn) {
  TempDir dir;
  std::string path = dir.File("dup.csv");
  WriteFile(path, "uid,cn,CN\nada,a,b\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(path));
  RecordingSink sink;
  auto status = connector->FullImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kParse);
  EXPECT_NE(status.error().message.find(path + ":1"), std::string::npos) << status.error().message;
  EXPECT_NE(status.error().message.find("column 3"), std::string::npos);
  EXPECT_TRUE(sink.records.empty());
}

TEST(CsvConnectorTest, EmptyHeaderNameFailsTheImport) {
  TempDir dir;
  WriteFile(dir.File("e.csv"), "uid,,cn\nada,x,y\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("e.csv")));
  RecordingSink sink;
  auto status = connector->FullImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kParse);
  EXPECT_NE(status.error().message.find("column 2"), std::string::npos) << status.error().message;
}

TEST(CsvConnectorTest, MissingFileFailsWithIoErrorThatSuggestsCheckingThePath) {
  TempDir dir;
  std::string path = dir.File("nope.csv");
  auto connector = testing::MakeConnector(testing::CsvConfig(path));
  RecordingSink sink;
  auto status = connector->FullImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kIo);
  EXPECT_EQ(status.error().message, "cannot open " + path +
                                        ": No such file or directory; check the path in the "
                                        "management agent's settings");
}

TEST(CsvConnectorTest, MultiValueSeparatorSplitsFieldsAndDropsEmptyPieces) {
  TempDir dir;
  WriteFile(dir.File("mv.csv"), "uid,mail\nada,a@x|b@x||\nbob,|\n");
  RecordingSink sink = Import(dir.File("mv.csv"), {{"multi_value_separator", "|"}});
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].attrs.at("mail"), (Values{"a@x", "b@x"}));
  EXPECT_EQ(sink.records[1].attrs.count("mail"), 0u);
}

TEST(CsvConnectorTest, UnquotedEdgeSpacesAreTrimmedQuotedOnesKept) {
  TempDir dir;
  WriteFile(dir.File("s.csv"), "uid,cn,title\n  ada  ,\"  Ada  \" ,Count\"ess\n");
  RecordingSink sink = Import(dir.File("s.csv"));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].attrs.at("uid"), Values{"ada"});
  EXPECT_EQ(sink.records[0].attrs.at("cn"), Values{"  Ada  "});
  EXPECT_EQ(sink.records[0].attrs.at("title"), Values{"Count\"ess"});  // a stray quote is data
}

TEST(CsvConnectorTest, FileWithoutFinalNewlineKeepsItsLastRow) {
  TempDir dir;
  WriteFile(dir.File("n.csv"), "uid\nada\nbob");
  RecordingSink sink = Import(dir.File("n.csv"));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[1].location, dir.File("n.csv") + ":3");
}

TEST(CsvConnectorTest, DeltaImportIsUnsupported) {
  TempDir dir;
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("x.csv")));
  RecordingSink sink;
  auto status = connector->DeltaImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kUnsupported);
  EXPECT_TRUE(connector->ExportsSnapshots());
  EXPECT_FALSE(connector->BeginExport(1));
}

TEST(CsvConnectorTest, SinkErrorStopsTheImport) {
  struct StopAfterOne : ImportSink {
    Status OnRecord(ImportRecord&&) override { return Fail(ErrorCode::kLimit, "enough"); }
    Status OnRecordError(const std::string&, const std::string&) override { return {}; }
  } sink;
  TempDir dir;
  WriteFile(dir.File("s.csv"), "uid\na\nb\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("s.csv")));
  auto status = connector->FullImport(sink);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kLimit);
}

// A sink that takes digests: it keeps each row's digest and takes the rows
// whose digest it was given as unchanged.
struct DigestingSink : RecordingSink {
  std::string DigestContext() const override { return context; }
  Result<bool> OnUnchanged(const RecordDigest& digest, std::string_view location) override {
    offered.push_back(digest);
    if (std::find(known.begin(), known.end(), digest) == known.end()) return false;
    skipped.emplace_back(location);
    return true;
  }

  std::string context = "staging context";
  std::vector<RecordDigest> known;
  std::vector<RecordDigest> offered;
  std::vector<std::string> skipped;
};

// The digest offered for each row of `content`.
std::vector<RecordDigest> Digests(const std::string& content, Settings settings = {},
                                  std::string context = "staging context") {
  TempDir dir;
  WriteFile(dir.File("d.csv"), content);
  DigestingSink sink;
  sink.context = std::move(context);
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("d.csv"), {}, std::move(settings)));
  auto status = connector->FullImport(sink);
  EXPECT_TRUE(status) << status.error().message;
  for (const auto& r : sink.records) EXPECT_TRUE(r.digest);
  return sink.offered;
}

TEST(CsvConnectorTest, RowsTheSinkHoldsAreSkippedAndTheRestCarryTheirDigest) {
  TempDir dir;
  std::string path = dir.File("p.csv");
  WriteFile(path, "uid,cn\nada,Ada\nbob,Bob\nbob,Bob,extra\ncy,Cy\n");
  DigestingSink sink;
  sink.known = Digests("uid,cn\nbob,Bob\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(path));
  ASSERT_TRUE(connector->FullImport(sink));
  EXPECT_EQ(sink.skipped, std::vector<std::string>{path + ":3"});
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].digest, sink.offered[0]);
  EXPECT_EQ(sink.records[1].attrs.at("uid"), Values{"cy"});
  // A malformed row is reported, never offered.
  ASSERT_EQ(sink.errors.size(), 1u);
  EXPECT_EQ(sink.errors[0].first, path + ":4");
  EXPECT_EQ(sink.offered.size(), 3u);
}

TEST(CsvConnectorTest, DigestChangesWithAnyFieldTheHeaderTheSettingsAndTheSinkContext) {
  const std::string header = "uid,cn,title\n";
  auto base = Digests(header + "ada,Ada,Countess\n");
  ASSERT_EQ(base.size(), 1u);
  EXPECT_EQ(Digests(header + "ada,Ada,Countess\n"), base);
  EXPECT_EQ(Digests(header + "ada, Ada ,\"Countess\"\n"), base);  // same fields, other spelling
  for (const char* row : {"adb,Ada,Countess\n", "ada,Ad,Countess\n", "ada,Ada,Countess2\n", "ada,,Countess\n",
                          "ada,AdaCountess,\n", "ada,Ada,Countess,\n"}) {
    EXPECT_NE(Digests(header + row), base) << row;
  }
  EXPECT_NE(Digests("uid,cn,Title\nada,Ada,Countess\n"), base);
  EXPECT_NE(Digests("uid,cn,title,mail\nada,Ada,Countess\n"), base);
  EXPECT_NE(Digests(header + "ada,Ada,Countess\n", {{"multi_value_separator", "|"}}), base);
  EXPECT_NE(Digests(header + "ada,Ada,Countess\n", {}, "another context"), base);
}

TEST(CsvConnectorTest, SinkWithoutDigestContextIsNeverOffered) {
  TempDir dir;
  WriteFile(dir.File("p.csv"), "uid\nada\n");
  DigestingSink sink;
  sink.context.clear();
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("p.csv")));
  ASSERT_TRUE(connector->FullImport(sink));
  EXPECT_TRUE(sink.offered.empty());
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_FALSE(sink.records[0].digest);
}

}  // namespace
}  // namespace idsync
