#include "tests/support/daemon.h"

#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>


namespace idsync {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::unique_ptr<Daemon> Daemon::Start(const std::string& program, const std::vector<std::string>& args,
                                      const std::map<std::string, std::string>& env) {
  std::unique_ptr<Daemon> d(new Daemon());
  char tmpl[] = "/tmp/idsync-daemon-XXXXXX";
  if (!mkdtemp(tmpl)) return nullptr;
  d->dir_ = tmpl;
  ChildCommand child = BuildChildCommand(program, args, env);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, (d->dir_ + "/out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, 2, (d->dir_ + "/err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int rc = posix_spawn(&d->pid_, child.exe.c_str(), &actions, nullptr, child.argv.data(), child.envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return nullptr;
  return d;
}

Daemon::~Daemon() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    Reap(0);
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

bool Daemon::Reap(int options) {
  if (exit_code_) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, options);
  if (r != pid_) return false;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return true;
}

bool Daemon::Signal(int sig) { return !exit_code_ && kill(pid_, sig) == 0; }

bool Daemon::Running() { return !Reap(WNOHANG); }

std::optional<int> Daemon::WaitExit(std::chrono::milliseconds timeout) {
  WaitFor([this] { return Reap(WNOHANG); }, timeout);
  return exit_code_;
}

std::string Daemon::Out() const { return Slurp(dir_ + "/out"); }
std::string Daemon::Err() const { return Slurp(dir_ + "/err"); }

bool Daemon::WaitForErr(const std::string& text, std::chrono::milliseconds timeout) {
  bool exited = false;
  WaitFor(
      [&] {
        if (Err().find(text) != std::string::npos) return true;
        exited = !Running();
        return exited;
      },
      timeout);
  return Err().find(text) != std::string::npos;
}

}  // namespace idsync
