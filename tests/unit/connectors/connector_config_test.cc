#include "connectors/connector_config.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace idsync {
namespace {

using testing::CsvConfig;
using testing::LdifConfig;

std::string ErrorOf(const ConnectorConfig& config) {
  auto status = ValidateConnectorConfig(config);
  if (status) return "(valid)";
  EXPECT_EQ(status.error().code, ErrorCode::kConfig);
  return status.error().message;
}

TEST(ConnectorConfigTest, ValidConfigsPass) {
  EXPECT_TRUE(ValidateConnectorConfig(CsvConfig("people.csv", {}, {{"delimiter", ";"}})));
  EXPECT_TRUE(
      ValidateConnectorConfig(CsvConfig("p.csv", {}, {{"Delimiter", "tab"}, {"OBJECT_TYPE", "Person"}})));
  auto ldif = LdifConfig("dir.ldif");
  ldif.settings["export_path"] = "out.ldif";
  EXPECT_TRUE(ValidateConnectorConfig(ldif));
}

TEST(ConnectorConfigTest, UnknownKeyIsNamedWithTheAllowedKeys) {
  EXPECT_EQ(ErrorOf(CsvConfig("p.csv", {}, {{"delimter", ";"}})),
            "management agent 'hr': setting 'delimter' is not known for a csv connector; allowed: "
            "path, delimiter, multi_value_separator, object_type, object_type_column");
  auto ldif = LdifConfig("d.ldif");
  ldif.settings["delimiter"] = ",";
  EXPECT_EQ(ErrorOf(ldif),
            "management agent 'dir': setting 'delimiter' is not known for a ldif connector; allowed: "
            "path, export_path");
}

TEST(ConnectorConfigTest, MissingPathIsRequired) {
  auto config = CsvConfig("p.csv");
  config.settings.erase("path");
  EXPECT_NE(ErrorOf(config).find("setting 'path' is required"), std::string::npos);
  config.settings["path"] = "";
  EXPECT_NE(ErrorOf(config).find("setting 'path' is required"), std::string::npos);
}

TEST(ConnectorConfigTest, BadValuesSayWhatIsAllowed) {
  EXPECT_NE(ErrorOf(CsvConfig("p.csv", {}, {{"delimiter", ";;"}})).find("must be one ASCII character"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CsvConfig("p.csv", {}, {{"delimiter", "\""}})).find("double quote"), std::string::npos);
  EXPECT_NE(
      ErrorOf(CsvConfig("p.csv", {}, {{"multi_value_separator", ","}})).find("cannot contain the delimiter"),
      std::string::npos);
  EXPECT_NE(ErrorOf(CsvConfig("p.csv", {}, {{"multi_value_separator", ""}})).find("is empty"),
            std::string::npos);
  EXPECT_NE(ErrorOf(CsvConfig("p.csv", {}, {{"object_type", "group"}}))
                .find("not an object type of this agent (person)"),
            std::string::npos);
}

TEST(ConnectorConfigTest, TypeAndObjectTypesAreChecked) {
  auto config = CsvConfig("p.csv");
  config.type = "xml";
  EXPECT_EQ(ErrorOf(config), "management agent 'hr': connector type 'xml' is not known; allowed: csv, ldif");
  config = CsvConfig("p.csv");
  config.object_types.clear();
  EXPECT_NE(ErrorOf(config).find("no object types"), std::string::npos);
  config = CsvConfig("p.csv");
  config.object_types.push_back({"PERSON", "", {}});
  EXPECT_NE(ErrorOf(config).find("'PERSON' is declared twice"), std::string::npos);
}

TEST(ConnectorConfigTest, SettingsTablesListEveryKey) {
  ASSERT_EQ(ConnectorTypes().size(), 2u);
  EXPECT_EQ(ConnectorSettings("CSV").size(), 5u);
  EXPECT_TRUE(ConnectorSettings("csv")[0].required);
  EXPECT_EQ(ConnectorSettings("ldif").size(), 2u);
  EXPECT_TRUE(ConnectorSettings("xml").empty());
}

TEST(ConnectorConfigTest, CreateConnectorResolvesRelativePathsAgainstBaseDir) {
  testing::TempDir dir;
  testing::WriteFile(dir.File("people.csv"), "uid\nada\n");
  auto config = CsvConfig("people.csv");
  config.base_dir = dir.path();
  auto connector = testing::MakeConnector(config);
  ASSERT_NE(connector, nullptr);
  testing::RecordingSink sink;
  ASSERT_TRUE(connector->FullImport(sink));
  ASSERT_EQ(sink.records.size(), 1u);
  EXPECT_EQ(sink.records[0].location, dir.File("people.csv") + ":2");

  auto bad = CreateConnector(CsvConfig("p.csv", {}, {{"colour", "red"}}));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kConfig);
}

}  // namespace
}  // namespace idsync
