// config/config_internal: pieces shared by the config module's own files.
#pragma once

#include <functional>
#include <string>

#include "config/config.h"

namespace idsync {

// Connector settings that name files; relative values resolve against the
// folder of the configuration file.
bool IsPathSetting(std::string_view key);
std::string StepNamesList();

// Adds one TOML document to `config` (no cross-checks yet).
Status MergeDocument(Config& config, const std::string& text, const std::string& file,
                     const std::function<Result<std::string>(const std::string&)>& read_extension);

// Cross-checks the whole configuration (names, attributes, extensions).
Status Validate(const Config& config);

}  // namespace idsync
