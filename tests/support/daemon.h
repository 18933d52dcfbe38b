// tests/support/daemon: runs a program of the build in the background (a
// service), reads what it printed so far, sends it signals and waits for it
// to exit with a deadline. Output goes to files, so a chatty program never
// blocks on a full pipe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace idsync {

// Calls `condition` every few milliseconds until it returns true (true) or
// `timeout` passes (false).
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

class Daemon {
 public:
  // Starts PROGRAM (a name in build/src/exe) with ARGS; IDSYNC_HOME is not
  // inherited. nullptr when it cannot be started.
  static std::unique_ptr<Daemon> Start(const std::string& program, const std::vector<std::string>& args,
                                       const std::map<std::string, std::string>& env = {});
  // Kills the program with SIGKILL if it still runs, and reaps it.
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int sig);
  // The exit status (128 + N when killed by signal N); nullopt if it still
  // runs after `timeout`.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool Running();
  std::string Out() const;
  std::string Err() const;
  // Waits until stderr holds `text`; false on timeout or when the program
  // exited without printing it.
  bool WaitForErr(const std::string& text, std::chrono::milliseconds timeout);

 private:
  Daemon() = default;
  bool Reap(int options);

  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string dir_;
};

}  // namespace idsync
