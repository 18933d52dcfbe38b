// core/private_file: writing a file only its owner may read (a server's own
// settings, key sets, key files), replacing any previous version atomically.
// Thread-safety: safe from any thread (for different paths).
#pragma once

#include <filesystem>
#include <string_view>

#include "core/error.h"

namespace idsync {

// Writes `data` to a temporary file (mode 0600) in the same folder, syncs it,
// renames it over `path` and syncs the folder, so `path` holds either the old
// or the new content, never a part. kIo naming the path and the cause;
// nothing is left behind on failure.
Status WritePrivateFile(const std::filesystem::path& path, std::string_view data);

}  // namespace idsync
