// The `idsync` program: one table of subcommands, parsed with CLI11.
#include <CLI/CLI.hpp>

#include "cli/cli_parse.h"
#include "cli/commands.h"

namespace idsync {

int IdsyncMain(int argc, char** argv) {
  CLI::App app{"idsync: identity synchronization (configuration, runs, history, search)", "idsync"};
  app.require_subcommand(1);
  GlobalFlags g;
  app.add_option("--home", g.home, "server home folder (default $IDSYNC_HOME or /var/lib/idsync)");
  app.add_option("--db", g.db, "database URL, overriding the home's (sqlite:PATH)");
  app.add_flag("--json", g.json, "print results as JSON");
  int code = 0;

  auto* config = app.add_subcommand("config", "apply or export the configuration")->require_subcommand(1);
  std::string path;
  bool dry_run = false;
  auto* apply = config->add_subcommand("apply", "validate FILE|DIR and store it in the database, all or nothing");
  apply->add_option("path", path, "a .toml file or a folder of them")->required();
  apply->add_flag("--dry-run", dry_run, "validate only");
  apply->callback([&] { code = ConfigApply(g, path, dry_run); });
  auto* exp = config->add_subcommand("export", "write the stored configuration to DIR");
  exp->add_option("dir", path, "folder to write")->required();
  exp->callback([&] { code = ConfigExport(g, path); });

  std::string ma, profile;
  auto* run = app.add_subcommand("run", "run a management agent's run profile (exit 0 only on success)");
  run->add_option("ma", ma, "management agent")->required();
  run->add_option("profile", profile, "run profile or step (full-import, delta-sync, export, ...)")->required();
  run->callback([&] { code = RunCommand(g, ma, profile); });

  int limit = 50;
  int64_t run_id = 0;
  auto* history = app.add_subcommand("history", "list runs, or `history show RUN` for one run's errors");
  history->add_option("--limit", limit, "how many runs");
  auto* hshow = history->add_subcommand("show", "one run with its per-object errors");
  hshow->add_option("run", run_id, "run number")->required();
  hshow->callback([&] { code = HistoryShow(g, run_id); });
  history->callback([&] {
    if (history->get_subcommands().empty()) code = HistoryList(g, limit);
  });

  auto* cs = app.add_subcommand("cs", "connector space")->require_subcommand(1);
  CsSearchOptions cso;
  auto* css = cs->add_subcommand("search", "list connector space objects of an MA");
  css->add_option("ma", cso.ma, "management agent")->required();
  css->add_flag("--pending-import", cso.pending_import, "only objects pending import");
  css->add_flag("--pending-export", cso.pending_export, "only objects pending export");
  css->add_flag("--disconnectors", cso.disconnectors, "only disconnectors");
  css->add_option("--anchor", cso.anchor, "the object with this anchor");
  css->add_option("--dn", cso.dn, "the object with this DN");
  css->add_option("--limit", cso.limit, "at most this many (default 100)");
  css->callback([&] { code = CsSearch(g, cso); });

  auto* mv = app.add_subcommand("mv", "metaverse")->require_subcommand(1);
  std::string filter;
  int mv_limit = 100;
  auto* mvs = mv->add_subcommand("search", "find metaverse objects with ATTR=VALUE");
  mvs->add_option("filter", filter, "ATTR=VALUE")->required();
  mvs->add_option("--limit", mv_limit, "at most this many (default 100)");
  mvs->callback([&] { code = MvSearch(g, filter, mv_limit); });

  std::string kind;
  std::vector<std::string> args;
  auto* show = app.add_subcommand("show", "one object with its lineage: `show mv ID` or `show cs MA ANCHOR|DN`");
  show->add_option("kind", kind, "mv or cs")->required()->check(CLI::IsMember({"mv", "cs"}));
  show->add_option("args", args, "ID, or MA and ANCHOR|DN")->required();
  show->callback([&] { code = ShowObject(g, kind, args); });

  auto* status = app.add_subcommand("status", "this server's role, the active server, every server's heartbeat");
  status->callback([&] { code = StatusCommand(g); });

  auto* principal = app.add_subcommand("principal", "domain users and groups kept in the shared database")
                        ->require_subcommand(1);
  std::vector<std::string> names;
  for (auto [action, help, arity] : {std::tuple{"list", "list every principal", 0},
                                     std::tuple{"members", "the members of GROUP", 1},
                                     std::tuple{"add-user", "add DOMAIN\\USER", 1},
                                     std::tuple{"add-group", "add DOMAIN\\GROUP", 1},
                                     std::tuple{"remove", "remove a user or group and its memberships", 1},
                                     std::tuple{"add-member", "add NAME to GROUP", 2},
                                     std::tuple{"remove-member", "remove NAME from GROUP", 2}}) {
    auto* cmd = principal->add_subcommand(action, help);
    if (arity > 0) cmd->add_option("names", names, arity == 1 ? "DOMAIN\\NAME" : "GROUP NAME")->required()->expected(arity);
    cmd->callback([&, action = std::string(action)] { code = PrincipalCommand(g, action, names); });
  }

  std::string check_user, check_role, group_file = "/etc/group";
  auto* pcheck = principal->add_subcommand("check", "whether USER belongs to ROLE (exit 0) or not (exit 1)");
  pcheck->add_option("user", check_user, "[DOMAIN\\]USER")->required();
  pcheck->add_option("role", check_role, "admins, operators, joiners, browse or passwordset")->required();
  pcheck->add_option("--group-file", group_file, "the host's group file for local groups (default /etc/group)");
  pcheck->callback([&] { code = RoleCheckCommand(g, check_user, check_role, group_file); });

  auto* secret = app.add_subcommand("secret", "management agent secrets, sealed under the key set")->require_subcommand(1);
  std::string secret_ma, secret_name;
  bool secret_stdin = false;
  secret->add_subcommand("list", "which secrets are stored (never their values)")->callback([&] {
    code = SecretCommand(g, "list", "", "", false);
  });
  auto* sset = secret->add_subcommand("set", "store a secret of an MA (asked for, or read from stdin)");
  sset->add_option("ma", secret_ma, "management agent")->required();
  sset->add_option("name", secret_name, "secret name, e.g. password")->required();
  sset->add_flag("--stdin", secret_stdin, "read the value from standard input");
  sset->callback([&] { code = SecretCommand(g, "set", secret_ma, secret_name, secret_stdin); });
  auto* sdel = secret->add_subcommand("delete", "remove a secret of an MA");
  sdel->add_option("ma", secret_ma, "management agent")->required();
  sdel->add_option("name", secret_name, "secret name")->required();
  sdel->callback([&] { code = SecretCommand(g, "delete", secret_ma, secret_name, false); });

  return ParseAndRun(app, argc, argv, code);
}

}  // namespace idsync
