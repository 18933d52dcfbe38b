// cli/cli_parse: runs a CLI11 application the same way for every program:
// --help exits 0, a usage error prints CLI11's message and exits with the
// invalid-argument code, otherwise the command's own exit code is returned.
#pragma once

#include <CLI/CLI.hpp>

#include "core/error.h"

namespace idsync {

// `code` is set by the subcommand callbacks that parsing runs.
inline int ParseAndRun(CLI::App& app, int argc, char** argv, const int& code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : ExitCodeFor(ErrorCode::kInvalidArgument);
  }
  return code;
}

}  // namespace idsync
