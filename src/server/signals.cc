#include "server/signals.h"

#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <ctime>

namespace idsync {
namespace {

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_first) : on_first_(std::move(on_first)) {
  sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away must not end the service.
  signal(SIGPIPE, SIG_IGN);
  thread_ = std::thread([this] { Watch(); });
}

SignalWatcher::~SignalWatcher() {
  quit_ = true;
  thread_.join();
}

void SignalWatcher::Watch() {
  sigset_t set = StopSignals();
  bool stopping = false;
  // Wakes every 100 ms to notice the destructor; signals wait in the meantime.
  const timespec tick{0, 100 * 1000 * 1000};
  while (!quit_) {
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig <= 0) continue;
    if (!stopping) {
      stopping = true;
      on_first_(sig);
      continue;
    }
    spdlog::warn("second {}: exiting at once", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    spdlog::default_logger()->flush();
    signal(sig, SIG_DFL);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    raise(sig);
  }
}

}  // namespace idsync
