#include "tests/support/terminal.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace idsync {

ProcessResult RunOnTerminal(const std::string& program, const std::vector<std::string>& args,
                            const std::map<std::string, std::string>& env,
                            const std::vector<std::pair<std::string, std::string>>& dialogue,
                            const std::function<void(int pid, size_t prompt)>& observe) {
  std::string exe = std::string(IDSYNC_BINARY_DIR) + "/src/exe/" + program;
  std::vector<std::string> all_args{exe};
  all_args.insert(all_args.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all_args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid == 0) {
    unsetenv("IDSYNC_HOME");
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execv(exe.c_str(), argv.data());
    _exit(127);
  }
  ProcessResult r;
  if (pid < 0) return r;
  using Clock = std::chrono::steady_clock;
  auto deadline = Clock::now() + std::chrono::seconds(30);
  size_t next = 0, seen = 0;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    int ready = poll(&p, 1, 200);
    if (ready > 0) {
      ssize_t n = read(master, buf, sizeof buf);
      if (n <= 0) break;  // the program closed the terminal (exited)
      r.out.append(buf, static_cast<size_t>(n));
    }
    while (next < dialogue.size()) {
      size_t at = r.out.find(dialogue[next].first, seen);
      if (at == std::string::npos) break;
      seen = at + dialogue[next].first.size();
      if (observe) observe(pid, next);
      std::string answer = dialogue[next].second + "\n";
      (void)!write(master, answer.data(), answer.size());
      ++next;
      deadline = Clock::now() + std::chrono::seconds(30);
    }
  }
  // The terminal closes as the program exits; give it until the deadline
  // to be reaped, then kill it.
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (Clock::now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      break;
    }
    poll(nullptr, 0, 10);
  }
  close(master);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

}  // namespace idsync
