// The `idsyncd` program's command line: `idsyncd [--home DIR] [--foreground]`.
#include <CLI/CLI.hpp>

#include "cli/cli_parse.h"
#include "cli/commands.h"
#include "core/version.h"
#include "server/service.h"

namespace idsync {

int ServiceMain(int argc, char** argv) {
  CLI::App app{
      "idsyncd: the idsync synchronization service. It runs in the foreground (systemd Type=simple) "
      "and stops cleanly on SIGTERM or SIGINT; see docs/service.md.",
      "idsyncd"};
  ServiceOptions options;
  bool foreground = true;
  app.add_option("--home", options.home_dir, "this server's home folder (default $IDSYNC_HOME or /var/lib/idsync)");
  app.add_flag("--foreground", foreground, "run in the foreground (the default and only mode)");
  app.set_version_flag("--version", std::string(IdsyncVersion()));
  int code = 0;
  app.callback([&] { code = RunService(options); });
  return ParseAndRun(app, argc, argv, code);
}

}  // namespace idsync
