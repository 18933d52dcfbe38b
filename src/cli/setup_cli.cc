// The `idsync-setup` program: adding this server to an installation,
// repairing its role groups, upgrading its schema.
#include <pwd.h>
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
  if (from_stdin == !file.empty())
    return Fail(ErrorCode::kInvalidArgument,
                "give the service account password with exactly one of --service-password-stdin or "
                "--service-password-file FILE");
  if (from_stdin) return ReadSecretLine(std::cin);
  std::ifstream in(file);
  if (!in) return Fail(ErrorCode::kIo, fmt::format("cannot read password file {}: {}", file, std::strerror(errno)));
  return ReadSecretLine(in);
}

void AddGroupFlags(CLI::App* cmd, std::map<std::string, std::string>& groups) {
  const std::map<std::string, std::string> help = {
      {"admins", "administrators: domain:NAME (needed for activation) or local:NAME"},
      {"operators", "may run profiles and view"},
      {"joiners", "may join and disconnect objects"},
      {"browse", "may search and view objects"},
      {"passwordset", "may set and reset passwords"}};
  for (const char* role : kRoles)
    cmd->add_option(fmt::format("--{}-group", role), groups[role], help.at(role));
}

}  // namespace

int SetupMain(int argc, char** argv) {
  CLI::App app{"idsync-setup: add this server to an idsync installation, repair or upgrade it", "idsync-setup"};
  app.require_subcommand(1);
  bool json = false;
  app.add_flag("--json", json, "print the result as JSON");
  InstallOptions o;
  std::string home_flag, password_file;
  bool password_stdin = false;
  auto* install = app.add_subcommand(
      "install", "create an installation (first server, active) or add this server to one (--keys; --standby)");
  install->add_option("--home", home_flag, "this server's home folder (default $IDSYNC_HOME or /var/lib/idsync)");
  install->add_option("--db", o.database, "database URL: sqlite:PATH")->required();
  install->add_option("--server", o.server, "this server's name (default: the host name)");
  install->add_option("--service-account", o.service_account, "[DOMAIN\\]USER of the service account")->required();
  install->add_flag("--service-password-stdin", password_stdin, "read the service account password from stdin");
  install->add_option("--service-password-file", password_file, "read the service account password from a file");
  install->add_option("--keys", o.keys_file, "the installation's key file (to add this server to an installation)");
  install->add_flag("--standby", o.standby, "add this server as a standby");
  install->add_option("--api", o.api_listen, "loopback address:port of the service's API (default 127.0.0.1:8095)");
  AddGroupFlags(install, o.groups);

  RepairOptions repair_options;
  auto* repair = app.add_subcommand("repair", "re-point the installation's role groups (e.g. local: to domain:)");
  repair->add_option("--home", home_flag, "this server's home folder");
  AddGroupFlags(repair, repair_options.groups);

  auto* upgrade = app.add_subcommand("upgrade", "apply this release's schema migrations to the shared database");
  upgrade->add_option("--home", home_flag, "this server's home folder");

  int code = 0;
  install->callback([&] {
    o.home_dir = DefaultHomeDir(home_flag);
    o.os_user = CurrentOsUser();
    auto secret = ReadSecret(password_stdin, password_file);
    if (!secret) {
      code = ReportError(secret.error());
      return;
    }
    o.service_password = std::move(*secret);
    std::string account = o.service_account;
    auto result = Install(std::move(o));
    if (!result) {
      code = ReportError(result.error());
      return;
    }
    if (json) {
      std::puts(nlohmann::json{{"server", result->server}, {"database", result->database},
                               {"installation", result->installation_id}, {"epoch", result->epoch},
                               {"role", result->role}, {"new_installation", result->new_installation}}
                    .dump()
                    .c_str());
      return;
    }
    std::printf("installed server %s (%s, epoch %lld) on %s\ninstallation %s\n", result->server.c_str(),
                result->role.c_str(), static_cast<long long>(result->epoch), result->database.c_str(),
                result->installation_id.c_str());
    if (result->new_installation)
      std::printf("back up the key set now and keep the file safe: idsync-kmu export FILE '%s' *\n",
                  account.c_str());
  });
  repair->callback([&] {
    repair_options.home_dir = DefaultHomeDir(home_flag);
    auto result = Repair(repair_options);
    if (!result) {
      code = ReportError(result.error());
      return;
    }
    nlohmann::json changed = nlohmann::json::object();
    for (const auto& [role, change] : result->changed) changed[role] = {{"before", change.first}, {"after", change.second}};
    if (json) {
      std::puts(nlohmann::json{{"changed", changed}}.dump().c_str());
      return;
    }
    if (result->changed.empty()) std::puts("role groups unchanged");
    for (const auto& [role, change] : result->changed)
      std::printf("%s group: %s -> %s\n", role.c_str(), change.first.empty() ? "none" : change.first.c_str(),
                  change.second.c_str());
  });
  upgrade->callback([&] {
    auto result = Upgrade(DefaultHomeDir(home_flag));
    if (!result) {
      code = ReportError(result.error());
      return;
    }
    if (json) {
      std::puts(nlohmann::json{{"from", result->from_version}, {"to", result->to_version}}.dump().c_str());
    } else if (result->from_version == result->to_version) {
      std::printf("schema already at version %lld\n", static_cast<long long>(result->to_version));
    } else {
      std::printf("schema upgraded from version %lld to %lld; servers still on an older release now refuse to "
                  "write (0x80230443) until they are updated\n",
                  static_cast<long long>(result->from_version), static_cast<long long>(result->to_version));
    }
  });
  return ParseAndRun(app, argc, argv, code);
}

}  // namespace idsync
