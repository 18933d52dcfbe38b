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

}  // namespace idsync
