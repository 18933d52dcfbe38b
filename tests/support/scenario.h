// tests/support/scenario: the benchmark's scenario at test size (HR people
// with managers and department groups into a directory feed and a badge
// file), and everything a run of it leaves, as one text to compare.
#pragma once

#include <filesystem>
#include <string>

namespace idsync {

class Store;

// CFG/idsync.toml (bench/config/idsync.toml), CFG/data/hr.csv with `people`
// people in groups of 50, and an empty CFG/out.
void WriteScenario(const std::filesystem::path& cfg, int people);

// The metaverse, the connector spaces of hr, directory and badges, and the
// two exported files.
std::string ScenarioOutcome(Store& store, const std::filesystem::path& cfg);

// The scenario's full cycle, in the order an administrator runs it.
inline constexpr std::pair<const char*, const char*> kScenarioCycle[] = {
    {"hr", "full-import"}, {"hr", "full-sync"}, {"directory", "export"}, {"badges", "export"}};

// A small configuration for the export's tests: people from an HR CSV
// (hr.csv) projected and exported to an LDIF directory feed (directory.ldif,
// anchored by DN) and a CSV badge file (badges.csv).
inline constexpr const char* kThreeAgentExportConfig = R"toml(
[metaverse.object_types.person]
attributes = ["employeeId", "displayName", "title"]

[ma.hr]
connector = "csv"
settings = { path = "hr.csv" }
[ma.hr.object_types.person]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "name", "title"]
project = true
import_flows = { employeeId = "employeeId", displayName = "name", title = "title" }

[ma.directory]
connector = "ldif"
settings = { path = "directory.ldif" }
[ma.directory.object_types.person]
mv_object_type = "person"
anchor = "dn"
object_class = "inetOrgPerson"
attributes = ["cn", "title", "employeeNumber"]
export_flows = { cn = "displayName", title = "title", employeeNumber = "employeeId" }
provisioning = { dn = '"cn=" & displayName & ",dc=example"' }

[ma.badges]
connector = "csv"
settings = { path = "badges.csv" }
[ma.badges.object_types.badge]
mv_object_type = "person"
anchor = "employeeId"
attributes = ["employeeId", "name", "title"]
export_flows = { employeeId = "employeeId", name = "displayName", title = "title" }
provisioning = { dn = "employeeId" }
)toml";

}  // namespace idsync
