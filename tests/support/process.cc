#include "tests/support/process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace idsync {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ChildCommand BuildChildCommand(const std::string& program, const std::vector<std::string>& args,
                               const std::map<std::string, std::string>& env) {
  ChildCommand c;
  c.exe = program.find('/') == std::string::npos ? std::string(IDSYNC_BINARY_DIR) + "/src/exe/" + program : program;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    std::string key = kv.substr(0, kv.find('='));
    if (!env.count(key) && key != "IDSYNC_HOME") c.env_strings.push_back(kv);
  }
  for (const auto& [k, v] : env) c.env_strings.push_back(k + "=" + v);
  c.arg_strings.push_back(c.exe);
  c.arg_strings.insert(c.arg_strings.end(), args.begin(), args.end());
  for (auto& s : c.env_strings) c.envp.push_back(s.data());
  c.envp.push_back(nullptr);
  for (auto& a : c.arg_strings) c.argv.push_back(a.data());
  c.argv.push_back(nullptr);
  return c;
}

ProcessResult RunProgram(const std::string& program, const std::vector<std::string>& args,
                         const std::map<std::string, std::string>& env, const std::string& input) {
  char tmpl[] = "/tmp/idsync-proc-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string in_path = dir + "/in", out_path = dir + "/out", err_path = dir + "/err";
  std::ofstream(in_path, std::ios::binary) << input;

  ChildCommand child = BuildChildCommand(program, args, env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  ProcessResult r;
  if (posix_spawn(&pid, child.exe.c_str(), &actions, nullptr, child.argv.data(), child.envp.data()) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  } else {
    r.err = "cannot start " + child.exe + ": " + std::strerror(errno);
  }
  posix_spawn_file_actions_destroy(&actions);
  r.out = Slurp(out_path);
  r.err += Slurp(err_path);
  unlink(in_path.c_str());
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  rmdir(dir.c_str());
  return r;
}

}  // namespace idsync
