#include <gtest/gtest.h>
#include <sys/stat.h>

#include "connectors/csv/csv_connector.h"
#include "test_util.h"

namespace idsync {
namespace {

using testing::ReadFile;
using testing::RecordingSink;
using testing::TempDir;
using testing::WriteFile;

using Settings = std::map<std::string, std::string, CaseInsensitiveLess>;

// Feeds `objects` to ExportSnapshot one by one.
std::function<bool(SnapshotObject&)> Yield(const std::vector<SnapshotObject>& objects) {
  auto index = std::make_shared<size_t>(0);
  return [&objects, index](SnapshotObject& out) {
    if (*index == objects.size()) return false;
    out = objects[(*index)++];
    return true;
  };
}

SnapshotObject Object(std::string anchor, AttributeMap attrs) {
  return SnapshotObject{std::move(anchor), "", "person", std::move(attrs)};
}

TEST(CsvExportTest, ExportThenImportGivesTheSameObjects) {
  TempDir dir;
  std::string path = dir.File("people.csv");
  auto config = testing::CsvConfig(path, {"uid", "cn", "mail", "note"}, {{"multi_value_separator", "|"}});
  auto connector = testing::MakeConnector(config);
  std::vector<SnapshotObject> objects = {
      Object("1", {{"uid", {"ada"}}, {"cn", {"Lovelace, Ada"}}, {"mail", {"a@x", "ada@y"}}}),
      Object("2", {{"uid", {"bob"}}, {"cn", {" padded "}}, {"note", {"said \"hi\"\r\nthen left"}}}),
      Object("3", {{"uid", {"cy"}}, {"cn", {"Ç\xC3\xBC"}}}),
  };
  auto status = connector->ExportSnapshot(Yield(objects));
  ASSERT_TRUE(status) << status.error().message;

  RecordingSink sink;
  ASSERT_TRUE(connector->FullImport(sink));
  EXPECT_TRUE(sink.errors.empty());
  ASSERT_EQ(sink.records.size(), objects.size());
  for (size_t i = 0; i < objects.size(); ++i) EXPECT_EQ(sink.records[i].attrs, objects[i].attrs);
  EXPECT_EQ(sink.records[1].location, path + ":3");
  EXPECT_EQ(sink.records[2].location, path + ":5");  // the note spans two lines
}

TEST(CsvExportTest, FieldsAreQuotedOnlyWhenNeededWithoutBom) {
  TempDir dir;
  std::string path = dir.File("out.csv");
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"uid", "cn", "title"}));
  std::vector<SnapshotObject> objects = {
      Object("1", {{"uid", {"ada"}}, {"cn", {"Ada, Countess"}}, {"title", {"plain text"}}}),
      Object("2", {{"uid", {"bob"}}, {"cn", {"say \"x\""}}, {"title", {" lead"}}}),
      Object("3", {{"uid", {"cy"}}, {"title", {"two\nlines"}}}),
  };
  ASSERT_TRUE(connector->ExportSnapshot(Yield(objects)));
  EXPECT_EQ(ReadFile(path),
            "uid,cn,title\n"
            "ada,\"Ada, Countess\",plain text\n"
            "bob,\"say \"\"x\"\"\",\" lead\"\n"
            "cy,,\"two\nlines\"\n");
}

TEST(CsvExportTest, SemicolonDelimiterQuotesSemicolonsNotCommas) {
  TempDir dir;
  std::string path = dir.File("out.csv");
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"uid", "cn"}, {{"delimiter", ";"}}));
  std::vector<SnapshotObject> objects = {Object("1", {{"uid", {"a;b"}}, {"cn", {"c,d"}}})};
  ASSERT_TRUE(connector->ExportSnapshot(Yield(objects)));
  EXPECT_EQ(ReadFile(path), "uid;cn\n\"a;b\";c,d\n");
}

TEST(CsvExportTest, FailedExportLeavesTheOldFileAndNoTempFile) {
  TempDir dir;
  std::string path = dir.File("people.csv");
  WriteFile(path, "uid,mail\nold,o@x\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"uid", "mail"}));
  // Two values and no multi_value_separator: the export must fail midway.
  std::vector<SnapshotObject> objects = {
      Object("1", {{"uid", {"ada"}}, {"mail", {"a@x"}}}),
      Object("2", {{"uid", {"bob"}}, {"mail", {"b@x", "bob@y"}}}),
  };
  auto status = connector->ExportSnapshot(Yield(objects));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kConfig);
  EXPECT_NE(status.error().message.find("multi_value_separator"), std::string::npos);
  EXPECT_EQ(ReadFile(path), "uid,mail\nold,o@x\n");
  EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"people.csv"});
}

TEST(CsvExportTest, ValueContainingTheSeparatorFailsTheExport) {
  TempDir dir;
  std::string path = dir.File("p.csv");
  auto connector =
      testing::MakeConnector(testing::CsvConfig(path, {"uid"}, {{"multi_value_separator", "|"}}));
  std::vector<SnapshotObject> objects = {Object("1", {{"uid", {"a|b"}}})};
  auto status = connector->ExportSnapshot(Yield(objects));
  ASSERT_FALSE(status);
  EXPECT_FALSE(testing::FileExists(path));
  EXPECT_TRUE(testing::ListDir(dir.path()).empty());
}

TEST(CsvExportTest, ExportWithoutColumnsIsAConfigError) {
  TempDir dir;
  auto connector = testing::MakeConnector(testing::CsvConfig(dir.File("p.csv")));
  auto status = connector->ExportSnapshot([](SnapshotObject&) { return false; });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kConfig);
}

TEST(CsvExportTest, ExportReplacesTheFileAndKeepsItsMode) {
  TempDir dir;
  std::string path = dir.File("p.csv");
  WriteFile(path, "uid\nold\n");
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"uid"}));
  std::vector<SnapshotObject> objects = {Object("1", {{"uid", {"new"}}})};
  ASSERT_TRUE(connector->ExportSnapshot(Yield(objects)));
  EXPECT_EQ(ReadFile(path), "uid\nnew\n");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

// The engine's reading failed part way: nothing of what was written so far
// may replace the file.
TEST(CsvExportTest, AnErrorFromTheSourceKeepsTheOldFile) {
  TempDir dir;
  std::string path = dir.File("p.csv");
  WriteFile(path, "uid\nold\n");
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"uid"}));
  int calls = 0;
  auto status = connector->ExportSnapshot([&](SnapshotObject& o) -> Result<bool> {
    if (++calls > 2) return Fail(ErrorCode::kDatabase, "the read failed");
    o = Object(std::to_string(calls), {{"uid", {"new" + std::to_string(calls)}}});
    return true;
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code, ErrorCode::kDatabase);
  EXPECT_EQ(status.error().message, "the read failed");
  EXPECT_EQ(ReadFile(path), "uid\nold\n");
  EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"p.csv"});
}

}  // namespace
}  // namespace idsync

namespace idsync {
namespace {

TEST(CsvObjectTypeColumnTest, OneFileHoldsSeveralObjectTypes) {
  testing::TempDir dir;
  std::string path = dir.File("hr.csv");
  ConnectorConfig config = testing::CsvConfig(path, {"id", "name"}, {{"object_type_column", "kind"}});
  config.object_types.push_back({"group", "", {"id", "member"}});
  auto connector = testing::MakeConnector(config);
  testing::WriteFile(path, "kind,id,name,member\nperson,1,Ada,\nGROUP,g1,,1\nrobot,r1,R2,\n");
  testing::RecordingSink sink;
  ASSERT_TRUE(connector->FullImport(sink));
  ASSERT_EQ(sink.records.size(), 2u);
  EXPECT_EQ(sink.records[0].object_type, "person");
  EXPECT_EQ(sink.records[1].object_type, "group");
  ASSERT_EQ(sink.errors.size(), 1u);
  EXPECT_EQ(sink.errors[0].first, path + ":4");
  EXPECT_NE(sink.errors[0].second.find("'robot', which is not an object type"), std::string::npos);

  std::vector<SnapshotObject> objects = {{"1", "", "person", {{"id", {"1"}}, {"name", {"Ada"}}}},
                                         {"g1", "", "group", {{"id", {"g1"}}, {"member", {"1"}}}}};
  size_t i = 0;
  ASSERT_TRUE(connector->ExportSnapshot([&](SnapshotObject& o) {
    if (i == objects.size()) return false;
    o = objects[i++];
    return true;
  }));
  EXPECT_EQ(testing::ReadFile(path), "kind,id,name,member\nperson,1,Ada,\ngroup,g1,,1\n");
}

TEST(CsvObjectTypeColumnTest, MissingTypeColumnFailsTheImportNamingIt) {
  testing::TempDir dir;
  std::string path = dir.File("hr.csv");
  auto connector = testing::MakeConnector(testing::CsvConfig(path, {"id"}, {{"object_type_column", "kind"}}));
  testing::WriteFile(path, "id\n1\n");
  testing::RecordingSink sink;
  auto st = connector->FullImport(sink);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("no column 'kind'"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace idsync
