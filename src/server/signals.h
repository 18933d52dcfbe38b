// server/signals: SIGTERM and SIGINT for the service. The first asks for a
// clean stop; the second ends the process at once, as the signal would by
// default (the stop may be waiting for a long run).
// Thread-safety: construct it on the main thread before any other thread
// starts, so every thread inherits the blocked signals.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace idsync {

class SignalWatcher {
 public:
  // `on_first` runs on the watcher's own thread with the signal number.
  explicit SignalWatcher(std::function<void(int)> on_first);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  void Watch();

  std::function<void(int)> on_first_;
  std::atomic<bool> quit_{false};
  std::thread thread_;
};

}  // namespace idsync
