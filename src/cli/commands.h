// cli/commands: the subcommands of `idsync`, each a function that tests can
// call. Every command returns the process exit code: 0 on success, 1 when a
// run ended with a status other than "success", else ExitCodeFor(error).
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"

namespace idsync {

struct CsSearchOptions {
  std::string ma;
  bool pending_import = false, pending_export = false, disconnectors = false;
  std::string anchor, dn;
  int limit = 100;
};

int ConfigApply(const GlobalFlags& g, const std::string& path, bool dry_run);
int ConfigExport(const GlobalFlags& g, const std::string& dir);
int RunCommand(const GlobalFlags& g, const std::string& ma, const std::string& profile);
int HistoryList(const GlobalFlags& g, int limit);
int HistoryShow(const GlobalFlags& g, int64_t run_id);
int CsSearch(const GlobalFlags& g, const CsSearchOptions& o);
int MvSearch(const GlobalFlags& g, const std::string& filter, int limit);
int ShowObject(const GlobalFlags& g, const std::string& kind, const std::vector<std::string>& args);

int StatusCommand(const GlobalFlags& g);
// ACTION: list, members GROUP, add-user NAME, add-group NAME, remove NAME,
// add-member GROUP NAME, remove-member GROUP NAME (names DOMAIN\NAME).
int PrincipalCommand(const GlobalFlags& g, const std::string& action, const std::vector<std::string>& names);
// Exit 0 when USER belongs to ROLE's group (domain: principals; local: the
// host's group file), 1 when not.
int RoleCheckCommand(const GlobalFlags& g, const std::string& user, const std::string& role,
                     const std::string& group_file);
// ACTION: list, set MA NAME (value from stdin or a hidden prompt), delete MA NAME.
int SecretCommand(const GlobalFlags& g, const std::string& action, const std::string& ma, const std::string& name,
                  bool from_stdin);

// The whole `idsync` program (argument parsing and dispatch).
int IdsyncMain(int argc, char** argv);
// The whole `idsync-setup` program.
int SetupMain(int argc, char** argv);
// The whole `idsync-kmu` program.
int KmuMain(int argc, char** argv);
// The whole `idsync-activate` program.
int ActivateMain(int argc, char** argv);
// The whole `idsyncd` program (the service itself is server/service.h).
int ServiceMain(int argc, char** argv);

}  // namespace idsync
