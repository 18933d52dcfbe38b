// The `idsync-setup` program: creating an installation on this server.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli_parse.h"
#include "cli/commands.h"
#include "ha/home.h"
#include "ha/install.h"

namespace idsync {
namespace {

// The password never comes from the command line (it would show in the
// process list): only from standard input or a file readable by root.
Result<SecureString> ReadSecret(bool from_stdin, const std::string& file) {
  SecureString secret;
  if (from_stdin == !file.empty())
    return Fail(ErrorCode::kInvalidArgument,
                "give the service account password with exactly one of --service-password-stdin or "
                "--service-password-file FILE");
  if (from_stdin) {
    std::getline(std::cin, secret.mutable_value());
  } else {
    std::ifstream in(file);
    if (!in) return Fail(ErrorCode::kIo, fmt::format("cannot read password file {}: {}", file, std::strerror(errno)));
    std::getline(in, secret.mutable_value());
  }
  auto& v = secret.mutable_value();
  if (!v.empty() && v.back() == '\r') v.pop_back();
  return secret;
}

}  // namespace

int SetupMain(int argc, char** argv) {
  CLI::App app{"idsync-setup: create an idsync installation on this server", "idsync-setup"};
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "print the result as JSON");
  InstallOptions o;
  std::string home_flag, password_file;
  bool password_stdin = false;
  auto* install = app.add_subcommand("install", "create the shared database and register this server as active");
  install->add_option("--home", home_flag, "this server's home folder (default $IDSYNC_HOME or /var/lib/idsync)");
  install->add_option("--db", o.database, "database URL: sqlite:PATH")->required();
  install->add_option("--server", o.server, "this server's name (default: the host name)");
  install->add_option("--service-account", o.service_account, "[DOMAIN\\]USER of the service account")->required();
  install->add_flag("--service-password-stdin", password_stdin, "read the service account password from stdin");
  install->add_option("--service-password-file", password_file, "read the service account password from a file");
  install->add_option("--admins-group", o.admins_group, "domain:NAME (recommended) or local:NAME")->required();
  int code = 0;
  install->callback([&] {
    o.home_dir = DefaultHomeDir(home_flag);
    auto secret = ReadSecret(password_stdin, password_file);
    if (!secret) {
      code = ReportError(secret.error());
      return;
    }
    o.service_password = std::move(*secret);
    auto result = Install(std::move(o));
    if (!result) {
      code = ReportError(result.error());
      return;
    }
    if (json) {
      std::puts(nlohmann::json{{"server", result->server}, {"database", result->database},
                               {"installation", result->installation_id}, {"epoch", result->epoch},
                               {"role", "active"}}.dump().c_str());
    } else {
      std::printf("installed server %s (active, epoch %lld) on %s\ninstallation %s\n", result->server.c_str(),
                  static_cast<long long>(result->epoch), result->database.c_str(), result->installation_id.c_str());
    }
  });
  return ParseAndRun(app, argc, argv, code);
}

}  // namespace idsync
