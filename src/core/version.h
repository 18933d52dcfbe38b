// core/version: the release of this build (the project version in CMake).
// Thread-safety: a constant.
#pragma once

#include <string_view>

namespace idsync {

std::string_view IdsyncVersion();  // e.g. "0.1.0"

}  // namespace idsync
