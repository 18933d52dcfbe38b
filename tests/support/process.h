// tests/support/process: runs a program of the build with arguments, an
// environment and standard input, and captures what it printed.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace idsync {

struct ProcessResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs PROGRAM (a name in build/src/exe, or a path) with ARGS; no shell is
// involved.
ProcessResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env = {}, const std::string& input = "");

// A child's argv and environment for posix_spawn/exec: PROGRAM's path (a
// name in build/src/exe, or a path), ARGS, and this process's environment
// without IDSYNC_HOME, with `env` added. The char* vectors point into the
// strings, so keep the object alive while the child starts.
struct ChildCommand {
  std::string exe;
  std::vector<std::string> env_strings, arg_strings;
  std::vector<char*> envp, argv;
};
ChildCommand BuildChildCommand(const std::string& program, const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env);

}  // namespace idsync
