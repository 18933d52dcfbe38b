// server/service: idsyncd, the synchronization service of one server.
//
// It starts on every server of an installation. It runs as *active* only
// while the database's cluster row names this server (at the epoch it
// holds): then it runs scheduled profiles and accepts runs through its API.
// Otherwise it is a *standby*: it heartbeats, answers status and refuses
// work with the guidance of ha/roles.h. It reads the cluster row at least
// every 250 ms, so an activation (which only changes the database) makes it
// active within a second, and a deposed service turns standby at its next
// poll or at its run's next (fenced) write, whichever comes first. Every
// role change is logged and recorded as a server event ("became-active",
// "deposed"). SIGTERM or SIGINT stops it cleanly: no new runs, the running
// one finishes (the engine cannot be interrupted), the stop is recorded;
// a second signal ends it at once. docs/service.md is the operator's view.
// Thread-safety: RunService owns the process's threads.
#pragma once

#include <string>

namespace idsync {

struct ServiceOptions {
  std::string home_dir;  // empty: $IDSYNC_HOME, else /var/lib/idsync
};

// Runs the service until it is stopped; returns the process exit code (0
// after a clean stop; the error's exit code when it cannot start).
int RunService(const ServiceOptions& options);

}  // namespace idsync
